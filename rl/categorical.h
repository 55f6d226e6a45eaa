#ifndef LIGHTSPEECH_RL_CATEGORICAL_H_
#define LIGHTSPEECH_RL_CATEGORICAL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::rl {

// Options of a per-token categorical policy over durations.
struct CategoricalOptions {
  // Logits are divided by this before the softmax; > 0. Below 1 sharpens, above 1 flattens.
  double temperature = 1.0;
  // Action index k stands for duration k + min_duration (the prototype: durations 1..K).
  int64_t min_duration = 1;

  // OK, or InvalidArgument naming the bad field.
  absl::Status Validate() const;
};

// Actions drawn from a policy together with their log-probability under it. The log-probability is
// computed from exactly these actions (the prototype reinforced the log-probability of an independent
// second sample, which carries no signal); it is differentiable with respect to the logits.
struct SampledActions {
  torch::Tensor durations;  // [S, B, N] int64; 0 at padded tokens.
  torch::Tensor log_prob;   // [S, B, N] float; 0 at padded tokens.
};

// A batch of independent categoricals, one per token: logits [B, N, K] over durations
// min_duration..min_duration+K-1, and a token mask [B, N] (bool, true = real token). Every
// per-token output is zero at padded tokens, so sums over tokens need no further masking.
// Works on any device; sampling uses the global (or given) torch generator of the logits' device.
class CategoricalPolicy {
 public:
  // Fails (InvalidArgument) if the logits are not 3-D floating point, the mask's shape is not
  // [B, N], they are on different devices, or the options are invalid.
  static absl::StatusOr<CategoricalPolicy> Create(const torch::Tensor& logits, const torch::Tensor& mask,
                                                  const CategoricalOptions& options = {});

  // Draws `num_samples` joint actions (Gumbel-max, vectorized over samples, batch and tokens).
  // Durations are detached; log_prob keeps the graph to the logits.
  SampledActions Sample(int64_t num_samples = 1) const;

  // Log-probability [..., B, N] of given durations [..., B, N] (any leading sample dims); 0 where
  // masked. Fails (InvalidArgument) on a shape that does not end in [B, N], or a duration outside
  // min_duration..min_duration+K-1 at a real token (one host synchronization for that check).
  absl::StatusOr<torch::Tensor> LogProb(const torch::Tensor& durations) const;

  // Entropy per token [B, N] (nats), 0 where masked; differentiable.
  torch::Tensor Entropy() const;

  // Most probable duration per token [B, N] int64, 0 where masked.
  torch::Tensor Greedy() const;

  // Expected duration per token [B, N] float (differentiable), 0 where masked.
  torch::Tensor Expected() const;

  const torch::Tensor& log_probs() const { return log_probs_; }  // [B, N, K], tempered.
  const torch::Tensor& mask() const { return mask_; }            // [B, N] bool.
  int64_t num_durations() const { return log_probs_.size(2); }
  int64_t min_duration() const { return options_.min_duration; }

 private:
  CategoricalPolicy(torch::Tensor log_probs, torch::Tensor mask, CategoricalOptions options)
      : log_probs_(std::move(log_probs)), mask_(std::move(mask)), options_(options) {}
  torch::Tensor LogProbUnchecked(const torch::Tensor& durations) const;

  torch::Tensor log_probs_;
  torch::Tensor mask_;
  CategoricalOptions options_;
};

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_CATEGORICAL_H_
