#ifndef LIGHTSPEECH_MODEL_ENCODER_H_
#define LIGHTSPEECH_MODEL_ENCODER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "model/layers.h"
#include "torch/torch.h"

namespace lightspeech::model {

// Which architecture family a module uses.
enum class Variant {
  kPrototype,  // the idea author's: recurrent (BiGRU) encoder and decoder
  kLight,      // LightSpeech-like: depthwise-separable convolution blocks, hidden <= 256
};

struct EncoderOptions {
  int64_t vocab_size = 0;  // symbols; id 0 may be padding (it is masked anyway)
  Variant variant = Variant::kPrototype;
  int64_t embedding_dim = 512;  // prototype: 512; light: the block width (<= 256)
  int64_t gru_hidden = 256;     // prototype: per direction (BiGRU -> 2 x 256)
  int64_t output_dim = 512;     // token encoding width
  int64_t num_blocks = 4;       // light
  int64_t kernel_size = 5;      // light, odd
  double dropout = 0.0;

  // OK, or InvalidArgument naming the first bad field.
  absl::Status Validate() const;
};

// Token encoder. Prototype: embedding 512 -> BiGRU 256 x 2 (packed, so padding is ignored) ->
// linear 512. Light: embedding -> num_blocks separable-convolution blocks -> linear.
// The constructor throws c10::Error on invalid options (AcousticModel::Create validates first).
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const EncoderOptions& options);
  // tokens [B, N] int64, token_mask [B, N] bool -> encodings [B, N, output_dim], zero at padding.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& token_mask);
  const EncoderOptions& options() const { return options_; }

 private:
  EncoderOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::Linear proj_{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_ENCODER_H_
