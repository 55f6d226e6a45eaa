#include "model/encoder.h"

#include "absl/strings/str_cat.h"

namespace lightspeech::model {

absl::Status EncoderOptions::Validate() const {
  if (vocab_size < 1) return absl::InvalidArgumentError(absl::StrCat("EncoderOptions.vocab_size must be >= 1, got ", vocab_size));
  if (embedding_dim < 1 || output_dim < 1 || gru_hidden < 1) {
    return absl::InvalidArgumentError("EncoderOptions: embedding_dim, gru_hidden and output_dim must be >= 1");
  }
  if (variant == Variant::kLight) {
    if (embedding_dim > 256) return absl::InvalidArgumentError("EncoderOptions: the light encoder's embedding_dim must be <= 256");
    if (num_blocks < 1 || kernel_size < 1 || kernel_size % 2 == 0) {
      return absl::InvalidArgumentError("EncoderOptions: light encoder needs num_blocks >= 1 and an odd kernel_size");
    }
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) return absl::InvalidArgumentError("EncoderOptions.dropout must be in [0, 1)");
  return absl::OkStatus();
}

EncoderImpl::EncoderImpl(const EncoderOptions& options) : options_(options) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  embedding_ = register_module("embedding", torch::nn::Embedding(options.vocab_size, options.embedding_dim));
  if (options.variant == Variant::kPrototype) {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(options.embedding_dim, options.gru_hidden)
                                                     .batch_first(true)
                                                     .bidirectional(true)));
    proj_ = register_module("proj", torch::nn::Linear(2 * options.gru_hidden, options.output_dim));
  } else {
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.num_blocks; ++i) {
      blocks_->push_back(SepConvBlock(options.embedding_dim, options.kernel_size, options.dropout));
    }
    proj_ = register_module("proj", torch::nn::Linear(options.embedding_dim, options.output_dim));
  }
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& token_mask) {
  torch::Tensor x = embedding_(tokens);  // [B, N, E]
  if (gru_) {
    x = RunPackedGru(gru_, x, token_mask.sum(1));  // [B, N, 2H]
  } else {
    for (const auto& block : *blocks_) x = block->as<SepConvBlock>()->forward(x, token_mask);  // [B, N, E]
  }
  return ApplyMask(ApplyLinear(proj_, x), token_mask);  // [B, N, output_dim]
}

}  // namespace lightspeech::model
