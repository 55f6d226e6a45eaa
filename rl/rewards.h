#ifndef LIGHTSPEECH_RL_REWARDS_H_
#define LIGHTSPEECH_RL_REWARDS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::rl {

// Rewards computed from predicted and target mel spectrograms. All are returned detached (rewards
// are constants for the policy gradient). Masks are bool, true = real frame. Every function fails
// with InvalidArgument on inconsistent shapes and never throws.

// The prototype's reward, kept for comparison: for each utterance,
//   sum over the target's real frames t and bins c of 1 / (1 + (pred[t, c] - target[t, c])^2),
// comparing frame t with frame t although the lengths differ (pred is cut or zero-padded to the
// target's length; pred frames beyond pred_mask count as zeros). Mostly measures misalignment.
// pred [B, Tp, C], pred_mask [B, Tp], target [B, Tt, C], target_mask [B, Tt] -> [B].
absl::StatusOr<torch::Tensor> PrototypeReward(const torch::Tensor& pred, const torch::Tensor& pred_mask,
                                              const torch::Tensor& target, const torch::Tensor& target_mask);

enum class ErrorKind { kMse, kL1 };

// Negative mean error on length-matched output (durations fitted to the target length, or a
// DTW-warped prediction): -mean over real frames and bins of (pred - target)^2 (kMse) or
// |pred - target| (kL1). pred and target [B, T, C] must have the same T; frame_mask [B, T] -> [B].
// An utterance with no real frame gets 0.
absl::StatusOr<torch::Tensor> NegativeErrorReward(const torch::Tensor& pred, const torch::Tensor& target,
                                                  const torch::Tensor& frame_mask, ErrorKind kind = ErrorKind::kMse);

struct PerTokenRewardOptions {
  ErrorKind kind = ErrorKind::kMse;
  // true: a token's reward is minus the mean error of the frames it produced (a token that produced
  // no frame gets 0); false: minus the sum, so rewards add up to the utterance's total.
  bool mean_over_frames = true;
};

// Per-token credit: each token is rewarded with minus the error of the frames it produced.
// pred, target [B, T, C]; frame_to_token [B, T] int64 (the token each frame was expanded from, as
// the length regulator returns it); frame_mask [B, T]; num_tokens N -> [B, N].
absl::StatusOr<torch::Tensor> PerTokenReward(const torch::Tensor& pred, const torch::Tensor& target,
                                             const torch::Tensor& frame_to_token, const torch::Tensor& frame_mask,
                                             int64_t num_tokens, const PerTokenRewardOptions& options = {});

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_REWARDS_H_
