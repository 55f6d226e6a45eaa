#include "features/mel_filterbank.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lightspeech::features {
namespace {

constexpr double kLinearHzPerMel = 200.0 / 3.0;
constexpr double kBreakHz = 1000.0;
constexpr double kBreakMel = kBreakHz / kLinearHzPerMel;  // 15
const double kLogStep = std::log(6.4) / 27.0;

}  // namespace

double HzToMelSlaney(double hz) {
  if (hz < kBreakHz) return hz / kLinearHzPerMel;
  return kBreakMel + std::log(hz / kBreakHz) / kLogStep;
}

double MelToHzSlaney(double mel) {
  if (mel < kBreakMel) return mel * kLinearHzPerMel;
  return kBreakHz * std::exp(kLogStep * (mel - kBreakMel));
}

absl::StatusOr<MelFilterbank> MelFilterbank::Create(int n_bins, int n_mels, int sample_rate,
                                                    double f_min, double f_max) {
  if (n_bins < 2 || n_mels < 1 || sample_rate < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mel filterbank: need n_bins >= 2, n_mels >= 1, sample_rate >= 1; got ", n_bins, ", ",
        n_mels, ", ", sample_rate));
  }
  if (!(f_min >= 0.0 && f_min < f_max && f_max <= sample_rate / 2.0)) {
    return absl::InvalidArgumentError(absl::StrCat("mel filterbank: need 0 <= f_min < f_max <= ",
                                                   sample_rate / 2.0, ", got f_min=", f_min,
                                                   " f_max=", f_max));
  }
  const double m_lo = HzToMelSlaney(f_min), m_hi = HzToMelSlaney(f_max);
  std::vector<double> f_pts(n_mels + 2);
  for (int i = 0; i < n_mels + 2; ++i) {
    f_pts[i] = MelToHzSlaney(m_lo + (m_hi - m_lo) * i / (n_mels + 1));
  }
  const double nyquist = static_cast<double>(sample_rate / 2);  // torchaudio: sample_rate // 2.
  MelFilterbank fb;
  fb.n_bins_ = n_bins;
  fb.n_mels_ = n_mels;
  fb.offset_.push_back(0);
  for (int m = 0; m < n_mels; ++m) {
    const double lo = f_pts[m], mid = f_pts[m + 1], hi = f_pts[m + 2];
    const double norm = 2.0 / (hi - lo);
    int first = -1;
    std::vector<float> w;
    for (int k = 0; k < n_bins; ++k) {
      const double f = nyquist * k / (n_bins - 1);
      const double down = (f - lo) / (mid - lo);
      const double up = (hi - f) / (hi - mid);
      const double v = std::max(0.0, std::min(down, up)) * norm;
      if (v > 0.0) {
        if (first < 0) first = k;
        // Zeros inside the range cannot occur for a triangle; keep the range contiguous anyway.
        w.resize(k - first + 1, 0.0f);
        w[k - first] = static_cast<float>(v);
      }
    }
    fb.begin_.push_back(first < 0 ? 0 : first);
    fb.weights_.insert(fb.weights_.end(), w.begin(), w.end());
    fb.offset_.push_back(static_cast<int>(fb.weights_.size()));
  }
  return fb;
}

float MelFilterbank::Weight(int m, int k) const {
  if (k < begin(m) || k >= end(m)) return 0.0f;
  return weights(m)[k - begin(m)];
}

void MelFilterbank::Apply(const float* spectrum, float* mel) const {
  for (int m = 0; m < n_mels_; ++m) {
    const float* w = weights(m);
    const float* s = spectrum + begin_[m];
    const int n = offset_[m + 1] - offset_[m];
    float acc = 0.0f;
    for (int i = 0; i < n; ++i) acc += w[i] * s[i];
    mel[m] = acc;
  }
}

void MelFilterbank::ApplyTranspose(const float* mel, float* spectrum) const {
  std::fill(spectrum, spectrum + n_bins_, 0.0f);
  for (int m = 0; m < n_mels_; ++m) {
    const float* w = weights(m);
    float* s = spectrum + begin_[m];
    const int n = offset_[m + 1] - offset_[m];
    for (int i = 0; i < n; ++i) s[i] += w[i] * mel[m];
  }
}

}  // namespace lightspeech::features
