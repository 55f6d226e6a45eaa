#include "features/log_mel.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::features {

absl::Status LogMelOptions::Validate() const {
  auto bad = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("log-mel options: ", parts...));
  };
  if (sample_rate < 1) return bad("sample_rate must be >= 1, got ", sample_rate);
  if (n_fft < 2 || n_fft % 2 != 0) return bad("n_fft must be even and >= 2, got ", n_fft);
  if (hop_length < 1) return bad("hop_length must be >= 1, got ", hop_length);
  if (win_length < 1 || win_length > n_fft) {
    return bad("win_length must be in [1, n_fft=", n_fft, "], got ", win_length);
  }
  if (n_mels < 1) return bad("n_mels must be >= 1, got ", n_mels);
  if (!(f_min >= 0.0 && f_min < f_max && f_max <= sample_rate / 2.0)) {
    return bad("need 0 <= f_min < f_max <= sample_rate / 2 = ", sample_rate / 2.0,
               ", got f_min=", f_min, " f_max=", f_max);
  }
  if (!(log_floor > 0.0f)) return bad("log_floor must be > 0, got ", log_floor);
  return absl::OkStatus();
}

absl::StatusOr<LogMel> LogMel::Create(const LogMelOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  LS_ASSIGN_OR_RETURN(
      Stft stft, Stft::Create(options.n_fft, options.hop_length, options.win_length, options.window));
  LS_ASSIGN_OR_RETURN(MelFilterbank fb,
                      MelFilterbank::Create(options.n_fft / 2 + 1, options.n_mels, options.sample_rate,
                                            options.f_min, options.f_max));
  return LogMel(options, std::move(stft), std::move(fb));
}

absl::Status LogMel::Run(absl::Span<const float> samples, bool take_log,
                         std::vector<float>* out) const {
  std::vector<float> padded;
  if (absl::Status s = stft_.PadReflect(samples, &padded); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("log-mel: ", s.message()));
  }
  const int64_t frames = NumFrames(static_cast<int64_t>(samples.size()));
  const int n_mels = options_.n_mels;
  out->resize(frames * n_mels);
  std::vector<float> magnitude(stft_.num_bins());
  const float floor = options_.log_floor;
  for (int64_t t = 0; t < frames; ++t) {
    stft_.FrameMagnitude(padded.data() + t * options_.hop_length, magnitude.data());
    float* mel = out->data() + t * n_mels;
    filterbank_.Apply(magnitude.data(), mel);
    if (take_log) {
      for (int m = 0; m < n_mels; ++m) mel[m] = std::log(std::max(mel[m], floor));
    }
  }
  return absl::OkStatus();
}

absl::Status LogMel::Compute(absl::Span<const float> samples, std::vector<float>* out) const {
  return Run(samples, /*take_log=*/true, out);
}

absl::StatusOr<std::vector<float>> LogMel::Compute(absl::Span<const float> samples) const {
  std::vector<float> out;
  LS_RETURN_IF_ERROR(Compute(samples, &out));
  return out;
}

absl::Status LogMel::ComputeMel(absl::Span<const float> samples, std::vector<float>* out) const {
  return Run(samples, /*take_log=*/false, out);
}

}  // namespace lightspeech::features
