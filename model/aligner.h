#ifndef LIGHTSPEECH_MODEL_ALIGNER_H_
#define LIGHTSPEECH_MODEL_ALIGNER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::model {

// The teacher-free reference aligner (as in RAD-TTS / FastPitch 1.1): a text encoder and a mel
// encoder, a soft alignment from their squared distances plus a beta-binomial prior, trained with
// the forward-sum (CTC) loss; monotonic alignment search (MAS) turns it into integer durations.

struct AlignerOptions {
  int64_t vocab_size = 0;
  int64_t n_mels = 80;
  int64_t channels = 256;       // hidden width of both encoders
  int64_t attention_dim = 80;   // space in which distances are taken
  int64_t key_kernel = 3;       // odd: tokens the text side's first convolution spans (1: each token alone)
  double temperature = 0.0005;  // scores = -temperature * |q_t - k_n|^2
  double prior_scaling = 1.0;   // beta-binomial prior: alpha = s * (t + 1), beta = s * (T - t)
  bool use_prior = true;
  // Standardize each utterance's mel (one mean and one standard deviation over its real frames and
  // bins) before the mel encoder. Raw log-mel of recorded speech (mean about -5.5, sd 2.9 on
  // festvox-ru) keeps the forward-sum loss from ever leaving its plateau (docs/RESULTS.md, round 9).
  bool normalize_mel = false;

  absl::Status Validate() const;
};

struct AlignerOutput {
  // log of the soft alignment (each frame's distribution over tokens, times the prior when used,
  // renormalized): [B, T, N]; -inf at padded tokens, 0 at padded frames.
  torch::Tensor log_attention;
};

// The constructor throws c10::Error on invalid options (AcousticModel::Create validates first).
class AlignerImpl : public torch::nn::Module {
 public:
  explicit AlignerImpl(const AlignerOptions& options);
  // tokens [B, N] int64, text_lengths [B], mel [B, T, M], mel_lengths [B] (int64, on the tensors' device).
  AlignerOutput forward(const torch::Tensor& tokens, const torch::Tensor& text_lengths, const torch::Tensor& mel,
                        const torch::Tensor& mel_lengths);
  const AlignerOptions& options() const { return options_; }

 private:
  AlignerOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Conv1d key1_{nullptr}, key2_{nullptr};
  torch::nn::Conv1d query1_{nullptr}, query2_{nullptr}, query3_{nullptr};
};
TORCH_MODULE(Aligner);

// log of the beta-binomial alignment prior [B, T, N]: for an utterance of N_b tokens and T_b frames,
// frame t's prior over tokens is BetaBinomial(N_b - 1, s (t + 1), s (T_b - t)), vectorized with
// lgamma. -inf at padded tokens, 0 at padded frames. lengths [B] int64.
torch::Tensor LogBetaBinomialPrior(const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths, int64_t max_tokens,
                                   int64_t max_frames, double scaling, const torch::TensorOptions& options);

// The forward-sum loss: -log of the total probability of all monotonic alignments in which every
// token gets >= 1 frame, computed with LibTorch's ctc_loss (a blank with log-probability
// blank_logprob is prepended to the token axis and renormalized), divided by the text length and
// averaged over the batch. log_attention [B, T, N]. Fails (InvalidArgument) on inconsistent shapes;
// infinite per-utterance losses (T_b < N_b) are zeroed (zero_infinity) rather than propagated.
absl::StatusOr<torch::Tensor> ForwardSumLoss(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                                             const torch::Tensor& mel_lengths, double blank_logprob = -1.0);

// The binarization loss (Badlani et al. 2021, "One TTS Alignment To Rule Them All"): minus the mean,
// over each utterance's real frames, of log_attention [B, T, N] at the token a hard alignment gives
// the frame, averaged over the batch. It pulls the soft alignment towards the hard one the model
// trains with. durations [B, N] int64 are that alignment (frames per token, summing to each
// utterance's frame count; 0 at padding). Differentiable in log_attention. Fails (InvalidArgument,
// naming the first bad utterance) on inconsistent shapes or durations that are negative, give frames
// to padded tokens or do not sum to mel_lengths.
absl::StatusOr<torch::Tensor> BinarizationLoss(const torch::Tensor& log_attention, const torch::Tensor& durations,
                                               const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths);

enum class MasBackend {
  kAuto,       // host loops on CPU tensors, tensor operations on other devices
  kHost,       // dynamic programming on the host (copies to the CPU if needed)
  kTensorOps,  // a loop over frames of batched tensor operations, on the tensors' device
};

// Monotonic alignment search: the most probable monotonic path in which token n is followed by
// n or n + 1 from frame to frame, starting at (0, 0) and ending at (T_b - 1, N_b - 1), maximizing
// the summed log_attention [B, T, N]. Returns durations [B, N] int64 (frames per token, >= 1 at
// real tokens, summing to T_b; 0 at padding) on the input's device. Fails (InvalidArgument) on
// inconsistent shapes or an utterance with fewer frames than tokens or with no token.
absl::StatusOr<torch::Tensor> MonotonicAlignmentSearch(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                                                       const torch::Tensor& mel_lengths, MasBackend backend = MasBackend::kAuto);

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_ALIGNER_H_
