#include "rl/categorical.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::rl {

absl::Status CategoricalOptions::Validate() const {
  if (!(temperature > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("CategoricalOptions.temperature must be > 0, got ", temperature));
  }
  if (min_duration < 0) {
    return absl::InvalidArgumentError(absl::StrCat("CategoricalOptions.min_duration must be >= 0, got ", min_duration));
  }
  return absl::OkStatus();
}

absl::StatusOr<CategoricalPolicy> CategoricalPolicy::Create(const torch::Tensor& logits, const torch::Tensor& mask,
                                                            const CategoricalOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  if (!logits.defined() || logits.dim() != 3 || !logits.is_floating_point()) {
    return absl::InvalidArgumentError("CategoricalPolicy: logits must be a floating-point [B, N, K] tensor");
  }
  if (logits.size(2) < 1) return absl::InvalidArgumentError("CategoricalPolicy: K must be >= 1");
  if (!mask.defined() || mask.dim() != 2 || mask.size(0) != logits.size(0) || mask.size(1) != logits.size(1)) {
    return absl::InvalidArgumentError("CategoricalPolicy: mask must be [B, N] matching logits [B, N, K]");
  }
  if (mask.device() != logits.device()) {
    return absl::InvalidArgumentError("CategoricalPolicy: logits and mask are on different devices");
  }
  try {
    torch::Tensor log_probs = torch::log_softmax(logits / options.temperature, /*dim=*/-1);
    return CategoricalPolicy(std::move(log_probs), mask.to(torch::kBool), options);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("CategoricalPolicy: ", e.what_without_backtrace()));
  }
}

SampledActions CategoricalPolicy::Sample(int64_t num_samples) const {
  torch::Tensor index;
  {
    torch::NoGradGuard no_grad;
    const auto lp = log_probs_.detach();
    auto sizes = lp.sizes().vec();
    sizes.insert(sizes.begin(), num_samples);
    // Gumbel-max: argmax(log p + G), G = -log(-log U), is an exact draw from the categorical.
    torch::Tensor u = torch::rand(sizes, lp.options()).clamp_(1e-20, 1.0);
    torch::Tensor gumbel = -torch::log(-torch::log(u));
    index = (lp.unsqueeze(0) + gumbel).argmax(/*dim=*/-1);  // [S, B, N]
  }
  SampledActions out;
  out.durations = torch::where(mask_.unsqueeze(0), index + options_.min_duration, torch::zeros_like(index));
  out.log_prob = LogProbUnchecked(out.durations);
  return out;
}

absl::StatusOr<torch::Tensor> CategoricalPolicy::LogProb(const torch::Tensor& durations) const {
  if (!durations.defined() || durations.dim() < 2 || durations.sizes().slice(durations.dim() - 2) != mask_.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat("CategoricalPolicy::LogProb: durations must be [..., B, N] with [B, N] = ",
                                                   c10::str(mask_.sizes())));
  }
  try {
    torch::Tensor d = durations.to(torch::kLong);
    torch::Tensor bad = mask_.expand(d.sizes()) &
                        ((d < options_.min_duration) | (d >= options_.min_duration + log_probs_.size(2)));
    if (bad.any().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat("CategoricalPolicy::LogProb: a duration at a real token is outside ",
                                                     options_.min_duration, "..",
                                                     options_.min_duration + log_probs_.size(2) - 1));
    }
    return LogProbUnchecked(d);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("CategoricalPolicy::LogProb: ", e.what_without_backtrace()));
  }
}

torch::Tensor CategoricalPolicy::LogProbUnchecked(const torch::Tensor& durations) const {
  const int64_t extra = durations.dim() - 2;  // leading sample dims
  torch::Tensor lp = log_probs_;
  torch::Tensor mask = mask_;
  for (int64_t i = 0; i < extra; ++i) {
    lp = lp.unsqueeze(0);
    mask = mask.unsqueeze(0);
  }
  auto lp_sizes = durations.sizes().vec();
  lp_sizes.push_back(log_probs_.size(2));
  lp = lp.expand(lp_sizes);
  mask = mask.expand(durations.sizes());
  // Padded positions may hold any value: point them at index 0 and zero them afterwards.
  torch::Tensor index = torch::where(mask, durations.to(torch::kLong) - options_.min_duration,
                                     torch::zeros_like(durations, torch::kLong));
  torch::Tensor picked = lp.gather(-1, index.unsqueeze(-1)).squeeze(-1);
  return picked * mask.to(picked.scalar_type());
}

torch::Tensor CategoricalPolicy::Entropy() const {
  torch::Tensor h = -(log_probs_.exp() * log_probs_).sum(-1);
  return h * mask_.to(h.scalar_type());
}

torch::Tensor CategoricalPolicy::Greedy() const {
  torch::Tensor index = log_probs_.detach().argmax(-1);
  return torch::where(mask_, index + options_.min_duration, torch::zeros_like(index));
}

torch::Tensor CategoricalPolicy::Expected() const {
  torch::Tensor values = torch::arange(options_.min_duration, options_.min_duration + log_probs_.size(2),
                                       log_probs_.options());
  torch::Tensor e = (log_probs_.exp() * values).sum(-1);
  return e * mask_.to(e.scalar_type());
}

}  // namespace lightspeech::rl
