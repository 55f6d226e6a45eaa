#ifndef LIGHTSPEECH_FEATURES_MEL_FILTERBANK_H_
#define LIGHTSPEECH_FEATURES_MEL_FILTERBANK_H_

#include <vector>

#include "absl/status/statusor.h"

namespace lightspeech::features {

// Slaney mel scale (librosa htk=False): linear below 1 kHz (3 f / 200), logarithmic above.
double HzToMelSlaney(double hz);
double MelToHzSlaney(double mel);

// Triangular mel filters on the Slaney scale with Slaney area normalization (each filter scaled by
// 2 / (its upper edge - its lower edge) in Hz), as torchaudio.functional.melscale_fbanks(
// mel_scale='slaney', norm='slaney') builds them (bin frequencies linspace(0, sample_rate // 2)).
// Weights are computed in float64 and stored in float32, sparsely: each filter keeps only its
// contiguous nonzero range.
class MelFilterbank {
 public:
  // Fails with InvalidArgument unless n_bins >= 2, n_mels >= 1, sample_rate >= 1 and
  // 0 <= f_min < f_max <= sample_rate / 2.
  static absl::StatusOr<MelFilterbank> Create(int n_bins, int n_mels, int sample_rate,
                                              double f_min, double f_max);

  int n_bins() const { return n_bins_; }
  int n_mels() const { return n_mels_; }
  // Filter m is nonzero only on bins [begin(m), end(m)); begin(m) == end(m) for an empty filter.
  int begin(int m) const { return begin_[m]; }
  int end(int m) const { return begin_[m] + (offset_[m + 1] - offset_[m]); }
  // The weights of filter m on bins [begin(m), end(m)).
  const float* weights(int m) const { return weights_.data() + offset_[m]; }
  // Dense weight of filter m at bin k (0 outside its range).
  float Weight(int m, int k) const;

  // mel[m] = sum_k W[m][k] * spectrum[k]; spectrum has n_bins() values, mel gets n_mels().
  void Apply(const float* spectrum, float* mel) const;
  // spectrum[k] = sum_m W[m][k] * mel[m] (the transpose); spectrum gets n_bins() values.
  void ApplyTranspose(const float* mel, float* spectrum) const;

 private:
  MelFilterbank() = default;

  int n_bins_ = 0;
  int n_mels_ = 0;
  std::vector<int> begin_;
  std::vector<int> offset_;  // n_mels + 1 offsets into weights_.
  std::vector<float> weights_;
};

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_MEL_FILTERBANK_H_
