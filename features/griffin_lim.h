#ifndef LIGHTSPEECH_FEATURES_GRIFFIN_LIM_H_
#define LIGHTSPEECH_FEATURES_GRIFFIN_LIM_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "features/log_mel.h"

namespace lightspeech::features {

struct GriffinLimOptions {
  int iterations = 32;
  // Fast Griffin-Lim (Perraudin et al. 2013) with torchaudio's parametrisation: the new phase
  // estimate is rebuilt - momentum / (1 + momentum) * previous rebuilt. 0 gives plain Griffin-Lim.
  float momentum = 0.99f;
  // Multiplicative (Lee-Seung) non-negative least-squares iterations that invert the mel filterbank.
  int mel_inverse_iterations = 30;
  uint32_t seed = 0;  // Initial phases are uniform random from this seed (deterministic).

  // OK, or InvalidArgument naming the bad field: iterations >= 0, 0 <= momentum < 1,
  // mel_inverse_iterations >= 0.
  absl::Status Validate() const;
};

// Waveform from a log-mel spectrogram (as LogMel computes it): exp, a non-negative least-squares
// inverse of the mel filterbank to linear STFT magnitudes, then fast Griffin-Lim phase recovery with
// FFTW (inverse STFT and STFT per iteration). Methods are const and thread-safe.
class GriffinLim {
 public:
  // Fails with InvalidArgument when either options' Validate() does.
  static absl::StatusOr<GriffinLim> Create(const LogMelOptions& mel_options,
                                           const GriffinLimOptions& options);

  // Linear magnitudes [n_frames][n_fft / 2 + 1] >= 0 whose mel projection approximates
  // exp(log_mel) in the least-squares sense. Fails with InvalidArgument when log_mel's size is not
  // n_frames * n_mels.
  absl::Status MelToMagnitude(absl::Span<const float> log_mel, int64_t n_frames,
                              std::vector<float>* magnitude) const;

  // Griffin-Lim phase recovery for `magnitude` [n_frames][n_fft / 2 + 1]; writes
  // hop * (n_frames - 1) samples to `audio`. Fails with InvalidArgument on a size mismatch or
  // n_frames < 2.
  absl::Status Reconstruct(absl::Span<const float> magnitude, int64_t n_frames,
                           std::vector<float>* audio) const;

  // MelToMagnitude then Reconstruct; fails as they do.
  absl::StatusOr<std::vector<float>> Synthesize(absl::Span<const float> log_mel,
                                                int64_t n_frames) const;

 private:
  GriffinLim(const GriffinLimOptions& options, LogMel log_mel, std::vector<float> row_sums,
             std::vector<float> col_sums)
      : options_(options),
        log_mel_(std::move(log_mel)),
        row_sums_(std::move(row_sums)),
        col_sums_(std::move(col_sums)) {}

  GriffinLimOptions options_;
  LogMel log_mel_;               // Owns the STFT and the filterbank.
  std::vector<float> row_sums_;  // Sum of each mel filter's weights.
  std::vector<float> col_sums_;  // Sum of the weights on each linear bin.
};

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_GRIFFIN_LIM_H_
