#ifndef LIGHTSPEECH_FEATURES_AUDIO_H_
#define LIGHTSPEECH_FEATURES_AUDIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace lightspeech::features {

// The sample rate every feature in the project is computed at (docs/DESIGN.md section 3).
inline constexpr int kDefaultSampleRate = 22050;
// Sample rates accepted from files and by Resample (outside: an InvalidArgument error).
inline constexpr int kMinSampleRate = 1000;
inline constexpr int kMaxSampleRate = 768000;

// What the reader saw in the file, before mixing and resampling (all channels counted).
struct AudioStats {
  int source_sample_rate = 0;
  int source_channels = 0;
  int64_t source_frames = 0;  // Samples per channel.
  float peak = 0.0f;          // max |x| over finite samples, full scale = 1.0.
  int64_t clipped = 0;        // Samples with |x| >= kClipLevel.
  int64_t non_finite = 0;     // NaN or +-Inf samples (replaced by 0 before mixing).
};

// |x| at or above this counts as clipped: int16 full scale (32767/32768) and anything louder.
inline constexpr float kClipLevel = 32767.0f / 32768.0f;

// Mono audio in [-1, 1] (int16 sources read as value / 32768).
struct Audio {
  std::vector<float> samples;
  int sample_rate = 0;
  AudioStats stats;
};

// Reads any file libsndfile can open (wav, flac, ogg, ...), at any rate and channel count, mixes the
// channels to mono (mean), replaces NaN/Inf samples by 0 (counting them in `stats`) and resamples to
// `target_rate` with libsoxr's high-quality setting (no resampling when the rates already agree).
// Reads in chunks of 64 Ki frames, so memory follows the samples actually present, not the length a
// header claims (a header that overstates it gives the samples that are there).
// Fails with NotFound when the file does not exist, InvalidArgument when libsndfile cannot parse it
// or it holds no samples or `target_rate` <= 0, and Internal when reading or resampling fails; every
// message names the file.
absl::StatusOr<Audio> ReadAudio(absl::string_view path, int target_rate = kDefaultSampleRate);

// Resamples mono `samples` from `in_rate` to `out_rate` with libsoxr (high quality, float32).
// The output has round(n * out_rate / in_rate) samples. Fails with InvalidArgument for non-positive
// rates and Internal when libsoxr reports an error.
absl::StatusOr<std::vector<float>> Resample(absl::Span<const float> samples, int in_rate,
                                            int out_rate);

// Peak, clipping and NaN/Inf counts of `samples` (rate/channel fields left 0).
AudioStats MeasureAudio(absl::Span<const float> samples);

// Writes mono `samples` as a 16-bit PCM wav at `sample_rate`: round(x * 32768) clamped to int16, so
// audio read from a 16-bit file is written back bit-exactly. Fails with InvalidArgument for a
// non-positive rate and Internal when the file cannot be created or written (message names it).
absl::Status WriteWav16(absl::string_view path, absl::Span<const float> samples, int sample_rate);

// The same 16-bit PCM mono wav as WriteWav16 writes (same quantization), in memory: a canonical
// 44-byte RIFF/WAVE header (fmt chunk: PCM, 1 channel, `sample_rate`, 16 bits) and the data chunk,
// e.g. for a TensorBoard audio summary. Fails with InvalidArgument for a non-positive rate or more
// samples than a wav can hold (2^31 bytes of data).
absl::StatusOr<std::string> EncodeWav16(absl::Span<const float> samples, int sample_rate);

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_AUDIO_H_
