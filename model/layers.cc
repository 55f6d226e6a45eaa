#include "model/layers.h"

#include <tuple>
#include <vector>

namespace lightspeech::model {

namespace F = torch::nn::functional;

SepConvBlockImpl::SepConvBlockImpl(int64_t channels, int64_t kernel_size, double dropout) {
  depthwise_ = register_module(
      "depthwise",
      torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, kernel_size).padding(kernel_size / 2).groups(channels)));
  pointwise_ = register_module("pointwise", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, 1)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

torch::Tensor SepConvBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor y;
  if (UseChannelsLastCpu(x)) {
    // Both convolutions in the [B, T, C] layout: no transposes.
    y = ChannelsLastDepthwiseConv1d(ApplyMask(x, mask), depthwise_->weight, depthwise_->bias, depthwise_->weight.size(2) / 2);
    y = torch::relu(ChannelsLastLinear(y, pointwise_->weight.squeeze(-1), pointwise_->bias));  // [B, T, C]
  } else {
    y = ApplyMask(x, mask).transpose(1, 2);                     // [B, C, T]
    y = torch::relu(pointwise_(depthwise_(y))).transpose(1, 2);  // [B, T, C]
  }
  return ApplyMask(norm_(x + dropout_(y)), mask);
}

bool UseChannelsLastCpu(const torch::Tensor& x) { return x.device().is_cpu() && x.scalar_type() == torch::kFloat; }

torch::Tensor ChannelsLastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = x.numel() / in;
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  if (rows == 0) return torch::linear(x, weight, bias);
  torch::Tensor y;
  if (torch::get_num_threads() > 1) {
    // [1, In, 1, M] channels-last view; oneDNN takes it only when multi-threaded.
    y = torch::conv2d(x.reshape({1, 1, rows, in}).permute({0, 3, 1, 2}), weight.unsqueeze(-1).unsqueeze(-1), bias);
    y = y.permute({0, 2, 3, 1});  // [1, 1, M, Out]
  } else {
    // [M, In, 1, 1]: rows as the batch (oneDNN takes batches >= 16 on one thread too).
    y = torch::conv2d(x.reshape({rows, in, 1, 1}), weight.unsqueeze(-1).unsqueeze(-1), bias);  // [M, Out, 1, 1]
  }
  return y.reshape(shape);  // [..., Out]
}

torch::Tensor ApplyLinear(torch::nn::Linear& layer, const torch::Tensor& x) {
  return UseChannelsLastCpu(x) ? ChannelsLastLinear(x, layer->weight, layer->bias) : layer(x);
}

torch::Tensor ChannelsLastDepthwiseConv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                          int64_t padding) {
  const std::vector<int64_t> ones = {1, 1}, pad = {0, padding};
  torch::Tensor y = torch::conv2d(x.unsqueeze(1).permute({0, 3, 1, 2}), weight.unsqueeze(2), bias, /*stride=*/ones, pad,
                                  /*dilation=*/ones, /*groups=*/weight.size(0));
  return y.permute({0, 2, 3, 1}).squeeze(1);  // [B, T', C]
}

torch::Tensor RunPackedGru(torch::nn::GRU& gru, const torch::Tensor& x, const torch::Tensor& lengths) {
  namespace rnn = torch::nn::utils::rnn;
  rnn::PackedSequence packed =
      rnn::pack_padded_sequence(x, lengths.to(torch::kCPU, torch::kLong), /*batch_first=*/true, /*enforce_sorted=*/false);
  rnn::PackedSequence out = std::get<0>(gru->forward_with_packed_input(packed));
  return std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, /*padding_value=*/0.0, x.size(1)));
}

PostnetImpl::PostnetImpl(int64_t n_mels, int64_t channels, int64_t layers, int64_t kernel_size, double dropout)
    : dropout_(dropout) {
  for (int64_t i = 0; i < layers; ++i) {
    const int64_t in = i == 0 ? n_mels : channels;
    const int64_t out = i == layers - 1 ? n_mels : channels;
    convs_->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, kernel_size).padding(kernel_size / 2)));
  }
  register_module("convs", convs_);
}

torch::Tensor PostnetImpl::forward(const torch::Tensor& mel, const torch::Tensor& mask) {
  const torch::Tensor m = mask.unsqueeze(1).to(mel.scalar_type());  // [B, 1, T]
  torch::Tensor y = mel.transpose(1, 2) * m;                         // [B, M, T]
  for (size_t i = 0; i < convs_->size(); ++i) {
    y = convs_[i]->as<torch::nn::Conv1d>()->forward(y);
    if (i + 1 < convs_->size()) y = torch::tanh(y);
    y = F::dropout(y, F::DropoutFuncOptions().p(dropout_).training(is_training())) * m;
  }
  return mel + y.transpose(1, 2);
}

}  // namespace lightspeech::model
