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


// Dense per-token credit from a learned text-mel similarity (issue 11): for each alignment (integer
// durations that sum to the utterance's frame count), token n is rewarded with the summed score of
// the frames it covers, sum over t in [start_n, end_n) of score[b, t, n]. With score = the forward-sum
// aligner's log-attention the per-token rewards add up to the log-score of the whole monotonic path,
// which is what monotonic alignment search maximizes exactly; here a policy learns to maximize it
// from samples. score [B, T, N] (finite at real frames and tokens; padded entries are never read);
// durations [R, B, N] int64 (R rollouts of the batch, >= 0, 0 at padded tokens, each row summing
// to at most T) -> [R, B, N] float, 0 at tokens with no frame. One cumulative sum over frames and two
// gathers; no host loop.
absl::StatusOr<torch::Tensor> AlignmentScoreReward(const torch::Tensor& score, const torch::Tensor& durations);

// Discounted reward-to-go over the token axis: G[..., n] = sum over k >= n of gamma^(k - n) r[..., k]
// (real tokens only; mask [B, N] bool broadcast over leading axes; padded entries give and get 0).
// gamma = 0 keeps each token's own reward; gamma = 1 credits a duration with every later token's
// reward (the unbiased REINFORCE credit, since a duration moves every later boundary).
// rewards [..., B, N] -> same shape. Fails for gamma outside [0, 1] or a mask of another shape.
absl::StatusOr<torch::Tensor> RewardToGo(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma);

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_REWARDS_H_
