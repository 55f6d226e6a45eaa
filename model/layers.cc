#include "model/layers.h"

#include <tuple>

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
  torch::Tensor y = ApplyMask(x, mask).transpose(1, 2);        // [B, C, T]
  y = torch::relu(pointwise_(depthwise_(y))).transpose(1, 2);   // [B, T, C]
  return ApplyMask(norm_(x + dropout_(y)), mask);
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
