#include "rl/reinforce.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::rl {

absl::Status ReinforceOptions::Validate() const {
  if (!(entropy_coef >= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("ReinforceOptions.entropy_coef must be >= 0, got ", entropy_coef));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReinforceLossTerms> ReinforceLoss(const torch::Tensor& log_prob, const torch::Tensor& advantages,
                                                 const torch::Tensor& mask, const torch::Tensor& entropy,
                                                 const ReinforceOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  if (!mask.defined() || mask.dim() != 2) return absl::InvalidArgumentError("ReinforceLoss: mask must be [B, N]");
  if (!log_prob.defined() || (log_prob.dim() != 2 && log_prob.dim() != 3) ||
      log_prob.sizes().slice(log_prob.dim() - 2) != mask.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("ReinforceLoss: log_prob must be [S, B, N] or [B, N] with mask [B, N], got ",
                                                   log_prob.defined() ? c10::str(log_prob.sizes()) : "undefined",
                                                   " and ", c10::str(mask.sizes())));
  }
  if (!advantages.defined()) return absl::InvalidArgumentError("ReinforceLoss: advantages undefined");
  const bool per_token = advantages.sizes() == log_prob.sizes();
  const bool per_sequence = advantages.dim() == log_prob.dim() - 1 &&
                            advantages.sizes() == log_prob.sizes().slice(0, log_prob.dim() - 1);
  if (!per_token && !per_sequence) {
    return absl::InvalidArgumentError(absl::StrCat("ReinforceLoss: advantages ", c10::str(advantages.sizes()),
                                                   " match neither log_prob ", c10::str(log_prob.sizes()),
                                                   " nor its shape without N"));
  }
  if (entropy.defined() && entropy.sizes() != mask.sizes()) {
    return absl::InvalidArgumentError("ReinforceLoss: entropy must be [B, N] like mask");
  }
  try {
    torch::Tensor m = mask.to(log_prob.scalar_type());
    torch::Tensor adv = advantages.detach().to(log_prob.scalar_type());
    if (per_sequence) adv = adv.unsqueeze(-1);
    const double samples = log_prob.dim() == 3 ? static_cast<double>(log_prob.size(0)) : 1.0;
    torch::Tensor normalizer = options.normalization == ReinforceOptions::Normalization::kPerToken
                                   ? m.sum().clamp_min(1.0) * samples
                                   : torch::full({}, samples * mask.size(0), m.options());
    ReinforceLossTerms out;
    out.policy_loss = -(adv * log_prob * m).sum() / normalizer;
    if (entropy.defined()) {
      out.entropy = (entropy * m).sum() / m.sum().clamp_min(1.0);
      out.loss = out.policy_loss - options.entropy_coef * out.entropy;
    } else {
      out.entropy = torch::zeros({}, m.options());
      out.loss = out.policy_loss;
    }
    return out;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("ReinforceLoss: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::rl
