#ifndef LIGHTSPEECH_MODEL_DURATION_H_
#define LIGHTSPEECH_MODEL_DURATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "torch/torch.h"

namespace lightspeech::model {

struct DurationPolicyOptions {
  int64_t input_dim = 512;     // token encoding width
  int64_t hidden_dim = 512;    // the prototype's head: linear 512 -> ReLU -> linear K
  int64_t max_duration = 24;   // K: logits over durations 1..K frames
  // Observe the target mel during training: each token attends over the mel frames, so an actor can
  // follow the utterance's own timing (text-only actors cannot).
  bool observe_mel = false;
  int64_t n_mels = 80;
  int64_t attention_dim = 128;
  // Width (in normalized position units) of a Gaussian diagonal prior added to the attention
  // scores, -(t/T - n/N)^2 / (2 sigma^2); 0 disables it.
  double diagonal_sigma = 0.2;
  // Also build the per-frame head (AdvanceLogits): alignment as monotonic stay/advance decisions
  // over the mel frames (rl/monotonic.h), scored by its own text-mel similarity.
  bool per_frame = false;
  // The trainer passes the aligner's log-attention to AdvanceLogits (set from the training config, so
  // that evaluation builds the same input).
  bool observe_alignment_score = false;
  // Initial value of v, the weight of that observed score in the advance logit (AdvanceLogits).
  double alignment_score_weight_init = 0.0;
  // The observed score is a value-to-go (rl::SoftValueToGo of the log-attention, set from the
  // training config like observe_alignment_score): it is used unclamped, and its gains are limited to
  // +-50 (0 where it is -inf, i.e. where the walk's decision is forced).
  bool observe_value_to_go = false;

  absl::Status Validate() const;
};

// The actor: per-token logits over durations 1..K (categorical policy head, rl::CategoricalPolicy
// turns them into samples and log-probabilities). The constructor throws c10::Error on invalid
// options (AcousticModel::Create validates first).
class DurationPolicyImpl : public torch::nn::Module {
 public:
  explicit DurationPolicyImpl(const DurationPolicyOptions& options);
  // encodings [B, N, C], token_mask [B, N] bool; when observe_mel: mel [B, T, M] and mel_mask [B, T]
  // (required; without them the attention context is zero). -> logits [B, N, K].
  torch::Tensor forward(const torch::Tensor& encodings, const torch::Tensor& token_mask, const torch::Tensor& mel = {},
                        const torch::Tensor& mel_mask = {});
  // The per-frame head (options.per_frame): the logit of advancing from token n to n + 1 at frame t,
  //   sim(t, n + 1) - sim(t, n) + w * lag(t, n) + bias,
  // where sim is a scaled dot product of projected token encodings and projected mel frames, and
  // lag(t, n) = (t + 0.5) N_b / T_b - (n + 0.5) is how many tokens the walk is behind the diagonal
  // (the walk's state is (t, n); w starts at 1 and is learned). [B, T, N]; column N - 1 has no next
  // token (sim terms 0). encodings [B, N, C], token_mask [B, N], mel [B, T, M], mel_mask [B, T].
  // similarity [B, T, N] (optional, not differentiated): a text-mel score such as the forward-sum
  // aligner's log-attention; when given, v * (similarity(t, n + 1) - similarity(t, n)) is added,
  // with v learned from options.alignment_score_weight_init (the actor observes the mel through that feature extractor).
  // With options.observe_value_to_go the similarity is a value-to-go and v times its gain is added.
  torch::Tensor AdvanceLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask, const torch::Tensor& mel,
                              const torch::Tensor& mel_mask, const torch::Tensor& similarity = {});
  const DurationPolicyOptions& options() const { return options_; }

 private:
  DurationPolicyOptions options_;
  torch::nn::Linear frame_query_{nullptr}, frame_mel_in_{nullptr}, frame_mel_key_{nullptr};
  torch::Tensor frame_bias_, frame_lag_weight_, frame_similarity_weight_;  // the last: [1]
  torch::nn::Linear hidden_{nullptr}, out_{nullptr};
  torch::nn::Linear query_{nullptr}, mel_in_{nullptr}, mel_key_{nullptr}, context_{nullptr};
};
TORCH_MODULE(DurationPolicy);

struct DurationPredictorOptions {
  int64_t input_dim = 512;
  int64_t hidden_dim = 256;
  int64_t kernel_size = 3;  // odd
  double dropout = 0.1;

  absl::Status Validate() const;
};

// Text-only regression of log(1 + duration) per token (FastSpeech / FastPitch), used at inference
// when training durations come from MAS or from an audio-observing actor: two Conv1d + ReLU +
// LayerNorm + dropout layers and a linear output. Throws c10::Error on invalid options.
class DurationPredictorImpl : public torch::nn::Module {
 public:
  explicit DurationPredictorImpl(const DurationPredictorOptions& options);
  // encodings [B, N, C], token_mask [B, N] -> predicted log(1 + d) [B, N], 0 at padding.
  torch::Tensor forward(const torch::Tensor& encodings, const torch::Tensor& token_mask);

 private:
  torch::nn::Conv1d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear out_{nullptr};
  double dropout_;
};
TORCH_MODULE(DurationPredictor);

// Masked mean squared error between predicted log(1 + d) [B, N] and target durations [B, N].
torch::Tensor DurationLoss(const torch::Tensor& log_pred, const torch::Tensor& durations, const torch::Tensor& token_mask);

// Integer durations [B, N] from predicted log(1 + d): round(exp(p) - 1), at least 1 at real tokens,
// 0 at padding.
torch::Tensor PredictedDurations(const torch::Tensor& log_pred, const torch::Tensor& token_mask);

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_DURATION_H_
