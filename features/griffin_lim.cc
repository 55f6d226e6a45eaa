#include "features/griffin_lim.h"

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::features {
namespace {

constexpr float kDivisionGuard = 1e-16f;  // As torchaudio's phase normalisation.
constexpr float kNnlsGuard = 1e-12f;

}  // namespace

absl::Status GriffinLimOptions::Validate() const {
  if (iterations < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("griffin-lim options: iterations must be >= 0, got ", iterations));
  }
  if (!(momentum >= 0.0f && momentum < 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("griffin-lim options: momentum must be in [0, 1), got ", momentum));
  }
  if (mel_inverse_iterations < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("griffin-lim options: mel_inverse_iterations must be >= 0, got ",
                     mel_inverse_iterations));
  }
  return absl::OkStatus();
}

absl::StatusOr<GriffinLim> GriffinLim::Create(const LogMelOptions& mel_options,
                                              const GriffinLimOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  LS_ASSIGN_OR_RETURN(LogMel log_mel, LogMel::Create(mel_options));
  const MelFilterbank& fb = log_mel.filterbank();
  std::vector<float> rows(fb.n_mels(), 0.0f), cols(fb.n_bins(), 0.0f);
  for (int m = 0; m < fb.n_mels(); ++m) {
    for (int k = fb.begin(m); k < fb.end(m); ++k) {
      rows[m] += fb.weights(m)[k - fb.begin(m)];
      cols[k] += fb.weights(m)[k - fb.begin(m)];
    }
  }
  return GriffinLim(options, std::move(log_mel), std::move(rows), std::move(cols));
}

absl::Status GriffinLim::MelToMagnitude(absl::Span<const float> log_mel, int64_t n_frames,
                                        std::vector<float>* magnitude) const {
  const MelFilterbank& fb = log_mel_.filterbank();
  const int n_mels = fb.n_mels(), n_bins = fb.n_bins();
  if (n_frames < 1 || static_cast<int64_t>(log_mel.size()) != n_frames * n_mels) {
    return absl::InvalidArgumentError(absl::StrCat("griffin-lim: expected ", n_frames, " x ",
                                                   n_mels, " log-mel values, got ",
                                                   log_mel.size()));
  }
  magnitude->resize(n_frames * n_bins);
  std::vector<float> mel(n_mels), norm_mel(n_mels), target(n_bins), projected(n_mels),
      back(n_bins);
  for (int64_t t = 0; t < n_frames; ++t) {
    for (int m = 0; m < n_mels; ++m) {
      mel[m] = std::exp(log_mel[t * n_mels + m]);
      norm_mel[m] = row_sums_[m] > 0.0f ? mel[m] / row_sums_[m] : 0.0f;
    }
    float* s = magnitude->data() + t * n_bins;
    // Start from the spectrum that is flat under each filter: a weighted mean of mel / row sum.
    fb.ApplyTranspose(norm_mel.data(), s);
    for (int k = 0; k < n_bins; ++k) s[k] = col_sums_[k] > 0.0f ? s[k] / col_sums_[k] : 0.0f;
    // Multiplicative updates s <- s * (W^T mel) / (W^T W s) keep s >= 0 and decrease ||W s - mel||.
    fb.ApplyTranspose(mel.data(), target.data());
    for (int it = 0; it < options_.mel_inverse_iterations; ++it) {
      fb.Apply(s, projected.data());
      fb.ApplyTranspose(projected.data(), back.data());
      for (int k = 0; k < n_bins; ++k) s[k] *= target[k] / (back[k] + kNnlsGuard);
    }
  }
  return absl::OkStatus();
}

absl::Status GriffinLim::Reconstruct(absl::Span<const float> magnitude, int64_t n_frames,
                                     std::vector<float>* audio) const {
  const Stft& stft = log_mel_.stft();
  const int n_bins = stft.num_bins();
  if (n_frames < 2 || static_cast<int64_t>(magnitude.size()) != n_frames * n_bins) {
    return absl::InvalidArgumentError(absl::StrCat("griffin-lim: expected ", n_frames,
                                                   " (>= 2) x ", n_bins,
                                                   " magnitudes, got ", magnitude.size()));
  }
  const size_t n = magnitude.size();
  std::vector<std::complex<float>> angles(n), spec(n), rebuilt, previous(n);
  std::mt19937 rng(options_.seed);
  std::uniform_real_distribution<float> uniform(0.0f, 2.0f * static_cast<float>(M_PI));
  for (auto& a : angles) a = std::polar(1.0f, uniform(rng));
  const float beta = options_.momentum / (1.0f + options_.momentum);
  for (int it = 0; it < options_.iterations; ++it) {
    for (size_t i = 0; i < n; ++i) spec[i] = magnitude[i] * angles[i];
    LS_RETURN_IF_ERROR(stft.Inverse(spec, n_frames, audio));
    LS_RETURN_IF_ERROR(stft.Forward(*audio, &rebuilt));
    for (size_t i = 0; i < n; ++i) {
      const std::complex<float> a = rebuilt[i] - beta * previous[i];
      const float r = std::hypot(a.real(), a.imag()) + kDivisionGuard;
      angles[i] = {a.real() / r, a.imag() / r};
    }
    previous.swap(rebuilt);
  }
  for (size_t i = 0; i < n; ++i) spec[i] = magnitude[i] * angles[i];
  return stft.Inverse(spec, n_frames, audio);
}

absl::StatusOr<std::vector<float>> GriffinLim::Synthesize(absl::Span<const float> log_mel,
                                                          int64_t n_frames) const {
  std::vector<float> magnitude, audio;
  LS_RETURN_IF_ERROR(MelToMagnitude(log_mel, n_frames, &magnitude));
  LS_RETURN_IF_ERROR(Reconstruct(magnitude, n_frames, &audio));
  return audio;
}

}  // namespace lightspeech::features
