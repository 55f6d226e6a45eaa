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

// Faster CPU formulations of standard layers (same math, float rounding aside; layers_test checks forward
// and gradients against torch::linear / torch::conv1d). On the CPU, Debian's LibTorch 1.13 sends
// at::linear to the reference (netlib) BLAS and depthwise conv1d to a slow oneDNN path; a 1x1 or
// depthwise conv2d over a channels-last view of the same [.., T, C] memory runs in oneDNN's fast
// kernels instead (30x and 4x faster at the light model's sizes), with no layout copies.

// Whether x takes the channels-last paths (float32 on the CPU); elsewhere the layers run as written.
bool UseChannelsLastCpu(const torch::Tensor& x);

// torch::linear(x, weight, bias) as a 1x1 convolution over x [..., In] (M rows) seen as the
// channels-last [1, In, 1, M] when LibTorch runs more than one thread, else as [M, In, 1, 1] (the
// layouts LibTorch hands to oneDNN in each case). weight [Out, In], bias [Out] or undefined ->
// [..., Out]. Any device.
torch::Tensor ChannelsLastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// A Linear layer's forward: ChannelsLastLinear where UseChannelsLastCpu(x), the layer elsewhere.
torch::Tensor ApplyLinear(torch::nn::Linear& layer, const torch::Tensor& x);

// Depthwise Conv1d (groups = channels, stride 1, zero padding `padding` each side) on time-major
// x [B, T, C] with weight [C, 1, K], bias [C] or undefined -> [B, T', C]: the same as
// conv1d(x.transpose(1, 2), weight, bias, 1, padding, 1, C).transpose(1, 2), computed as a conv2d
// over the channels-last view [B, C, 1, T]. Any device.
torch::Tensor ChannelsLastDepthwiseConv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                          int64_t padding);

// Zeroes padding: x [B, T, C] * mask [B, T].
inline torch::Tensor ApplyMask(const torch::Tensor& x, const torch::Tensor& mask) {
  return x * mask.unsqueeze(-1).to(x.scalar_type());
}

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_LAYERS_H_
