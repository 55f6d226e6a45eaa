#include "model/length_regulator.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::model {

absl::Status LengthRegulatorOptions::Validate() const {
  if (!(speed > 0.0)) return absl::InvalidArgumentError(absl::StrCat("LengthRegulatorOptions.speed must be > 0, got ", speed));
  if (min_frames_per_token < 0) {
    return absl::InvalidArgumentError("LengthRegulatorOptions.min_frames_per_token must be >= 0");
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckTokens(const torch::Tensor& durations, const torch::Tensor& token_mask) {
  if (!durations.defined() || durations.dim() != 2) return absl::InvalidArgumentError("durations must be [B, N]");
  if (!token_mask.defined() || token_mask.sizes() != durations.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("token_mask ", token_mask.defined() ? c10::str(token_mask.sizes()) : "undefined",
                                                   " must match durations ", c10::str(durations.sizes())));
  }
  return absl::OkStatus();
}

torch::Tensor FitUnchecked(const torch::Tensor& durations, const torch::Tensor& mask, const torch::Tensor& target) {
  torch::Tensor m = mask.to(torch::kDouble);
  torch::Tensor d = durations.to(torch::kDouble).clamp_min(0.0) * m;
  torch::Tensor total = d.sum(1, /*keepdim=*/true);
  // All-zero utterances: spread evenly over real tokens.
  d = torch::where(total > 0, d, m);
  total = d.sum(1, /*keepdim=*/true).clamp_min(1.0);
  torch::Tensor cum = torch::round(d.cumsum(1) * target.to(torch::kDouble).unsqueeze(1) / total);
  torch::Tensor prev = torch::constant_pad_nd(cum, {1, 0}).narrow(1, 0, cum.size(1));
  return ((cum - prev) * m).to(torch::kLong);
}

}  // namespace

absl::StatusOr<torch::Tensor> FitDurations(const torch::Tensor& durations, const torch::Tensor& token_mask,
                                           const torch::Tensor& target_lengths) {
  LS_RETURN_IF_ERROR(CheckTokens(durations, token_mask));
  if (!target_lengths.defined() || target_lengths.dim() != 1 || target_lengths.size(0) != durations.size(0)) {
    return absl::InvalidArgumentError("FitDurations: target_lengths must be [B]");
  }
  try {
    return FitUnchecked(durations, token_mask.to(torch::kBool), target_lengths);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("FitDurations: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<Expanded> RegulateLength(const torch::Tensor& encodings, const torch::Tensor& durations,
                                        const torch::Tensor& token_mask, const LengthRegulatorOptions& options,
                                        const torch::Tensor& target_lengths, int64_t max_frames) {
  LS_RETURN_IF_ERROR(options.Validate());
  LS_RETURN_IF_ERROR(CheckTokens(durations, token_mask));
  if (!encodings.defined() || encodings.dim() != 3 || encodings.size(0) != durations.size(0) ||
      encodings.size(1) != durations.size(1)) {
    return absl::InvalidArgumentError("RegulateLength: encodings must be [B, N, C] matching durations [B, N]");
  }
  if (target_lengths.defined() && (target_lengths.dim() != 1 || target_lengths.size(0) != durations.size(0))) {
    return absl::InvalidArgumentError("RegulateLength: target_lengths must be [B]");
  }
  if (max_frames < 0) return absl::InvalidArgumentError("RegulateLength: max_frames must be >= 0");
  try {
    const torch::Tensor mask = token_mask.to(torch::kBool);
    torch::Tensor d;
    if (durations.is_floating_point() || options.speed != 1.0) {
      d = durations.to(torch::kDouble) / options.speed;
      d = torch::round(d).to(torch::kLong);
      if (options.speed != 1.0) d = d.clamp_min(options.min_frames_per_token);
    } else {
      d = durations.to(torch::kLong);
    }
    if (torch::any(d.masked_select(mask) < 0).item<bool>()) {
      return absl::InvalidArgumentError("RegulateLength: durations must be >= 0");
    }
    d = d * mask;
    if (target_lengths.defined()) d = FitUnchecked(d, mask, target_lengths.to(encodings.device()));
    torch::Tensor cum = d.cumsum(1);          // [B, N]
    torch::Tensor lengths = cum.select(1, cum.size(1) - 1);  // [B]
    const int64_t frames = max_frames > 0 ? max_frames : std::max<int64_t>(lengths.max().item<int64_t>(), 1);
    const int64_t n = d.size(1);
    torch::Tensor t = torch::arange(frames, d.options());  // [T]
    // Token of frame t: the number of cumulative ends <= t.
    torch::Tensor index = torch::searchsorted(cum.contiguous(), t.unsqueeze(0).expand({d.size(0), frames}).contiguous(),
                                              /*out_int32=*/false, /*right=*/true);
    torch::Tensor frame_mask = t.unsqueeze(0) < lengths.unsqueeze(1);  // [B, T]
    index = torch::where(frame_mask, index.clamp_max(n - 1), torch::zeros_like(index));
    Expanded out;
    out.frames = encodings.gather(1, index.unsqueeze(-1).expand({-1, -1, encodings.size(2)})) *
                 frame_mask.unsqueeze(-1).to(encodings.scalar_type());
    out.frame_mask = frame_mask;
    out.frame_to_token = index;
    out.durations = d;
    out.lengths = lengths.clamp_max(frames);
    return out;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("RegulateLength: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::model
