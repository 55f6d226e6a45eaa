#include "rl/baselines.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::rl {
namespace {

absl::StatusOr<torch::Tensor> MaskOrOnes(const torch::Tensor& rewards, const torch::Tensor& mask) {
  if (!rewards.defined() || !rewards.is_floating_point()) {
    return absl::InvalidArgumentError("rewards must be a floating-point tensor");
  }
  if (!mask.defined()) return torch::ones_like(rewards);
  if (mask.sizes() != rewards.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("mask shape ", c10::str(mask.sizes()),
                                                   " differs from rewards shape ", c10::str(rewards.sizes())));
  }
  return mask.to(rewards.scalar_type());
}

}  // namespace

absl::StatusOr<torch::Tensor> BatchNormalizedAdvantage(const torch::Tensor& rewards, const torch::Tensor& mask,
                                                       double eps, const ReduceFn& reduce) {
  LS_ASSIGN_OR_RETURN(torch::Tensor m, MaskOrOnes(rewards, mask));
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor r = rewards.detach();
    torch::Tensor stats = torch::stack({m.sum(), (r * m).sum(), (r.square() * m).sum()}).to(torch::kDouble);
    if (reduce) reduce(stats);
    torch::Tensor count = stats[0].clamp_min(1.0);
    torch::Tensor mean = stats[1] / count;
    torch::Tensor var = (stats[2] / count - mean.square()).clamp_min(0.0);
    torch::Tensor adv = (r - mean.to(r.scalar_type())) / (var.sqrt().to(r.scalar_type()) + eps);
    return adv * m;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("BatchNormalizedAdvantage: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> MovingAverageBaseline::Advantage(const torch::Tensor& rewards, const torch::Tensor& mask,
                                                               const ReduceFn& reduce) {
  if (!(decay_ >= 0.0 && decay_ < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("MovingAverageBaseline: decay must be in [0, 1), got ", decay_));
  }
  LS_ASSIGN_OR_RETURN(torch::Tensor m, MaskOrOnes(rewards, mask));
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor r = rewards.detach();
    torch::Tensor stats = torch::stack({m.sum(), (r * m).sum()}).to(torch::kDouble);
    if (reduce) reduce(stats);
    torch::Tensor batch_mean = stats[1] / stats[0].clamp_min(1.0);
    if (!value_.defined()) value_ = batch_mean;
    torch::Tensor adv = (r - value_.to(r.scalar_type())) * m;
    value_ = decay_ * value_ + (1.0 - decay_) * batch_mean;
    return adv;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MovingAverageBaseline: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> SelfCriticalAdvantage(const torch::Tensor& sample_rewards,
                                                    const torch::Tensor& greedy_rewards) {
  if (!sample_rewards.defined() || !greedy_rewards.defined() || sample_rewards.dim() != greedy_rewards.dim() + 1 ||
      sample_rewards.sizes().slice(1) != greedy_rewards.sizes()) {
    return absl::InvalidArgumentError("SelfCriticalAdvantage: sample_rewards must be [S, ...] with greedy_rewards [...]");
  }
  try {
    return (sample_rewards - greedy_rewards.unsqueeze(0)).detach();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SelfCriticalAdvantage: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> LeaveOneOutAdvantage(const torch::Tensor& rewards) {
  if (!rewards.defined() || rewards.dim() < 1 || rewards.size(0) < 2) {
    return absl::InvalidArgumentError("LeaveOneOutAdvantage: needs rewards [S, ...] with S >= 2 samples");
  }
  try {
    torch::NoGradGuard no_grad;
    const double s = static_cast<double>(rewards.size(0));
    torch::Tensor r = rewards.detach();
    torch::Tensor others_mean = (r.sum(0, /*keepdim=*/true) - r) / (s - 1.0);
    return r - others_mean;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("LeaveOneOutAdvantage: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::rl
