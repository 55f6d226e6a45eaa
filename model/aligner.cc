#include "model/aligner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ATen/Parallel.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::model {
namespace {

// Log-probability given to padded tokens: finite, so that ctc_loss's backward never forms inf - inf.
constexpr double kMaskedLogProb = -1e4;

torch::Tensor TokenMask(const torch::Tensor& lengths, int64_t n, const torch::Device& device) {
  return torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(device)).unsqueeze(0) <
         lengths.to(device, torch::kLong).unsqueeze(1);  // [B, n]
}

torch::Tensor LogBeta(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::lgamma(a) + torch::lgamma(b) - torch::lgamma(a + b);
}

absl::Status CheckLengths(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                          const torch::Tensor& mel_lengths) {
  if (!log_attention.defined() || log_attention.dim() != 3 || !log_attention.is_floating_point()) {
    return absl::InvalidArgumentError("log_attention must be a floating-point [B, T, N] tensor");
  }
  const int64_t b = log_attention.size(0);
  if (!text_lengths.defined() || !mel_lengths.defined() || text_lengths.dim() != 1 || mel_lengths.dim() != 1 ||
      text_lengths.size(0) != b || mel_lengths.size(0) != b) {
    return absl::InvalidArgumentError("text_lengths and mel_lengths must be [B] with B = log_attention.size(0)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AlignerOptions::Validate() const {
  if (vocab_size < 1) return absl::InvalidArgumentError(absl::StrCat("AlignerOptions.vocab_size must be >= 1, got ", vocab_size));
  if (n_mels < 1 || channels < 1 || attention_dim < 1) {
    return absl::InvalidArgumentError("AlignerOptions: n_mels, channels and attention_dim must be >= 1");
  }
  if (key_kernel < 1 || key_kernel % 2 == 0) {
    return absl::InvalidArgumentError(absl::StrCat("AlignerOptions.key_kernel must be odd and >= 1, got ", key_kernel));
  }
  if (!(temperature > 0)) return absl::InvalidArgumentError("AlignerOptions.temperature must be > 0");
  if (use_prior && !(prior_scaling > 0)) return absl::InvalidArgumentError("AlignerOptions.prior_scaling must be > 0");
  return absl::OkStatus();
}

AlignerImpl::AlignerImpl(const AlignerOptions& options) : options_(options) {
  const absl::Status status = options.Validate();
  TORCH_CHECK(status.ok(), status.ToString());
  using torch::nn::Conv1dOptions;
  const int64_t c = options.channels, a = options.attention_dim;
  embedding_ = register_module("embedding", torch::nn::Embedding(options.vocab_size, c));
  key1_ = register_module("key1", torch::nn::Conv1d(Conv1dOptions(c, c, options.key_kernel).padding(options.key_kernel / 2)));
  key2_ = register_module("key2", torch::nn::Conv1d(Conv1dOptions(c, a, 1)));
  query1_ = register_module("query1", torch::nn::Conv1d(Conv1dOptions(options.n_mels, c, 3).padding(1)));
  query2_ = register_module("query2", torch::nn::Conv1d(Conv1dOptions(c, c, 1)));
  query3_ = register_module("query3", torch::nn::Conv1d(Conv1dOptions(c, a, 1)));
}

AlignerOutput AlignerImpl::forward(const torch::Tensor& tokens, const torch::Tensor& text_lengths, const torch::Tensor& mel,
                                   const torch::Tensor& mel_lengths) {
  const int64_t n = tokens.size(1), t = mel.size(1);
  const torch::Tensor token_mask = TokenMask(text_lengths, n, tokens.device());  // [B, N]
  const torch::Tensor frame_mask = TokenMask(mel_lengths, t, mel.device());      // [B, T]
  torch::Tensor x = embedding_(tokens) * token_mask.unsqueeze(-1).to(mel.scalar_type());  // [B, N, C]
  torch::Tensor keys = key2_(torch::relu(key1_(x.transpose(1, 2))));                      // [B, A, N]
  const torch::Tensor frame_weight = frame_mask.unsqueeze(-1).to(mel.scalar_type());  // [B, T, 1]
  torch::Tensor m = mel;
  if (options_.normalize_mel) {
    const torch::Tensor count = (mel_lengths.to(mel.device(), mel.scalar_type()) * mel.size(2)).clamp_min(1).view({-1, 1, 1});
    const torch::Tensor mean = (mel * frame_weight).sum({1, 2}, /*keepdim=*/true) / count;  // [B, 1, 1]
    const torch::Tensor var = ((mel - mean).square() * frame_weight).sum({1, 2}, /*keepdim=*/true) / count;
    m = (mel - mean) * torch::rsqrt(var + 1e-5);
  }
  torch::Tensor y = (m * frame_weight).transpose(1, 2);  // [B, M, T]
  torch::Tensor queries = query3_(torch::relu(query2_(torch::relu(query1_(y)))));           // [B, A, T]
  // Squared distances |q_t - k_n|^2 = |q|^2 + |k|^2 - 2 q.k, without a [B, A, T, N] intermediate.
  torch::Tensor dist = queries.square().sum(1).unsqueeze(2) + keys.square().sum(1).unsqueeze(1) -
                       2 * torch::bmm(queries.transpose(1, 2), keys);  // [B, T, N]
  torch::Tensor scores = (-options_.temperature * dist).masked_fill(~token_mask.unsqueeze(1), kMaskedLogProb);
  torch::Tensor log_attention = torch::log_softmax(scores, -1);
  if (options_.use_prior) {
    torch::Tensor prior = LogBetaBinomialPrior(text_lengths, mel_lengths, n, t, options_.prior_scaling, log_attention.options());
    log_attention = torch::log_softmax(
        (log_attention + prior).masked_fill(~token_mask.unsqueeze(1), kMaskedLogProb), -1);
  }
  AlignerOutput out;
  out.log_attention = log_attention.masked_fill(~token_mask.unsqueeze(1), kMaskedLogProb)
                          .masked_fill(~frame_mask.unsqueeze(2), 0.0);
  return out;
}

torch::Tensor LogBetaBinomialPrior(const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths, int64_t max_tokens,
                                   int64_t max_frames, double scaling, const torch::TensorOptions& options) {
  torch::NoGradGuard no_grad;
  const auto dopt = torch::TensorOptions().dtype(torch::kDouble).device(options.device());
  torch::Tensor nb = text_lengths.to(dopt).view({-1, 1, 1});  // [B, 1, 1]
  torch::Tensor tb = mel_lengths.to(dopt).view({-1, 1, 1});
  torch::Tensor tt = torch::minimum(torch::arange(max_frames, dopt).view({1, -1, 1}), (tb - 1).clamp_min(0));  // [B, T, 1]
  torch::Tensor big_n = (nb - 1).clamp_min(0);
  torch::Tensor k = torch::minimum(torch::arange(max_tokens, dopt).view({1, 1, -1}), big_n);  // [B, 1, N]
  torch::Tensor a = scaling * (tt + 1), b = scaling * (tb - tt);
  torch::Tensor log_pmf = torch::lgamma(big_n + 1) - torch::lgamma(k + 1) - torch::lgamma(big_n - k + 1) +
                          LogBeta(k + a, big_n - k + b) - LogBeta(a, b);  // [B, T, N]
  const torch::Tensor token_mask = TokenMask(text_lengths, max_tokens, options.device()).unsqueeze(1);
  const torch::Tensor frame_mask = TokenMask(mel_lengths, max_frames, options.device()).unsqueeze(2);
  return log_pmf.masked_fill(~token_mask, -std::numeric_limits<double>::infinity())
      .masked_fill(~frame_mask, 0.0)
      .to(options.dtype());
}

absl::StatusOr<torch::Tensor> ForwardSumLoss(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                                             const torch::Tensor& mel_lengths, double blank_logprob) {
  LS_RETURN_IF_ERROR(CheckLengths(log_attention, text_lengths, mel_lengths));
  try {
    const int64_t b = log_attention.size(0), n = log_attention.size(2);
    const torch::Device device = log_attention.device();
    torch::Tensor padded = torch::constant_pad_nd(log_attention, {1, 0}, blank_logprob);  // [B, T, N + 1]
    torch::Tensor keep = torch::cat({torch::ones({b, 1}, torch::TensorOptions().dtype(torch::kBool).device(device)),
                                     TokenMask(text_lengths, n, device)},
                                    1);  // [B, N + 1]
    padded = torch::log_softmax(padded.masked_fill(~keep.unsqueeze(1), kMaskedLogProb), -1);
    torch::Tensor targets = torch::arange(1, n + 1, torch::TensorOptions().dtype(torch::kLong).device(device))
                                .unsqueeze(0)
                                .expand({b, n})
                                .contiguous();
    torch::Tensor text = text_lengths.to(device, torch::kLong), mel = mel_lengths.to(device, torch::kLong);
    torch::Tensor per_utterance = torch::ctc_loss(padded.transpose(0, 1), targets, mel, text, /*blank=*/0,
                                                  at::Reduction::None, /*zero_infinity=*/true);  // [B]
    return (per_utterance / text.to(per_utterance.scalar_type()).clamp_min(1)).mean();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("ForwardSumLoss: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> BinarizationLoss(const torch::Tensor& log_attention, const torch::Tensor& durations,
                                               const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths) {
  LS_RETURN_IF_ERROR(CheckLengths(log_attention, text_lengths, mel_lengths));
  const int64_t b = log_attention.size(0), t_max = log_attention.size(1), n_max = log_attention.size(2);
  if (!durations.defined() || durations.dim() != 2 || durations.size(0) != b || durations.size(1) != n_max ||
      durations.is_floating_point()) {
    return absl::InvalidArgumentError("BinarizationLoss: durations must be integer [B, N] like log_attention's B and N");
  }
  try {
    const torch::Device device = log_attention.device();
    const torch::Tensor d = durations.to(device, torch::kLong), ml = mel_lengths.to(device, torch::kLong);
    const torch::Tensor padded = ~TokenMask(text_lengths, n_max, device);  // [B, N]
    const torch::Tensor bad = (d < 0).any(1) | (d.sum(1) != ml) | (ml > t_max) | ((d > 0) & padded).any(1);  // [B]
    if (bad.any().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BinarizationLoss: utterance ", bad.to(torch::kLong).argmax().item<int64_t>(),
          ": durations must be >= 0, 0 at padded tokens, and sum to the utterance's mel length (<= T)"));
    }
    // The hard alignment's token of frame t: the number of tokens that end at or before t.
    const torch::Tensor t = torch::arange(t_max, torch::TensorOptions().dtype(torch::kLong).device(device));
    const torch::Tensor token = (d.cumsum(1).unsqueeze(1) <= t.view({1, -1, 1})).sum(2).clamp_max(n_max - 1);  // [B, T]
    const torch::Tensor picked = log_attention.gather(2, token.unsqueeze(2)).squeeze(2);                     // [B, T]
    const torch::Tensor frames = t.unsqueeze(0) < ml.unsqueeze(1);  // [B, T]
    const torch::Tensor per_utterance =
        -torch::where(frames, picked, torch::zeros_like(picked)).sum(1) / ml.to(picked.scalar_type()).clamp_min(1);
    return per_utterance.mean();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("BinarizationLoss: ", e.what_without_backtrace()));
  }
}

namespace {

torch::Tensor MasHost(const torch::Tensor& log_attention, const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths) {
  const torch::Tensor lp = log_attention.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor tl = text_lengths.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor ml = mel_lengths.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t batch = lp.size(0), t_max = lp.size(1), n_max = lp.size(2);
  torch::Tensor durations = torch::zeros({batch, n_max}, torch::kLong);
  const double* lp_data = lp.data_ptr<double>();
  const int64_t* tl_data = tl.data_ptr<int64_t>();
  const int64_t* ml_data = ml.data_ptr<int64_t>();
  int64_t* d_data = durations.data_ptr<int64_t>();
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> q;
    for (int64_t b = begin; b < end; ++b) {
      const int64_t tb = ml_data[b], nb = tl_data[b];
      const double* x = lp_data + b * t_max * n_max;
      q.assign(tb * nb, kNegInf);
      auto at = [&](int64_t t, int64_t n) -> double& { return q[t * nb + n]; };
      at(0, 0) = x[0];
      for (int64_t t = 1; t < tb; ++t) {
        for (int64_t n = 0; n <= std::min(nb - 1, t); ++n) {
          const double stay = n <= t - 1 ? at(t - 1, n) : kNegInf;
          const double move = n > 0 ? at(t - 1, n - 1) : kNegInf;
          at(t, n) = std::max(stay, move) + x[t * n_max + n];
        }
      }
      int64_t n = nb - 1;
      for (int64_t t = tb - 1; t >= 0; --t) {
        ++d_data[b * n_max + n];
        if (t > 0 && n > 0 && (n == t || at(t - 1, n - 1) > at(t - 1, n))) --n;
      }
    }
  });
  return durations.to(log_attention.device());
}

torch::Tensor MasTensorOps(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                           const torch::Tensor& mel_lengths) {
  torch::NoGradGuard no_grad;
  const torch::Device device = log_attention.device();
  const int64_t batch = log_attention.size(0), t_max = log_attention.size(1), n_max = log_attention.size(2);
  const auto lopt = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor tl = text_lengths.to(device, torch::kLong), ml = mel_lengths.to(device, torch::kLong);
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  torch::Tensor lp = log_attention.detach().to(torch::kDouble).masked_fill(~TokenMask(tl, n_max, device).unsqueeze(1), kNegInf);
  torch::Tensor n_index = torch::arange(n_max, lopt).unsqueeze(0);  // [1, N]
  torch::Tensor q = lp.select(1, 0).masked_fill(n_index != 0, kNegInf);  // [B, N]
  torch::Tensor moves = torch::zeros({t_max, batch, n_max}, torch::TensorOptions().dtype(torch::kBool).device(device));
  for (int64_t t = 1; t < t_max; ++t) {
    torch::Tensor shifted = torch::constant_pad_nd(q.narrow(1, 0, n_max - 1), {1, 0}, kNegInf);
    moves[t] = shifted > q;
    torch::Tensor next = torch::maximum(q, shifted) + lp.select(1, t);
    q = torch::where((ml > t).unsqueeze(1), next, q);
  }
  torch::Tensor n = (tl - 1).unsqueeze(1);  // [B, 1]
  torch::Tensor durations = torch::zeros({batch, n_max}, lopt);
  for (int64_t t = t_max - 1; t >= 0; --t) {
    torch::Tensor active = (ml > t).unsqueeze(1).to(torch::kLong);  // [B, 1]
    durations.scatter_add_(1, n, active);
    if (t > 0) n = n - moves[t].gather(1, n).to(torch::kLong) * active;
  }
  return durations;
}

}  // namespace

absl::StatusOr<torch::Tensor> MonotonicAlignmentSearch(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                                                       const torch::Tensor& mel_lengths, MasBackend backend) {
  LS_RETURN_IF_ERROR(CheckLengths(log_attention, text_lengths, mel_lengths));
  try {
    const torch::Tensor tl = text_lengths.to(torch::kCPU, torch::kLong), ml = mel_lengths.to(torch::kCPU, torch::kLong);
    if ((tl < 1).any().item<bool>() || (ml < tl).any().item<bool>() || (ml > log_attention.size(1)).any().item<bool>() ||
        (tl > log_attention.size(2)).any().item<bool>()) {
      return absl::InvalidArgumentError(
          "MonotonicAlignmentSearch: every utterance needs 1 <= tokens <= frames within the tensor's T and N");
    }
    const bool host = backend == MasBackend::kHost || (backend == MasBackend::kAuto && log_attention.device().is_cpu());
    return host ? MasHost(log_attention, text_lengths, mel_lengths) : MasTensorOps(log_attention, text_lengths, mel_lengths);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MonotonicAlignmentSearch: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::model
