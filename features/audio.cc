#include "features/audio.h"

#include <sndfile.h>
#include <soxr.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lightspeech::features {
namespace {

struct SndfileCloser {
  void operator()(SNDFILE* f) const {
    if (f != nullptr) sf_close(f);
  }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// round(x * 32768) clamped to int16; NaN/Inf as 0.
int16_t ToPcm16(float sample) {
  const float x = std::isfinite(sample) ? sample : 0.0f;
  const long v = std::lround(static_cast<double>(x) * 32768.0);
  return static_cast<int16_t>(std::clamp<long>(v, -32768, 32767));
}

void AppendLittleEndian(std::string* out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The file's size in bytes (0 when unknown).
sf_count_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<sf_count_t>(st.st_size) : 0;
}

// Frames per read: 64 Ki frames, 256 KiB per channel.
constexpr sf_count_t kReadChunkFrames = 1 << 16;

}  // namespace

AudioStats MeasureAudio(absl::Span<const float> samples) {
  AudioStats s;
  for (float x : samples) {
    if (!std::isfinite(x)) {
      ++s.non_finite;
      continue;
    }
    const float a = std::fabs(x);
    s.peak = std::max(s.peak, a);
    if (a >= kClipLevel) ++s.clipped;
  }
  return s;
}

absl::StatusOr<std::vector<float>> Resample(absl::Span<const float> samples, int in_rate,
                                            int out_rate) {
  if (in_rate <= 0 || out_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resample: rates must be positive, got ", in_rate, " -> ", out_rate));
  }
  // libsoxr crashes on extreme ratios (found by tools/fuzz:fuzz_audio with a 576 MHz header).
  if (in_rate < kMinSampleRate || in_rate > kMaxSampleRate || out_rate < kMinSampleRate ||
      out_rate > kMaxSampleRate) {
    return absl::InvalidArgumentError(absl::StrCat("resample: rates must be in [", kMinSampleRate, ", ",
                                                   kMaxSampleRate, "] Hz, got ", in_rate, " -> ", out_rate));
  }
  if (in_rate == out_rate) return std::vector<float>(samples.begin(), samples.end());
  const size_t out_len = static_cast<size_t>(
      std::llround(static_cast<double>(samples.size()) * out_rate / in_rate));
  // libsoxr reads through a null output pointer when asked for no output (found by
  // tools/fuzz:fuzz_audio with a one-frame clip).
  if (samples.empty() || out_len == 0) return std::vector<float>();
  std::vector<float> out(out_len);
  size_t done = 0;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, samples.data(), samples.size(),
                                        nullptr, out.data(), out.size(), &done, &io, &quality,
                                        nullptr);
  if (err != nullptr) {
    return absl::InternalError(absl::StrCat("resample: libsoxr failed: ", err));
  }
  out.resize(done);
  out.resize(out_len, 0.0f);  // soxr may deliver a few samples fewer than the rounded length.
  return out;
}

absl::StatusOr<Audio> ReadAudio(absl::string_view path_view, int target_rate) {
  const std::string path(path_view);
  if (target_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("read audio '", path, "': target rate must be positive, got ", target_rate));
  }
  if (!FileExists(path)) {
    return absl::NotFoundError(absl::StrCat("read audio '", path, "': no such file"));
  }
  SF_INFO info = {};
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("read audio '", path, "': ", sf_strerror(nullptr)));
  }
  if (info.frames <= 0 || info.channels <= 0 || info.samplerate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("read audio '", path, "': no samples"));
  }
  if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate) {
    return absl::InvalidArgumentError(absl::StrCat("read audio '", path, "': sample rate ", info.samplerate,
                                                   " Hz is outside [", kMinSampleRate, ", ", kMaxSampleRate, "]"));
  }
  // Float files may exceed full scale; keep their values so clipping is visible.
  sf_command(file.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  // Read in bounded chunks, mixing each to mono, so that a header that overstates the length costs
  // no memory before the short read shows it: `mono` grows with what was actually read (reserved up
  // to the file's size in bytes, which no uncompressed format's frame count exceeds).
  const int channels = info.channels;
  const float scale = 1.0f / static_cast<float>(channels);
  std::vector<float> chunk(static_cast<size_t>(kReadChunkFrames) * channels);
  std::vector<float> mono;
  mono.reserve(static_cast<size_t>(std::min<sf_count_t>(info.frames, FileSize(path))));
  Audio audio;
  sf_count_t got = 0;
  while (got < info.frames) {
    const sf_count_t want = std::min<sf_count_t>(kReadChunkFrames, info.frames - got);
    const sf_count_t n = sf_readf_float(file.get(), chunk.data(), want);
    if (n <= 0) break;
    const absl::Span<const float> samples(chunk.data(), static_cast<size_t>(n) * channels);
    const AudioStats part = MeasureAudio(samples);
    audio.stats.peak = std::max(audio.stats.peak, part.peak);
    audio.stats.clipped += part.clipped;
    audio.stats.non_finite += part.non_finite;
    for (sf_count_t i = 0; i < n; ++i) {
      float sum = 0.0f;
      for (int c = 0; c < channels; ++c) {
        const float x = samples[static_cast<size_t>(i) * channels + c];
        sum += std::isfinite(x) ? x : 0.0f;
      }
      mono.push_back(channels == 1 ? sum : sum * scale);
    }
    got += n;
    if (n < want) break;
  }
  if (got <= 0) {
    return absl::InternalError(absl::StrCat("read audio '", path,
                                            "': read failed: ", sf_strerror(file.get())));
  }
  audio.stats.source_sample_rate = info.samplerate;
  audio.stats.source_channels = channels;
  audio.stats.source_frames = got;

  auto resampled = Resample(mono, info.samplerate, target_rate);
  if (!resampled.ok()) {
    return absl::InternalError(
        absl::StrCat("read audio '", path, "': ", resampled.status().message()));
  }
  if (resampled->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("read audio '", path, "': no samples (", got, " at ",
                                                   info.samplerate, " Hz give none at ", target_rate, " Hz)"));
  }
  audio.samples = *std::move(resampled);
  audio.sample_rate = target_rate;
  return audio;
}

absl::Status WriteWav16(absl::string_view path_view, absl::Span<const float> samples,
                        int sample_rate) {
  const std::string path(path_view);
  if (sample_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("write wav '", path, "': sample rate must be positive, got ", sample_rate));
  }
  SF_INFO info = {};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndfilePtr file(sf_open(path.c_str(), SFM_WRITE, &info));
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("write wav '", path, "': ", sf_strerror(nullptr)));
  }
  std::vector<int16_t> pcm(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) pcm[i] = ToPcm16(samples[i]);
  const sf_count_t wrote = sf_writef_short(file.get(), pcm.data(), pcm.size());
  if (wrote != static_cast<sf_count_t>(pcm.size())) {
    return absl::InternalError(
        absl::StrCat("write wav '", path, "': write failed: ", sf_strerror(file.get())));
  }
  if (sf_close(file.release()) != 0) {
    return absl::InternalError(absl::StrCat("write wav '", path, "': close failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeWav16(absl::Span<const float> samples, int sample_rate) {
  if (sample_rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("encode wav: sample rate must be positive, got ", sample_rate));
  }
  if (samples.size() > (uint64_t{1} << 30) - 64) {
    return absl::InvalidArgumentError(absl::StrCat("encode wav: ", samples.size(), " samples do not fit in a wav"));
  }
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  AppendLittleEndian(&out, 36 + data_bytes, 4);
  out += "WAVEfmt ";
  AppendLittleEndian(&out, 16, 4);                             // fmt chunk size
  AppendLittleEndian(&out, 1, 2);                              // PCM
  AppendLittleEndian(&out, 1, 2);                              // channels
  AppendLittleEndian(&out, static_cast<uint32_t>(sample_rate), 4);
  AppendLittleEndian(&out, static_cast<uint32_t>(sample_rate) * 2, 4);  // bytes per second
  AppendLittleEndian(&out, 2, 2);                              // block align
  AppendLittleEndian(&out, 16, 2);                             // bits per sample
  out += "data";
  AppendLittleEndian(&out, data_bytes, 4);
  for (float x : samples) AppendLittleEndian(&out, static_cast<uint16_t>(ToPcm16(x)), 2);
  return out;
}

}  // namespace lightspeech::features
