#ifndef LIGHTSPEECH_MODEL_DECODER_H_
#define LIGHTSPEECH_MODEL_DECODER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "model/encoder.h"
#include "model/layers.h"
#include "torch/torch.h"

namespace lightspeech::model {

struct DecoderOptions {
  Variant variant = Variant::kPrototype;
  int64_t input_dim = 512;   // width of the expanded token encodings
  int64_t n_mels = 80;
  int64_t gru_hidden = 256;  // prototype: per direction
  int64_t gru_layers = 2;    // prototype
  int64_t hidden_dim = 256;  // light: block width (<= 256)
  int64_t num_blocks = 4;    // light
  int64_t kernel_size = 17;  // light, odd (depthwise, so wide kernels are cheap)
  double dropout = 0.0;
  bool postnet = false;
  int64_t postnet_channels = 256;
  int64_t postnet_layers = 5;
  int64_t postnet_kernel = 5;

  absl::Status Validate() const;
};

struct DecoderOutput {
  torch::Tensor mel;          // [B, T, M], zero at padding
  torch::Tensor mel_postnet;  // [B, T, M]: refined by the postnet, or the same tensor as mel without one
};

// Mel decoder over length-regulated frames. Prototype: 2-layer BiGRU 256 x 2 (packed) + linear 80.
// Light: linear -> separable-convolution blocks -> linear. Optional postnet. The constructor throws
// c10::Error on invalid options (AcousticModel::Create validates first).
class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const DecoderOptions& options);
  // frames [B, T, C], frame_mask [B, T] bool (every utterance needs >= 1 real frame).
  DecoderOutput forward(const torch::Tensor& frames, const torch::Tensor& frame_mask);
  const DecoderOptions& options() const { return options_; }

 private:
  DecoderOptions options_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear in_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::Linear out_{nullptr};
  Postnet postnet_{nullptr};
};
TORCH_MODULE(Decoder);

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_DECODER_H_
