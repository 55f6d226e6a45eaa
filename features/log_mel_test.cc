#include "features/log_mel.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "features/audio.h"
#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

// Golden log-mels: features/testdata_gen/make_golden.py (torchaudio 0.13.1 MelSpectrogram in
// float64 with the docs/DESIGN.md section 3 settings, ln(clamp(mel, 1e-5))) on the int16 wavs beside them.
// Where the reference mel magnitude is >= kTightMelLevel the float32 FFTW path must agree to
// kTightTolerance in log units; near the log floor, float32 rounding dominates, so kLooseTolerance.
// Measured (Debian 12, x86-64, FFTW 3.3.10, FFTW_ESTIMATE plans): max |diff| where mel >= 1e-4 is
// 6.4e-4 (chirp), 7.4e-6 (noise), 1.3e-4 (speech); elsewhere 5.9e-3 (chirp), 2.2e-4 (speech).
constexpr double kTightMelLevel = 1e-4;
constexpr double kTightTolerance = 1e-3;
constexpr double kLooseTolerance = 2e-2;

std::string TestDataPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/lightspeech/features/testdata/", name);
}

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

void ExpectMatchesGolden(const std::string& name) {
  SCOPED_TRACE(name);
  auto audio = ReadAudio(TestDataPath(name + ".wav"));
  ASSERT_TRUE(audio.ok()) << audio.status();
  auto log_mel = LogMel::Create(LogMelOptions());
  ASSERT_TRUE(log_mel.ok()) << log_mel.status();
  auto got = log_mel->Compute(audio->samples);
  ASSERT_TRUE(got.ok()) << got.status();
  const std::vector<float> want = ReadFloats(TestDataPath(name + ".logmel.f32"));
  ASSERT_FALSE(want.empty());
  const int n_mels = 80;
  ASSERT_EQ(got->size() / n_mels, want.size() / n_mels) << "frame counts differ";
  ASSERT_EQ(got->size(), want.size());
  const double tight_log_level = std::log(kTightMelLevel);
  double max_tight = 0.0, max_loose = 0.0;
  int64_t tight_count = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double diff = std::fabs(static_cast<double>((*got)[i]) - want[i]);
    if (want[i] >= tight_log_level) {
      max_tight = std::max(max_tight, diff);
      ++tight_count;
    } else {
      max_loose = std::max(max_loose, diff);
    }
  }
  EXPECT_LE(max_tight, kTightTolerance);
  EXPECT_LE(max_loose, kLooseTolerance);
  // The tight region must not be trivially small (the chirp, narrowband, has ~20% of its values there).
  EXPECT_GT(tight_count, static_cast<int64_t>(want.size() / 10));
  std::printf("%s: %zu frames, max |diff| %.3g where mel >= 1e-4 (%lld values), %.3g elsewhere\n",
              name.c_str(), want.size() / n_mels, max_tight, static_cast<long long>(tight_count),
              max_loose);
}

TEST(LogMelTest, ChirpMatchesTorchaudio) { ExpectMatchesGolden("chirp"); }
TEST(LogMelTest, WhiteNoiseMatchesTorchaudio) { ExpectMatchesGolden("noise"); }
TEST(LogMelTest, SpeechMatchesTorchaudio) { ExpectMatchesGolden("speech"); }

TEST(LogMelTest, FrameCountIsOnePlusSamplesOverHop) {
  auto log_mel = LogMel::Create(LogMelOptions());
  ASSERT_TRUE(log_mel.ok());
  for (int n : {513, 1000, 1024, 22050}) {
    std::vector<float> x(n, 0.0f);
    auto out = log_mel->Compute(x);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->size(), static_cast<size_t>((1 + n / 256) * 80));
    // Silence sits on the floor: ln(1e-5).
    EXPECT_FLOAT_EQ((*out)[0], std::log(1e-5f));
  }
}

TEST(LogMelTest, ThreadsAgreeWithOneThread) {
  auto log_mel = LogMel::Create(LogMelOptions());
  ASSERT_TRUE(log_mel.ok());
  auto audio = ReadAudio(TestDataPath("speech.wav"));
  ASSERT_TRUE(audio.ok());
  auto want = log_mel->Compute(audio->samples);
  ASSERT_TRUE(want.ok());
  std::vector<std::vector<float>> outs(4);
  std::vector<std::thread> threads;
  for (auto& out : outs) {
    threads.emplace_back([&] { ASSERT_TRUE(log_mel->Compute(audio->samples, &out).ok()); });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : outs) EXPECT_EQ(out, *want);
}

TEST(LogMelTest, ValidateNamesTheBadField) {
  LogMelOptions o;
  o.f_max = 12000;
  EXPECT_EQ(o.Validate().message(),
            "log-mel options: need 0 <= f_min < f_max <= sample_rate / 2 = 11025, got f_min=0 "
            "f_max=12000");
  o = LogMelOptions();
  o.hop_length = 0;
  EXPECT_EQ(LogMel::Create(o).status().message(),
            "log-mel options: hop_length must be >= 1, got 0");
  o = LogMelOptions();
  o.log_floor = 0.0f;
  EXPECT_EQ(o.Validate().message(), "log-mel options: log_floor must be > 0, got 0");
}

TEST(LogMelTest, TooShortInputFails) {
  auto log_mel = LogMel::Create(LogMelOptions());
  ASSERT_TRUE(log_mel.ok());
  EXPECT_EQ(log_mel->Compute(std::vector<float>(512, 0.0f)).status().message(),
            "log-mel: stft: reflect padding by 512 needs more than 512 samples, got 512");
}

}  // namespace
}  // namespace lightspeech::features
