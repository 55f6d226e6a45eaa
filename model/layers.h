#ifndef LIGHTSPEECH_MODEL_LAYERS_H_
#define LIGHTSPEECH_MODEL_LAYERS_H_

#include <cstdint>

#include "torch/torch.h"

namespace lightspeech::model {

// Building blocks shared by the light encoder, the light decoder and the predictor. Constructors
// assume validated arguments (the options' Validate() of the module that owns them).

// A depthwise-separable convolution block in the spirit of LightSpeech: depthwise Conv1d(k) ->
// pointwise Conv1d(1) -> ReLU -> dropout, residual, LayerNorm. Padding frames are zeroed before the
// convolution and in the output, so they never leak into real frames.
class SepConvBlockImpl : public torch::nn::Module {
 public:
  SepConvBlockImpl(int64_t channels, int64_t kernel_size, double dropout);
  // x [B, T, C], mask [B, T] bool -> [B, T, C].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

 private:
  torch::nn::Conv1d depthwise_{nullptr}, pointwise_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(SepConvBlock);

// Runs a GRU over padded sequences with packing, so padding never enters the recurrence (in either
// direction). x [B, T, C], lengths [B] int64 (any device; copied to the host once) -> [B, T, H * dirs],
// zero at padding.
torch::Tensor RunPackedGru(torch::nn::GRU& gru, const torch::Tensor& x, const torch::Tensor& lengths);

// The mel post-net (Tacotron 2 style, without batch norm so padding cannot bias statistics):
// `layers` Conv1d(k) with tanh between them, predicting a residual added to the mel.
class PostnetImpl : public torch::nn::Module {
 public:
  PostnetImpl(int64_t n_mels, int64_t channels, int64_t layers, int64_t kernel_size, double dropout);
  // mel [B, T, M], mask [B, T] -> refined mel [B, T, M].
  torch::Tensor forward(const torch::Tensor& mel, const torch::Tensor& mask);

 private:
  torch::nn::ModuleList convs_;
  double dropout_;
};
TORCH_MODULE(Postnet);

// Zeroes padding: x [B, T, C] * mask [B, T].
inline torch::Tensor ApplyMask(const torch::Tensor& x, const torch::Tensor& mask) {
  return x * mask.unsqueeze(-1).to(x.scalar_type());
}

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_LAYERS_H_
