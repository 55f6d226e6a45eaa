#include "features/audio.h"

#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

std::string TestDataPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/lightspeech/features/testdata/", name);
}

std::string TempPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

// Writes interleaved float samples with libsndfile in the given format.
void WriteFile(const std::string& path, const std::vector<float>& interleaved, int rate,
               int channels, int format) {
  SF_INFO info = {};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  ASSERT_EQ(sf_writef_float(f, interleaved.data(), interleaved.size() / channels),
            static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(f);
}

TEST(AudioTest, ReadsSixteenBitWavAsValueOver32768) {
  auto audio = ReadAudio(TestDataPath("speech.wav"));
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->stats.source_sample_rate, 22050);
  EXPECT_EQ(audio->stats.source_channels, 1);
  EXPECT_EQ(audio->samples.size(), 88350u);
  for (float x : audio->samples) {
    const float scaled = x * 32768.0f;
    ASSERT_EQ(scaled, std::round(scaled));
  }
  EXPECT_GT(audio->stats.peak, 0.1f);
  EXPECT_EQ(audio->stats.non_finite, 0);
}

TEST(AudioTest, WriteThenReadIsBitExact) {
  auto audio = ReadAudio(TestDataPath("chirp.wav"));
  ASSERT_TRUE(audio.ok()) << audio.status();
  const std::string path = TempPath("copy.wav");
  ASSERT_TRUE(WriteWav16(path, audio->samples, 22050).ok());
  auto again = ReadAudio(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->samples, audio->samples);
}

TEST(AudioTest, EncodedWavReadsBackLikeAWrittenOne) {
  auto audio = ReadAudio(TestDataPath("chirp.wav"));
  ASSERT_TRUE(audio.ok()) << audio.status();
  std::vector<float> samples = audio->samples;
  samples.push_back(std::numeric_limits<float>::quiet_NaN());  // written as 0
  samples.push_back(2.0f);                                     // clamped to 32767
  absl::StatusOr<std::string> wav = EncodeWav16(samples, 16000);
  ASSERT_TRUE(wav.ok()) << wav.status();
  EXPECT_EQ(wav->size(), 44 + 2 * samples.size());
  const std::string path = TempPath("encoded.wav");
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(wav->data(), 1, wav->size(), f), wav->size());
  std::fclose(f);
  auto again = ReadAudio(path, 16000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stats.source_sample_rate, 16000);
  EXPECT_EQ(again->stats.source_channels, 1);
  ASSERT_EQ(again->samples.size(), samples.size());
  for (size_t i = 0; i + 2 < samples.size(); ++i) ASSERT_EQ(again->samples[i], samples[i]) << i;
  EXPECT_EQ(again->samples[samples.size() - 2], 0.0f);
  EXPECT_EQ(again->samples.back(), 32767.0f / 32768.0f);
  // Byte for byte what WriteWav16 writes.
  const std::string written = TempPath("written.wav");
  ASSERT_TRUE(WriteWav16(written, samples, 16000).ok());
  FILE* g = std::fopen(written.c_str(), "rb");
  ASSERT_NE(g, nullptr);
  std::string bytes(wav->size() + 64, '\0');
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), g));
  std::fclose(g);
  EXPECT_EQ(bytes, *wav);
  EXPECT_EQ(EncodeWav16(samples, 0).status(),
            absl::InvalidArgumentError("encode wav: sample rate must be positive, got 0"));
}

TEST(AudioTest, MixesStereoFlacAndResamplesTo22050) {
  // 0.5 s at 44.1 kHz: left a 440 Hz sine at 0.5, right silent; the mono mix has amplitude 0.25.
  const int rate = 44100;
  std::vector<float> stereo;
  for (int i = 0; i < rate / 2; ++i) {
    stereo.push_back(0.5f * std::sin(2.0 * M_PI * 440.0 * i / rate));
    stereo.push_back(0.0f);
  }
  const std::string path = TempPath("stereo.flac");
  WriteFile(path, stereo, rate, 2, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  auto audio = ReadAudio(path);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.source_sample_rate, rate);
  EXPECT_EQ(audio->stats.source_channels, 2);
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->samples.size(), 11025u);
  // Away from the edges the resampled signal is the same sine at 22050 Hz.
  double max_err = 0.0;
  for (int i = 1000; i < 10000; ++i) {
    const double want = 0.25 * std::sin(2.0 * M_PI * 440.0 * i / 22050.0);
    max_err = std::max(max_err, std::fabs(audio->samples[i] - want));
  }
  EXPECT_LT(max_err, 1e-3);
}

TEST(AudioTest, ReadsOggVorbisAt16kHz) {
  const int rate = 16000;
  std::vector<float> mono;
  for (int i = 0; i < rate; ++i) mono.push_back(0.3f * std::sin(2.0 * M_PI * 300.0 * i / rate));
  const std::string path = TempPath("sine.ogg");
  WriteFile(path, mono, rate, 1, SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  auto audio = ReadAudio(path);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.source_sample_rate, rate);
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_NEAR(static_cast<double>(audio->samples.size()), 22050.0, 5.0);
  EXPECT_NEAR(audio->stats.peak, 0.3f, 0.03f);  // Lossy codec: peak within 10%.
}

TEST(AudioTest, ReportsPeakClippingAndNonFinite) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::string path = TempPath("bad.wav");
  WriteFile(path, {0.1f, -1.5f, nan, 0.25f, inf, 1.0f, -0.5f, 0.0f}, 22050, 1,
            SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  auto audio = ReadAudio(path);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.non_finite, 2);
  EXPECT_EQ(audio->stats.clipped, 2);  // -1.5 and 1.0
  EXPECT_FLOAT_EQ(audio->stats.peak, 1.5f);
  EXPECT_EQ(audio->samples[2], 0.0f);
  EXPECT_EQ(audio->samples[4], 0.0f);
}

TEST(AudioTest, MissingFileIsNotFoundAndNamesIt) {
  auto audio = ReadAudio("/nonexistent/x.wav");
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(audio.status().message(), "read audio '/nonexistent/x.wav': no such file");
}

TEST(AudioTest, GarbageFileIsInvalidArgumentAndNamesIt) {
  const std::string path = TempPath("garbage.wav");
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("this is not audio at all", f);
  std::fclose(f);
  auto audio = ReadAudio(path);
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(audio.status().message().find(path), absl::string_view::npos) << audio.status();
}

TEST(AudioTest, ResampleRejectsBadRates) {
  EXPECT_EQ(Resample({0.0f}, 0, 22050).status().message(),
            "resample: rates must be positive, got 0 -> 22050");
  // Too short to give an output sample: nothing, rather than a libsoxr crash.
  EXPECT_TRUE(Resample({0.5f}, 59905, 22050)->empty());
  EXPECT_EQ(Resample({0.0f}, 576061439, 22050).status().message(),
            "resample: rates must be in [1000, 768000] Hz, got 576061439 -> 22050");
}

TEST(AudioTest, WriteToMissingDirectoryFails) {
  const absl::Status s = WriteWav16("/nonexistent/dir/out.wav", {0.0f}, 22050);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("/nonexistent/dir/out.wav"), absl::string_view::npos);
}

// A FLAC header (STREAMINFO) claiming 2^36 - 1 frames for a 0.1 s file: ReadAudio used to allocate
// frames x channels floats (256 GiB here) before reading; now it reads what is there.
TEST(AudioTest, OverstatedLengthCostsNoMemory) {
  const int rate = 16000;
  std::vector<float> mono;
  for (int i = 0; i < rate / 10; ++i) mono.push_back(0.3f * std::sin(2.0 * M_PI * 300.0 * i / rate));
  const std::string path = TempPath("overstated.flac");
  WriteFile(path, mono, rate, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  unsigned char head[26];
  ASSERT_EQ(std::fread(head, 1, sizeof(head), f), sizeof(head));
  ASSERT_EQ(std::string(reinterpret_cast<char*>(head), 4), "fLaC");
  // STREAMINFO starts at byte 8; its 36-bit total-samples field is the low 4 bits of byte 21 and
  // bytes 22-25.
  head[21] |= 0x0F;
  for (int i = 22; i < 26; ++i) head[i] = 0xFF;
  std::fseek(f, 0, SEEK_SET);
  ASSERT_EQ(std::fwrite(head, 1, sizeof(head), f), sizeof(head));
  std::fclose(f);
  SF_INFO info = {};
  SNDFILE* check = sf_open(path.c_str(), SFM_READ, &info);
  ASSERT_NE(check, nullptr);
  sf_close(check);
  ASSERT_EQ(info.frames, (sf_count_t{1} << 36) - 1);  // libsndfile believes the header
  auto audio = ReadAudio(path, rate);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.source_frames, rate / 10);
  EXPECT_EQ(audio->samples.size(), static_cast<size_t>(rate / 10));
  EXPECT_NEAR(audio->stats.peak, 0.3f, 0.01f);
}

}  // namespace
}  // namespace lightspeech::features
