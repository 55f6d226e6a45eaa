#ifndef LIGHTSPEECH_RL_MONOTONIC_H_
#define LIGHTSPEECH_RL_MONOTONIC_H_

// Alignment as a sequence of monotonic per-frame decisions (issue 11): the policy walks through the
// mel frames and, at each frame after the first, either stays on the current token or advances to
// the next one. An utterance of N tokens and T >= N frames starts on token 0 at frame 0 and must end
// on token N - 1 at frame T - 1 with every token covering >= 1 frame, so a decision is forced (not
// the policy's) when staying would leave too few frames for the remaining tokens or when the last
// token is reached. Each frame's decision gets its own reward, so credit is local.
//
// advance_logits [B, T, N]: the logit of advancing from token n to n + 1 when frame t is assigned
// (entries at n >= N_b - 1, t >= T_b and t = 0 are never read).

#include <cstdint>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::rl {

struct MonotonicPaths {
  torch::Tensor durations;   // [S, B, N] int64: frames per token (>= 1 at real tokens, summing to T_b)
  torch::Tensor token;       // [S, B, T] int64: the token each frame is assigned to (0 at padded frames)
  torch::Tensor prev_token;  // [S, B, T] int64: the token before frame t's decision (0 at t = 0 and padding)
  torch::Tensor advanced;    // [S, B, T] bool: frame t's decision was to advance
  torch::Tensor free;        // [S, B, T] bool: frame t's decision was the policy's (t >= 1, real, not forced)
};

// Samples S paths per utterance on the host: at a free decision the walk advances when
// uniforms[s, b, t] < sigmoid(advance_logits[b, prev, t]). uniforms [S, B, T] in (0, 1) are supplied
// by the caller (its random streams); a tensor filled with 0.5 gives the greedy path (advance when
// the probability exceeds one half). token_lengths, frame_lengths [B] int64. Gradients are not
// tracked (see MonotonicLogProb). Fails (InvalidArgument) on inconsistent shapes, an utterance with
// no token or with fewer frames than tokens, or lengths beyond the tensors.
absl::StatusOr<MonotonicPaths> SampleMonotonicPaths(const torch::Tensor& advance_logits, const torch::Tensor& token_lengths,
                                                    const torch::Tensor& frame_lengths, const torch::Tensor& uniforms);

// log pi of each free decision of `paths` [S, B, T] (0 elsewhere), differentiable with respect to
// advance_logits [B, T, N].
absl::StatusOr<torch::Tensor> MonotonicLogProb(const torch::Tensor& advance_logits, const MonotonicPaths& paths);

// The Bernoulli entropy (nats) of the decision distribution at each free decision of `paths`
// [S, B, T] (0 elsewhere), differentiable.
absl::StatusOr<torch::Tensor> MonotonicEntropy(const torch::Tensor& advance_logits, const MonotonicPaths& paths);

// The soft value-to-go of each walk state under a per-frame score [B, T, N] (e.g. the forward-sum
// aligner's log-attention): Q(t, n) = log of the sum, over every monotonic continuation that puts
// frame t on token n and ends on token N_b - 1 at frame T_b - 1, of exp(the summed score of its
// frames t..T_b - 1). It is the exact soft (maximum-entropy) value of the walk for the ALIGNMENT_SCORE
// reward undiscounted, found by a backward dynamic program on the host in O(T_b N_b) per utterance,
// so Q(t, n + 1) - Q(t, n) is the soft advantage of advancing at frame t from token n: a model-based
// critic that sees the whole rest of the utterance, pauses included. -> [B, T, N] float, -inf where
// no continuation exists (too few frames left for the tokens left) and at padding. token_lengths,
// frame_lengths [B]. Fails (InvalidArgument) as SampleMonotonicPaths on inconsistent shapes or lengths.
absl::StatusOr<torch::Tensor> SoftValueToGo(const torch::Tensor& score, const torch::Tensor& token_lengths,
                                            const torch::Tensor& frame_lengths);

// Dense per-frame reward from a text-mel similarity: score[b, t, token[s, b, t]] at real frames
// (frame_mask [B, T] bool), 0 elsewhere. score [B, T, N] (e.g. the forward-sum aligner's
// log-attention), token [S, B, T] int64 -> [S, B, T] float, detached.
absl::StatusOr<torch::Tensor> FrameScoreReward(const torch::Tensor& score, const torch::Tensor& token,
                                               const torch::Tensor& frame_mask);

}  // namespace lightspeech::rl

#endif  // LIGHTSPEECH_RL_MONOTONIC_H_
