#include "rl/rewards.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::rl {
namespace {

absl::Status CheckMel(const torch::Tensor& mel, const torch::Tensor& mask, const char* name) {
  if (!mel.defined() || mel.dim() != 3 || !mel.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be a floating-point [B, T, C] tensor"));
  }
  if (!mask.defined() || mask.dim() != 2 || mask.size(0) != mel.size(0) || mask.size(1) != mel.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " mask must be [B, T] matching ", name, " [B, T, C]"));
  }
  return absl::OkStatus();
}

torch::Tensor FrameError(const torch::Tensor& pred, const torch::Tensor& target, ErrorKind kind) {
  torch::Tensor d = pred - target;
  return kind == ErrorKind::kMse ? d.square() : d.abs();
}

}  // namespace

absl::StatusOr<torch::Tensor> PrototypeReward(const torch::Tensor& pred, const torch::Tensor& pred_mask,
                                              const torch::Tensor& target, const torch::Tensor& target_mask) {
  LS_RETURN_IF_ERROR(CheckMel(pred, pred_mask, "pred"));
  LS_RETURN_IF_ERROR(CheckMel(target, target_mask, "target"));
  if (pred.size(0) != target.size(0) || pred.size(2) != target.size(2)) {
    return absl::InvalidArgumentError("PrototypeReward: pred and target differ in batch size or bins");
  }
  try {
    torch::NoGradGuard no_grad;
    const int64_t tt = target.size(1);
    torch::Tensor p = pred * pred_mask.unsqueeze(-1).to(pred.scalar_type());
    if (p.size(1) >= tt) {
      p = p.narrow(1, 0, tt);
    } else {
      p = torch::constant_pad_nd(p, {0, 0, 0, tt - p.size(1)});
    }
    torch::Tensor r = 1.0 / (1.0 + (p - target).square());
    return (r * target_mask.unsqueeze(-1).to(r.scalar_type())).sum({1, 2});
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("PrototypeReward: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> NegativeErrorReward(const torch::Tensor& pred, const torch::Tensor& target,
                                                  const torch::Tensor& frame_mask, ErrorKind kind) {
  LS_RETURN_IF_ERROR(CheckMel(target, frame_mask, "target"));
  if (!pred.defined() || pred.sizes() != target.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NegativeErrorReward: length-matched reward needs pred and target of the same shape, got pred ",
        pred.defined() ? c10::str(pred.sizes()) : "undefined", " and target ", c10::str(target.sizes())));
  }
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor m = frame_mask.to(target.scalar_type());
    torch::Tensor err = (FrameError(pred, target, kind).mean(-1) * m).sum(1);  // [B]
    return -err / m.sum(1).clamp_min(1.0);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("NegativeErrorReward: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> PerTokenReward(const torch::Tensor& pred, const torch::Tensor& target,
                                             const torch::Tensor& frame_to_token, const torch::Tensor& frame_mask,
                                             int64_t num_tokens, const PerTokenRewardOptions& options) {
  LS_RETURN_IF_ERROR(CheckMel(target, frame_mask, "target"));
  if (!pred.defined() || pred.sizes() != target.sizes()) {
    return absl::InvalidArgumentError("PerTokenReward: pred and target must have the same shape");
  }
  if (!frame_to_token.defined() || frame_to_token.sizes() != frame_mask.sizes()) {
    return absl::InvalidArgumentError("PerTokenReward: frame_to_token must be [B, T] like frame_mask");
  }
  if (num_tokens < 1) return absl::InvalidArgumentError("PerTokenReward: num_tokens must be >= 1");
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor m = frame_mask.to(target.scalar_type());
    torch::Tensor err = FrameError(pred, target, options.kind).mean(-1) * m;  // [B, T]
    torch::Tensor index = torch::where(frame_mask.to(torch::kBool), frame_to_token.to(torch::kLong),
                                       torch::zeros_like(frame_to_token, torch::kLong))
                              .clamp(0, num_tokens - 1);
    torch::Tensor total = torch::zeros({target.size(0), num_tokens}, err.options()).scatter_add_(1, index, err);
    if (!options.mean_over_frames) return -total;
    torch::Tensor count = torch::zeros_like(total).scatter_add_(1, index, m);
    return -total / count.clamp_min(1.0);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("PerTokenReward: ", e.what_without_backtrace()));
  }
}


absl::StatusOr<torch::Tensor> AlignmentScoreReward(const torch::Tensor& score, const torch::Tensor& durations) {
  if (!score.defined() || score.dim() != 3 || !score.is_floating_point()) {
    return absl::InvalidArgumentError("AlignmentScoreReward: score must be a floating-point [B, T, N] tensor");
  }
  const int64_t B = score.size(0), T = score.size(1), N = score.size(2);
  if (!durations.defined() || durations.dim() != 3 || durations.size(1) != B || durations.size(2) != N ||
      durations.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat("AlignmentScoreReward: durations must be integer [R, ", B, ", ", N,
                                                   "] matching score [B, T, N]"));
  }
  try {
    torch::NoGradGuard no_grad;
    const int64_t R = durations.size(0);
    torch::Tensor d = durations.to(torch::kLong);
    if (d.numel() > 0 && (d.min().item<int64_t>() < 0 || d.sum(-1).max().item<int64_t>() > T)) {
      return absl::InvalidArgumentError(absl::StrCat("AlignmentScoreReward: durations must be >= 0 and sum to at most T = ", T));
    }
    // C[b, t, n] = sum of score[b, t' < t, n]: [B, T + 1, N]; padded frames/tokens are never indexed
    // by a non-empty segment, and empty segments read the same entry twice (difference 0).
    torch::Tensor s = score.detach().to(torch::kFloat);
    s = torch::where(torch::isfinite(s), s, torch::zeros_like(s));
    torch::Tensor c = torch::cat({torch::zeros({B, 1, N}, s.options()), s.cumsum(1)}, 1);
    torch::Tensor end = d.cumsum(-1);    // [R, B, N]
    torch::Tensor start = end - d;       // [R, B, N]
    torch::Tensor cr = c.unsqueeze(0).expand({R, B, T + 1, N});
    auto at = [&](const torch::Tensor& frame) {  // C[r, b, frame[r, b, n], n] -> [R, B, N]
      return cr.gather(2, frame.unsqueeze(2)).squeeze(2);
    };
    return at(end) - at(start);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("AlignmentScoreReward: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> RewardToGo(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma) {
  if (!(gamma >= 0.0 && gamma <= 1.0)) return absl::InvalidArgumentError(absl::StrCat("RewardToGo: gamma must be in [0, 1], got ", gamma));
  if (!rewards.defined() || rewards.dim() < 2 || !mask.defined() || mask.dim() != 2 ||
      rewards.size(-1) != mask.size(1) || rewards.size(-2) != mask.size(0)) {
    return absl::InvalidArgumentError("RewardToGo: rewards must be [..., B, N] with mask [B, N]");
  }
  try {
    torch::NoGradGuard no_grad;
    const int64_t N = mask.size(1);
    torch::Tensor r = rewards.detach() * mask.to(rewards.scalar_type());
    // D[k, n] = gamma^(k - n) for k >= n: G = r @ D. N is a sentence's length, so [N, N] is small.
    torch::Tensor idx = torch::arange(N, rewards.options().dtype(torch::kDouble));
    torch::Tensor lag = idx.unsqueeze(1) - idx.unsqueeze(0);  // [k, n] = k - n
    torch::Tensor discount = torch::where(lag >= 0, torch::pow(gamma, lag.clamp_min(0)), torch::zeros_like(lag));
    if (gamma == 0.0) discount = torch::eye(N, discount.options());  // pow(0, 0) = 1 only on the diagonal
    return torch::matmul(r, discount.to(r.scalar_type())) * mask.to(rewards.scalar_type());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("RewardToGo: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::rl
