#include "model/duration.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "model/layers.h"

namespace lightspeech::model {

namespace F = torch::nn::functional;

absl::Status DurationPolicyOptions::Validate() const {
  if (input_dim < 1 || hidden_dim < 1) return absl::InvalidArgumentError("DurationPolicyOptions: input_dim and hidden_dim must be >= 1");
  if (max_duration < 1) {
    return absl::InvalidArgumentError(absl::StrCat("DurationPolicyOptions.max_duration must be >= 1, got ", max_duration));
  }
  if ((observe_mel || per_frame) && (n_mels < 1 || attention_dim < 1)) {
    return absl::InvalidArgumentError("DurationPolicyOptions: observe_mel and per_frame need n_mels and attention_dim >= 1");
  }
  if (!std::isfinite(alignment_score_weight_init)) {
    return absl::InvalidArgumentError("DurationPolicyOptions.alignment_score_weight_init must be finite");
  }
  if (diagonal_sigma < 0) return absl::InvalidArgumentError("DurationPolicyOptions.diagonal_sigma must be >= 0");
  return absl::OkStatus();
}

DurationPolicyImpl::DurationPolicyImpl(const DurationPolicyOptions& options) : options_(options) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  hidden_ = register_module("hidden", torch::nn::Linear(options.input_dim, options.hidden_dim));
  out_ = register_module("out", torch::nn::Linear(options.hidden_dim, options.max_duration));
  if (options.observe_mel) {
    query_ = register_module("query", torch::nn::Linear(options.input_dim, options.attention_dim));
    mel_in_ = register_module("mel_in", torch::nn::Linear(options.n_mels, options.attention_dim));
    mel_key_ = register_module("mel_key", torch::nn::Linear(options.attention_dim, options.attention_dim));
    context_ = register_module("context", torch::nn::Linear(options.attention_dim, options.hidden_dim));
  }
  if (options.per_frame) {
    // No bias: a query bias adds the same k_t . b to sim(t, n) and sim(t, n + 1), so it cancels in
    // every advance logit; its gradient would be rounding noise that Adam turns into steps.
    frame_query_ = register_module(
        "frame_query", torch::nn::Linear(torch::nn::LinearOptions(options.input_dim, options.attention_dim).bias(false)));
    frame_mel_in_ = register_module("frame_mel_in", torch::nn::Linear(options.n_mels, options.attention_dim));
    frame_mel_key_ = register_module("frame_mel_key", torch::nn::Linear(options.attention_dim, options.attention_dim));
    frame_bias_ = register_parameter("frame_bias", torch::zeros({1}));
    frame_lag_weight_ = register_parameter("frame_lag_weight", torch::ones({1}));
    torch::Tensor v = torch::zeros({1});
    v[0] = options.alignment_score_weight_init;
    frame_similarity_weight_ = register_parameter("frame_similarity_weight", v);
  }
}

torch::Tensor DurationPolicyImpl::AdvanceLogits(const torch::Tensor& encodings, const torch::Tensor& token_mask,
                                                const torch::Tensor& mel, const torch::Tensor& mel_mask,
                                                const torch::Tensor& similarity) {
  TORCH_CHECK(options_.per_frame, "DurationPolicy::AdvanceLogits needs options.per_frame");
  torch::Tensor mel_view = ApplyLinear(frame_mel_in_, mel);                 // [B, T, A]
  torch::Tensor keys = ApplyLinear(frame_mel_key_, torch::relu(mel_view));  // [B, T, A]
  torch::Tensor q = ApplyLinear(frame_query_, encodings);                                         // [B, N, A]
  // In float from here on: under bf16 autocast the matmul returns bf16, which cannot hold the lag's
  // positions (t up to thousands of frames, n up to hundreds of tokens) to a fraction of a token.
  torch::Tensor sim =
      (torch::matmul(keys, q.transpose(1, 2)) / std::sqrt(static_cast<double>(options_.attention_dim))).to(torch::kFloat);
  // x(t, n + 1) - x(t, n) for a [B, T, N] score; the last column has no next token (0).
  auto gain_of_advancing = [](const torch::Tensor& x) { return torch::cat({x.slice(2, 1), x.slice(2, -1)}, 2) - x; };
  const torch::Tensor n_len = token_mask.sum(1).to(sim.scalar_type()).view({-1, 1, 1});         // [B, 1, 1]
  const torch::Tensor t_len = mel_mask.sum(1).to(sim.scalar_type()).clamp_min(1).view({-1, 1, 1});  // [B, 1, 1]
  const torch::Tensor t = torch::arange(mel.size(1), sim.options()).view({1, -1, 1}) + 0.5;
  const torch::Tensor n = torch::arange(encodings.size(1), sim.options()).view({1, 1, -1}) + 0.5;
  const torch::Tensor lag = t * n_len / t_len - n;  // [B, T, N]
  torch::Tensor logits = gain_of_advancing(sim) + frame_lag_weight_ * lag + frame_bias_;
  if (similarity.defined()) {
    torch::Tensor diff;  // [B, T, N]
    if (options_.observe_value_to_go) {
      diff = gain_of_advancing(similarity.detach().to(torch::kFloat));
      diff = torch::where(torch::isfinite(diff), diff, torch::zeros_like(diff)).clamp(-50.0, 50.0).to(sim.scalar_type());
    } else {
      torch::Tensor x = similarity.detach().to(sim.scalar_type());
      x = torch::where(torch::isfinite(x), x, torch::zeros_like(x)).clamp(-50.0, 0.0);  // padded tokens are -inf
      diff = gain_of_advancing(x);
    }
    logits = logits + frame_similarity_weight_ * diff;
  }
  return logits;
}

torch::Tensor DurationPolicyImpl::forward(const torch::Tensor& encodings, const torch::Tensor& token_mask,
                                          const torch::Tensor& mel, const torch::Tensor& mel_mask) {
  torch::Tensor h = ApplyLinear(hidden_, encodings);  // [B, N, H]
  if (options_.observe_mel && mel.defined()) {
    torch::Tensor keys = ApplyLinear(mel_key_, torch::relu(ApplyLinear(mel_in_, mel)));  // [B, T, A]
    torch::Tensor q = ApplyLinear(query_, encodings);                      // [B, N, A]
    torch::Tensor scores = torch::matmul(q, keys.transpose(1, 2)) / std::sqrt(static_cast<double>(options_.attention_dim));
    const torch::Tensor fmask = mel_mask.to(scores.scalar_type());  // [B, T]
    if (options_.diagonal_sigma > 0) {
      // Normalized positions of token centres and frames within each utterance's real length.
      torch::Tensor n_len = token_mask.sum(1, true).to(scores.scalar_type()).clamp_min(1);  // [B, 1]
      torch::Tensor t_len = fmask.sum(1, true).clamp_min(1);                                  // [B, 1]
      torch::Tensor pn = (torch::arange(encodings.size(1), scores.options()).unsqueeze(0) + 0.5) / n_len;  // [B, N]
      torch::Tensor pt = (torch::arange(mel.size(1), scores.options()).unsqueeze(0) + 0.5) / t_len;        // [B, T]
      torch::Tensor diff = pn.unsqueeze(2) - pt.unsqueeze(1);                                                // [B, N, T]
      scores = scores - diff.square() / (2 * options_.diagonal_sigma * options_.diagonal_sigma);
    }
    scores = scores.masked_fill(~mel_mask.to(torch::kBool).unsqueeze(1), -1e9);
    torch::Tensor context = torch::matmul(torch::softmax(scores, -1), keys);  // [B, N, A]
    h = h + ApplyLinear(context_, context);
  }
  return ApplyLinear(out_, torch::relu(h));  // [B, N, K]
}

absl::Status DurationPredictorOptions::Validate() const {
  if (input_dim < 1 || hidden_dim < 1) return absl::InvalidArgumentError("DurationPredictorOptions: dims must be >= 1");
  if (kernel_size < 1 || kernel_size % 2 == 0) return absl::InvalidArgumentError("DurationPredictorOptions.kernel_size must be odd");
  if (!(dropout >= 0.0 && dropout < 1.0)) return absl::InvalidArgumentError("DurationPredictorOptions.dropout must be in [0, 1)");
  return absl::OkStatus();
}

DurationPredictorImpl::DurationPredictorImpl(const DurationPredictorOptions& options) : dropout_(options.dropout) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  const int64_t k = options.kernel_size;
  conv1_ = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(options.input_dim, options.hidden_dim, k).padding(k / 2)));
  conv2_ = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(options.hidden_dim, options.hidden_dim, k).padding(k / 2)));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.hidden_dim})));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.hidden_dim})));
  out_ = register_module("out", torch::nn::Linear(options.hidden_dim, 1));
}

torch::Tensor DurationPredictorImpl::forward(const torch::Tensor& encodings, const torch::Tensor& token_mask) {
  auto layer = [&](const torch::Tensor& x, torch::nn::Conv1d& conv, torch::nn::LayerNorm& norm) {
    torch::Tensor y = conv(ApplyMask(x, token_mask).transpose(1, 2)).transpose(1, 2);  // [B, N, H]
    y = norm(torch::relu(y));
    return F::dropout(y, F::DropoutFuncOptions().p(dropout_).training(is_training()));
  };
  torch::Tensor h = layer(layer(encodings, conv1_, norm1_), conv2_, norm2_);
  return ApplyLinear(out_, h).squeeze(-1) * token_mask.to(h.scalar_type());  // [B, N]
}

torch::Tensor DurationLoss(const torch::Tensor& log_pred, const torch::Tensor& durations, const torch::Tensor& token_mask) {
  torch::Tensor m = token_mask.to(log_pred.scalar_type());
  torch::Tensor target = torch::log1p(durations.to(log_pred.scalar_type()));
  return ((log_pred - target).square() * m).sum() / m.sum().clamp_min(1);
}

torch::Tensor PredictedDurations(const torch::Tensor& log_pred, const torch::Tensor& token_mask) {
  torch::Tensor d = torch::round(torch::expm1(log_pred.detach())).clamp_min(1).to(torch::kLong);
  return d * token_mask.to(torch::kLong);
}

}  // namespace lightspeech::model
