#ifndef LIGHTSPEECH_MODEL_ACOUSTIC_MODEL_H_
#define LIGHTSPEECH_MODEL_ACOUSTIC_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/aligner.h"
#include "model/decoder.h"
#include "model/duration.h"
#include "model/encoder.h"
#include "model/length_regulator.h"
#include "torch/torch.h"

namespace lightspeech::model {

// Everything the acoustic model is built from. Start from Prototype() or Light() and adjust.
struct AcousticModelOptions {
  EncoderOptions encoder;
  DurationPolicyOptions policy;
  bool use_predictor = true;  // text-only duration predictor for inference
  DurationPredictorOptions predictor;
  DecoderOptions decoder;
  bool use_aligner = false;   // the forward-sum + MAS reference aligner
  AlignerOptions aligner;

  // The idea author's configuration: embedding 512 -> BiGRU 256 x 2 -> linear 512; policy head
  // linear 512 -> ReLU -> linear K; decoder 2-layer BiGRU 256 x 2 -> linear n_mels.
  static AcousticModelOptions Prototype(int64_t vocab_size, int64_t max_duration = 24, int64_t n_mels = 80);
  // LightSpeech-like: separable-convolution encoder and decoder of width 256, < 2M parameters in all
  // (aligner included).
  static AcousticModelOptions Light(int64_t vocab_size, int64_t max_duration = 24, int64_t n_mels = 80);

  // Each part's Validate(), then consistency: encoder.output_dim == policy.input_dim ==
  // predictor.input_dim == decoder.input_dim; equal vocab sizes and n_mels across parts.
  absl::Status Validate() const;
};

// What decoding produced.
struct Synthesis {
  DecoderOutput mel;  // mel [B, T, M] (and after the postnet)
  Expanded expanded;  // the length-regulated frames, masks, frame -> token map, durations used
};

// Text -> token encodings -> (actor logits | predicted durations) -> length regulation -> mel.
// Padding masks are bool [B, N] / [B, T] with true = real; every utterance needs >= 1 token.
class AcousticModelImpl : public torch::nn::Module {
 public:
  // Throws c10::Error on invalid options; use AcousticModel::Create instead.
  explicit AcousticModelImpl(const AcousticModelOptions& options);

  // tokens [B, N] int64, token_mask [B, N] -> encodings [B, N, C], zero at padding.
  torch::Tensor Encode(const torch::Tensor& tokens, const torch::Tensor& token_mask);
  // The actor's logits [B, N, K] over durations 1..K; mel [B, T, M] + mel_mask when the policy
  // observes the mel (ignored otherwise).
  torch::Tensor PolicyLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask, const torch::Tensor& mel = {},
                             const torch::Tensor& mel_mask = {});
  // The per-frame head's advance logits [B, T, N] (DurationPolicy::AdvanceLogits); fails
  // (FailedPrecondition) when the policy has no per-frame head.
  absl::StatusOr<torch::Tensor> AdvanceLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask,
                                              const torch::Tensor& mel, const torch::Tensor& mel_mask,
                                              const torch::Tensor& similarity = {});
  // Predicted log(1 + d) [B, N]; fails (FailedPrecondition) without a predictor.
  absl::StatusOr<torch::Tensor> PredictLogDurations(const torch::Tensor& encodings, const torch::Tensor& token_mask);
  // Expands encodings by durations [B, N] (optionally fitted to target_lengths [B]) and decodes.
  // Fails (InvalidArgument) on inconsistent shapes or negative durations.
  absl::StatusOr<Synthesis> Decode(const torch::Tensor& encodings, const torch::Tensor& durations,
                                   const torch::Tensor& token_mask, const LengthRegulatorOptions& regulator = {},
                                   const torch::Tensor& target_lengths = {}, int64_t max_frames = 0);
  // Inference from text: the predictor's durations (the actor's greedy durations without a
  // predictor), scaled by the speed factor.
  absl::StatusOr<Synthesis> Infer(const torch::Tensor& tokens, const torch::Tensor& token_mask, double speed = 1.0);

  // Parameter counts per top-level part ("encoder", "policy", ...), in registration order.
  std::vector<std::pair<std::string, int64_t>> ParameterCounts() const;

  const AcousticModelOptions& options() const { return options_; }
  Encoder& encoder() { return encoder_; }
  DurationPolicy& policy() { return policy_; }
  DurationPredictor& predictor() { return predictor_; }  // empty holder without a predictor
  Decoder& decoder() { return decoder_; }
  Aligner& aligner() { return aligner_; }  // empty holder without an aligner

 private:
  AcousticModelOptions options_;
  Encoder encoder_{nullptr};
  DurationPolicy policy_{nullptr};
  DurationPredictor predictor_{nullptr};
  Decoder decoder_{nullptr};
  Aligner aligner_{nullptr};
};

// The module holder (what TORCH_MODULE would declare) plus a validating factory.
class AcousticModel : public torch::nn::ModuleHolder<AcousticModelImpl> {
 public:
  using torch::nn::ModuleHolder<AcousticModelImpl>::ModuleHolder;
  // Validates the options and builds the model; never throws.
  static absl::StatusOr<AcousticModel> Create(const AcousticModelOptions& options);
};

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_ACOUSTIC_MODEL_H_
