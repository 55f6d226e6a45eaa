#ifndef LIGHTSPEECH_RL_BASELINES_H_
#define LIGHTSPEECH_RL_BASELINES_H_

#include <functional>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::rl {

// Sums a small float tensor in place across processes (an all-reduce with SUM); used for statistics
// that span the batch, so that distributed training normalizes over the global batch. Empty: one
// process. The tensors passed are [3] = (count, sum, sum of squares) or [2] = (count, sum).
using ReduceFn = std::function<void(torch::Tensor&)>;

// Advantages as the prototype computed them: (R - mean) / (std + eps) over every real entry of
// `rewards` (any shape; mask of the same shape, bool, or undefined = all real). The std is the
// population std. Masked entries get 0. Fails (InvalidArgument) on a mask of another shape.
absl::StatusOr<torch::Tensor> BatchNormalizedAdvantage(const torch::Tensor& rewards, const torch::Tensor& mask = {},
                                                       double eps = 1e-5, const ReduceFn& reduce = nullptr);

// An exponential moving average of the mean reward: advantage = R - b, with b the average before
// this batch (the first batch uses its own mean); then b <- decay * b + (1 - decay) * batch mean.
// The state stays on the rewards' device (no host synchronization).
class MovingAverageBaseline {
 public:
  // decay in [0, 1); the caller validates it (Create-style checking lives in Advantage's Status).
  explicit MovingAverageBaseline(double decay = 0.9) : decay_(decay) {}

  // Returns R - b [same shape as rewards], 0 where masked, and updates b. Fails on a bad decay or a
  // mask of another shape.
  absl::StatusOr<torch::Tensor> Advantage(const torch::Tensor& rewards, const torch::Tensor& mask = {},
                                          const ReduceFn& reduce = nullptr);

  // The current baseline (a 0-dim tensor), undefined before the first batch.
  const torch::Tensor& value() const { return value_; }
  // Restores a value saved from value() (e.g. from a checkpoint), so a resumed run continues with
  // the same baseline; an undefined tensor resets to "before the first batch".
  void set_value(const torch::Tensor& value) { value_ = value.defined() ? value.detach().clone() : torch::Tensor(); }

 private:
  double decay_;
  torch::Tensor value_;
};

// Self-critical baseline (the reward of the greedy rollout): sample_rewards [S, B, ...] minus
// greedy_rewards [B, ...]. Fails when the trailing shapes differ.
absl::StatusOr<torch::Tensor> SelfCriticalAdvantage(const torch::Tensor& sample_rewards,
                                                    const torch::Tensor& greedy_rewards);

// Leave-one-out over S >= 2 samples of the same input: rewards [S, B, ...] ->
// r_s - mean_{j != s} r_j. Unbiased (the baseline does not depend on sample s). Fails for S < 2.
absl::StatusOr<torch::Tensor> LeaveOneOutAdvantage(const torch::Tensor& rewards);

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_BASELINES_H_
