#ifndef LIGHTSPEECH_FEATURES_LOG_MEL_H_
#define LIGHTSPEECH_FEATURES_LOG_MEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "features/mel_filterbank.h"
#include "features/stft.h"

namespace lightspeech::features {

// Log-mel settings. The defaults are the docs/DESIGN.md section 3 contract (TacotronSTFT numerics).
struct LogMelOptions {
  int sample_rate = 22050;
  int n_fft = 1024;
  int hop_length = 256;
  int win_length = 1024;
  WindowType window = WindowType::kPeriodicHann;
  int n_mels = 80;
  double f_min = 0.0;
  double f_max = 8000.0;
  float log_floor = 1e-5f;  // log-mel = ln(max(mel, log_floor)).

  // OK when the settings describe a valid extractor; otherwise InvalidArgument naming the first
  // bad field: sample_rate >= 1; n_fft even and >= 2; 1 <= hop_length; 1 <= win_length <= n_fft;
  // n_mels >= 1; 0 <= f_min < f_max <= sample_rate / 2; log_floor > 0.
  absl::Status Validate() const;
};

// Log-mel spectrogram: reflect-padded centred STFT (FFTW float32), magnitude (power 1), sparse
// Slaney mel filterbank, natural log of max(mel, log_floor). Output is frame-major
// [frames][n_mels] with frames = 1 + floor(N / hop_length).
// Compute is const and thread-safe: FFTW plans are per thread and reused, and nothing is allocated
// per frame.
class LogMel {
 public:
  // Fails with InvalidArgument when options.Validate() does.
  static absl::StatusOr<LogMel> Create(const LogMelOptions& options);

  const LogMelOptions& options() const { return options_; }
  const Stft& stft() const { return stft_; }
  const MelFilterbank& filterbank() const { return filterbank_; }
  int64_t NumFrames(int64_t n_samples) const { return stft_.NumFrames(n_samples); }

  // Log-mel of `samples` into `out` (resized to NumFrames(n) * n_mels). Fails with InvalidArgument
  // when there are n_fft / 2 samples or fewer (reflect padding needs more).
  absl::Status Compute(absl::Span<const float> samples, std::vector<float>* out) const;
  absl::StatusOr<std::vector<float>> Compute(absl::Span<const float> samples) const;

  // Linear mel magnitudes (before the log) of the same frames; fails as Compute.
  absl::Status ComputeMel(absl::Span<const float> samples, std::vector<float>* out) const;

 private:
  LogMel(const LogMelOptions& options, Stft stft, MelFilterbank filterbank)
      : options_(options), stft_(std::move(stft)), filterbank_(std::move(filterbank)) {}

  absl::Status Run(absl::Span<const float> samples, bool take_log, std::vector<float>* out) const;

  LogMelOptions options_;
  Stft stft_;
  MelFilterbank filterbank_;
};

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_LOG_MEL_H_
