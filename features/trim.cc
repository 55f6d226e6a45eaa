#include "features/trim.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lightspeech::features {

absl::StatusOr<TrimRange> FindSilenceTrim(const std::vector<float>& samples, double top_db, int window, int hop) {
  if (samples.empty()) return absl::InvalidArgumentError("silence trim: no samples");
  if (window < 1 || hop < 1) {
    return absl::InvalidArgumentError(absl::StrCat("silence trim: window ", window, " and hop ", hop, " must be >= 1"));
  }
  if (!(top_db > 0)) return absl::InvalidArgumentError(absl::StrCat("silence trim: top_db must be > 0, got ", top_db));
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t frames = 1 + n / hop;
  const int64_t half = window / 2;
  // Reflect padding as the STFT's centered frames (x[-i] = x[i], x[n - 1 + i] = x[n - 1 - i]);
  // clips shorter than the padding reflect repeatedly.
  auto at = [&](int64_t i) {
    if (n == 1) return samples[0];
    const int64_t period = 2 * (n - 1);
    int64_t j = i % period;
    if (j < 0) j += period;
    return samples[j < n ? j : period - j];
  };
  // Prefix sums of squares over the padded clip: each frame's energy is one difference, not a sum
  // over its window (frames overlap window / hop times).
  std::vector<double> prefix(static_cast<size_t>(frames - 1) * hop + window + 1, 0.0);
  for (size_t i = 1; i < prefix.size(); ++i) {
    const double v = at(static_cast<int64_t>(i) - 1 - half);
    prefix[i] = prefix[i - 1] + v * v;
  }
  std::vector<double> energy(frames, 0.0);
  double loudest = 0;
  for (int64_t k = 0; k < frames; ++k) {
    energy[k] = (prefix[k * hop + window] - prefix[k * hop]) / window;
    loudest = std::max(loudest, energy[k]);
  }
  TrimRange range{0, n};
  if (!(loudest > 0)) return range;
  // Level within top_db of the loudest: energy >= loudest * 10^(-top_db / 10) (RMS in dB is 10 log10 energy).
  const double floor = loudest * std::pow(10.0, -top_db / 10.0);
  int64_t first = 0, last = frames - 1;
  while (first < frames && energy[first] < floor) ++first;
  while (last > first && energy[last] < floor) --last;
  range.begin = std::clamp<int64_t>(first * hop - hop / 2, 0, n);
  range.end = std::clamp<int64_t>(last * hop + hop / 2, range.begin, n);
  if (range.end <= range.begin) range = {0, n};
  return range;
}

}  // namespace lightspeech::features
