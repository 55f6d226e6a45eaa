#ifndef LIGHTSPEECH_RL_REINFORCE_H_
#define LIGHTSPEECH_RL_REINFORCE_H_

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::rl {

struct ReinforceOptions {
  // Weight of the entropy bonus (the loss subtracts coef * mean token entropy); >= 0.
  double entropy_coef = 0.0;
  // How the summed policy term is normalized.
  enum class Normalization {
    kPerToken,     // divided by S * (number of real tokens)
    kPerSequence,  // divided by S * B
  };
  Normalization normalization = Normalization::kPerToken;

  absl::Status Validate() const;
};

struct ReinforceLossTerms {
  torch::Tensor loss;         // 0-dim: policy_loss - entropy_coef * entropy; back-propagate this.
  torch::Tensor policy_loss;  // 0-dim: -sum(A * log pi(a)) / normalizer.
  torch::Tensor entropy;      // 0-dim: mean entropy over real tokens (0 if no entropy was given).
};

// REINFORCE with an entropy bonus, masked and batched.
// log_prob [S, B, N] (or [B, N]): log pi of the actions actually taken (CategoricalPolicy::Sample);
// advantages: per token, same shape as log_prob, or per sequence, log_prob's shape without N
// ([S, B] or [B]), then shared by all tokens of the sequence; they are detached here.
// mask [B, N] bool (true = real token). entropy [B, N] (CategoricalPolicy::Entropy) or undefined.
// Fails (InvalidArgument) on inconsistent shapes or options.
absl::StatusOr<ReinforceLossTerms> ReinforceLoss(const torch::Tensor& log_prob, const torch::Tensor& advantages,
                                                 const torch::Tensor& mask, const torch::Tensor& entropy = {},
                                                 const ReinforceOptions& options = {});

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_REINFORCE_H_
