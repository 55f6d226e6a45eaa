#include "train/feature_settings.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::train {

absl::StatusOr<features::LogMelOptions> LogMelOptionsFromSettings(const records::FeatureSettings& f, int n_mels) {
  if (f.n_mels() > 0 && f.n_mels() != n_mels) {
    return absl::InvalidArgumentError(
        absl::StrCat("the feature settings have ", f.n_mels(), " mel bins, the model ", n_mels));
  }
  features::LogMelOptions o;
  if (f.sample_rate() > 0) o.sample_rate = f.sample_rate();
  if (f.n_fft() > 0) o.n_fft = f.n_fft();
  if (f.hop_length() > 0) o.hop_length = f.hop_length();
  if (f.win_length() > 0) o.win_length = f.win_length();
  o.n_mels = n_mels;
  o.f_min = f.fmin();
  if (f.fmax() > 0) o.f_max = f.fmax();
  if (f.log_floor() > 0) o.log_floor = f.log_floor();
  if (f.window() == "hamming_periodic") o.window = features::WindowType::kPeriodicHamming;
  LS_RETURN_IF_ERROR(o.Validate());
  return o;
}

}  // namespace lightspeech::train
