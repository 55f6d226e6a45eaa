#include "model/decoder.h"

#include "absl/strings/str_cat.h"

namespace lightspeech::model {

absl::Status DecoderOptions::Validate() const {
  if (input_dim < 1 || n_mels < 1) return absl::InvalidArgumentError("DecoderOptions: input_dim and n_mels must be >= 1");
  if (variant == Variant::kPrototype && (gru_hidden < 1 || gru_layers < 1)) {
    return absl::InvalidArgumentError("DecoderOptions: gru_hidden and gru_layers must be >= 1");
  }
  if (variant == Variant::kLight) {
    if (hidden_dim < 1 || hidden_dim > 256) return absl::InvalidArgumentError("DecoderOptions: light hidden_dim must be in 1..256");
    if (num_blocks < 1 || kernel_size < 1 || kernel_size % 2 == 0) {
      return absl::InvalidArgumentError("DecoderOptions: light decoder needs num_blocks >= 1 and an odd kernel_size");
    }
  }
  if (postnet && (postnet_channels < 1 || postnet_layers < 2 || postnet_kernel % 2 == 0)) {
    return absl::InvalidArgumentError("DecoderOptions: postnet needs channels >= 1, layers >= 2 and an odd kernel");
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) return absl::InvalidArgumentError("DecoderOptions.dropout must be in [0, 1)");
  return absl::OkStatus();
}

DecoderImpl::DecoderImpl(const DecoderOptions& options) : options_(options) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  if (options.variant == Variant::kPrototype) {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(options.input_dim, options.gru_hidden)
                                                     .num_layers(options.gru_layers)
                                                     .batch_first(true)
                                                     .bidirectional(true)));
    out_ = register_module("out", torch::nn::Linear(2 * options.gru_hidden, options.n_mels));
  } else {
    in_ = register_module("in", torch::nn::Linear(options.input_dim, options.hidden_dim));
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.num_blocks; ++i) {
      blocks_->push_back(SepConvBlock(options.hidden_dim, options.kernel_size, options.dropout));
    }
    out_ = register_module("out", torch::nn::Linear(options.hidden_dim, options.n_mels));
  }
  if (options.postnet) {
    postnet_ = register_module("postnet", Postnet(options.n_mels, options.postnet_channels, options.postnet_layers,
                                                  options.postnet_kernel, options.dropout));
  }
}

DecoderOutput DecoderImpl::forward(const torch::Tensor& frames, const torch::Tensor& frame_mask) {
  torch::Tensor h;
  if (gru_) {
    h = RunPackedGru(gru_, frames, frame_mask.sum(1));  // [B, T, 2H]
  } else {
    h = ApplyMask(ApplyLinear(in_, frames), frame_mask);  // [B, T, H]
    for (const auto& block : *blocks_) h = block->as<SepConvBlock>()->forward(h, frame_mask);
  }
  DecoderOutput out;
  out.mel = ApplyMask(ApplyLinear(out_, h), frame_mask);  // [B, T, M]
  out.mel_postnet = postnet_ ? ApplyMask(postnet_(out.mel, frame_mask), frame_mask) : out.mel;
  return out;
}

}  // namespace lightspeech::model
