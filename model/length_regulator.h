#ifndef LIGHTSPEECH_MODEL_LENGTH_REGULATOR_H_
#define LIGHTSPEECH_MODEL_LENGTH_REGULATOR_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::model {

// The result of expanding token encodings by integer durations.
struct Expanded {
  torch::Tensor frames;          // [B, T, C]: frame t of utterance b is encodings[b, frame_to_token[b, t]]; 0 at padding.
  torch::Tensor frame_mask;      // [B, T] bool, true = real frame.
  torch::Tensor frame_to_token;  // [B, T] int64, the token each frame came from (0 at padding).
  torch::Tensor durations;       // [B, N] int64, the durations actually used (after speed/fitting; 0 at padding).
  torch::Tensor lengths;         // [B] int64, number of real frames per utterance.
};

struct LengthRegulatorOptions {
  // Durations are divided by this before rounding (2.0 speaks twice as fast); > 0.
  double speed = 1.0;
  // When speed != 1, real tokens keep at least this many frames (0 lets fast speech drop tokens).
  int64_t min_frames_per_token = 1;

  absl::Status Validate() const;
};

// Scales durations so that each utterance's total equals target_lengths[b], by rounding the scaled
// cumulative sums (so rounding error never accumulates and totals are exact). Vectorized; a token
// may get 0 frames when the target is shorter than the number of tokens.
// durations [B, N] (int or float, >= 0), token_mask [B, N] bool, target_lengths [B] int64 -> [B, N] int64.
// An utterance whose durations sum to 0 gets its frames spread evenly over its real tokens.
absl::StatusOr<torch::Tensor> FitDurations(const torch::Tensor& durations, const torch::Tensor& token_mask,
                                           const torch::Tensor& target_lengths);

// Expands token encodings by integer durations, vectorized on the encodings' device: one
// cumulative sum and a searchsorted over frames; no per-token host loop and no .item() per token
// (two host reads per batch: the check for negative durations, and the longest total to size the
// output unless max_frames is given). The speed factor applies before fitting, so together with
// target_lengths it only changes what is rounded, not the totals.
// encodings [B, N, C], durations [B, N] (int64, >= 0), token_mask [B, N] bool.
// target_lengths [B] int64 (optional): fit durations to these totals first (training against a known mel).
// max_frames (optional, > 0): output T; frames beyond it are cut (their mask is false).
// Differentiable with respect to the encodings. Fails (InvalidArgument) on inconsistent shapes,
// negative durations, or invalid options.
absl::StatusOr<Expanded> RegulateLength(const torch::Tensor& encodings, const torch::Tensor& durations,
                                        const torch::Tensor& token_mask, const LengthRegulatorOptions& options = {},
                                        const torch::Tensor& target_lengths = {}, int64_t max_frames = 0);

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_LENGTH_REGULATOR_H_
