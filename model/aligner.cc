#include "model/aligner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ATen/Parallel.h"
#include "absl/strings/str_cat.h"

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
  if (absl::Status s = CheckLengths(log_attention, text_lengths, mel_lengths); !s.ok()) return s;
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

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double LogAdd(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}

// The skipping forward-sum loss's value and gradient (to be scaled by the incoming gradient) with
// respect to log-probabilities [B, T, N + 1] whose column 0 is the blank: forward and backward passes
// over each utterance's CTC lattice of 2 N_b + 1 states (state 2k the blank before token k, 2k + 1
// token k, 2 N_b the final blank), in double. Token k may be left out when optional[k]: the lattice
// then steps from the blank before it (2k) or from token k - 1 (2k - 1) straight to token k + 1, and
// a path that leaves out the last token ends on the blank before it or on token N_b - 2; at most one
// token is left out between two kept ones, so that every labelling of the frames has one path.
struct SkippingForwardSum : public torch::autograd::Function<SkippingForwardSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& log_probs,
                               const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths,
                               const torch::Tensor& optional_tokens) {
    const torch::Tensor lp = log_probs.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const torch::Tensor tl = text_lengths.to(torch::kCPU, torch::kLong), ml = mel_lengths.to(torch::kCPU, torch::kLong);
    const torch::Tensor opt = optional_tokens.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t batch = lp.size(0);
    torch::Tensor grad = torch::zeros_like(lp);
    std::vector<double> losses(batch, 0.0);
    auto lp_a = lp.accessor<double, 3>();
    auto grad_a = grad.accessor<double, 3>();
    auto opt_a = opt.accessor<bool, 2>();
    auto tl_a = tl.accessor<int64_t, 1>();
    auto ml_a = ml.accessor<int64_t, 1>();
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t n_b = tl_a[b], t_b = ml_a[b], states = 2 * n_b + 1;
        auto skippable = [&](int64_t k) { return k >= 0 && k < n_b && opt_a[b][k]; };
        auto column = [&](int64_t s) { return s % 2 == 0 ? 0 : (s - 1) / 2 + 1; };
        // Predecessors of state s (besides itself): s - 1; s - 2 into a token (over the blank);
        // s - 3 and s - 4 into token k when token k - 1 may be left out.
        auto for_each_pred = [&](int64_t s, auto&& f) {
          if (s >= 1) f(s - 1);
          if (s % 2 == 1 && s >= 2) f(s - 2);
          if (s % 2 == 1 && skippable((s - 1) / 2 - 1)) {
            if (s >= 3) f(s - 3);
            if (s >= 4) f(s - 4);
          }
        };
        auto is_start = [&](int64_t s) { return s <= 1 || (s == 3 && skippable(0)); };
        auto is_end = [&](int64_t s) { return s >= states - 2 || (skippable(n_b - 1) && s >= states - 4); };
        std::vector<double> alpha(t_b * states, kNegInf), beta(t_b * states, kNegInf);
        for (int64_t s = 0; s < states; ++s) {
          if (is_start(s)) alpha[s] = lp_a[b][0][column(s)];
        }
        for (int64_t t = 1; t < t_b; ++t) {
          for (int64_t s = 0; s < states; ++s) {
            double from = alpha[(t - 1) * states + s];
            for_each_pred(s, [&](int64_t p) { from = LogAdd(from, alpha[(t - 1) * states + p]); });
            alpha[t * states + s] = from == kNegInf ? kNegInf : from + lp_a[b][t][column(s)];
          }
        }
        for (int64_t s = 0; s < states; ++s) {
          if (is_end(s)) beta[(t_b - 1) * states + s] = 0;
        }
        for (int64_t t = t_b - 2; t >= 0; --t) {
          // beta(t, p) = log sum over successors s of p of lp(t + 1, s) + beta(t + 1, s).
          for (int64_t s = 0; s < states; ++s) {
            const double next = beta[(t + 1) * states + s];
            if (next == kNegInf) continue;
            const double via = next + lp_a[b][t + 1][column(s)];
            beta[t * states + s] = LogAdd(beta[t * states + s], via);
            for_each_pred(s, [&](int64_t p) { beta[t * states + p] = LogAdd(beta[t * states + p], via); });
          }
        }
        double log_z = kNegInf;
        for (int64_t s = 0; s < states; ++s) log_z = LogAdd(log_z, alpha[s] + beta[s]);
        if (!std::isfinite(log_z)) continue;  // no complete path: 0, no gradient
        losses[b] = -log_z / n_b;
        for (int64_t t = 0; t < t_b; ++t) {
          for (int64_t s = 0; s < states; ++s) {
            const double a = alpha[t * states + s] + beta[t * states + s];
            if (a != kNegInf) grad_a[b][t][column(s)] -= std::exp(a - log_z) / n_b / batch;
          }
        }
      }
    });
    double total = 0;
    for (double l : losses) total += l;
    ctx->save_for_backward({grad.to(log_probs.device(), log_probs.scalar_type())});
    return torch::tensor(total / batch, torch::TensorOptions().dtype(log_probs.scalar_type()).device(log_probs.device()));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    const torch::Tensor grad = ctx->get_saved_variables()[0];
    return {grad * grad_output[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

absl::StatusOr<torch::Tensor> SkippingForwardSumLoss(const torch::Tensor& log_attention, const torch::Tensor& text_lengths,
                                                     const torch::Tensor& mel_lengths, const torch::Tensor& optional_tokens,
                                                     double blank_logprob) {
  if (absl::Status s = CheckLengths(log_attention, text_lengths, mel_lengths); !s.ok()) return s;
  if (!optional_tokens.defined() || optional_tokens.scalar_type() != torch::kBool || optional_tokens.dim() != 2 ||
      optional_tokens.size(0) != log_attention.size(0) || optional_tokens.size(1) != log_attention.size(2)) {
    return absl::InvalidArgumentError("SkippingForwardSumLoss: optional_tokens must be bool [B, N] like log_attention's B and N");
  }
  try {
    const torch::Tensor tl = text_lengths.to(torch::kCPU, torch::kLong), ml = mel_lengths.to(torch::kCPU, torch::kLong);
    if ((tl < 1).any().item<bool>() || (ml < 1).any().item<bool>() || (tl > log_attention.size(2)).any().item<bool>() ||
        (ml > log_attention.size(1)).any().item<bool>()) {
      return absl::InvalidArgumentError(
          "SkippingForwardSumLoss: every utterance needs >= 1 token and >= 1 frame within the tensor's T and N");
    }
    // The blank and its renormalization exactly as in ForwardSumLoss (differentiated by autograd).
    const int64_t b = log_attention.size(0), n = log_attention.size(2);
    const torch::Device device = log_attention.device();
    torch::Tensor padded = torch::constant_pad_nd(log_attention, {1, 0}, blank_logprob);  // [B, T, N + 1]
    const torch::Tensor keep = torch::cat(
        {torch::ones({b, 1}, torch::TensorOptions().dtype(torch::kBool).device(device)), TokenMask(tl, n, device)}, 1);
    padded = torch::log_softmax(padded.masked_fill(~keep.unsqueeze(1), kMaskedLogProb), -1);
    return SkippingForwardSum::apply(padded, tl, ml, optional_tokens);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SkippingForwardSumLoss: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> SkippingMonotonicAlignmentSearch(const torch::Tensor& log_attention,
                                                               const torch::Tensor& text_lengths,
                                                               const torch::Tensor& mel_lengths,
                                                               const torch::Tensor& optional_tokens) {
  if (absl::Status s = CheckLengths(log_attention, text_lengths, mel_lengths); !s.ok()) return s;
  if (!optional_tokens.defined() || optional_tokens.scalar_type() != torch::kBool || optional_tokens.dim() != 2 ||
      optional_tokens.size(0) != log_attention.size(0) || optional_tokens.size(1) != log_attention.size(2)) {
    return absl::InvalidArgumentError(
        "SkippingMonotonicAlignmentSearch: optional_tokens must be bool [B, N] like log_attention's B and N");
  }
  try {
    const torch::Tensor lp = log_attention.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const torch::Tensor tl = text_lengths.to(torch::kCPU, torch::kLong).contiguous();
    const torch::Tensor ml = mel_lengths.to(torch::kCPU, torch::kLong).contiguous();
    const torch::Tensor opt = optional_tokens.to(torch::kCPU).contiguous();
    const int64_t batch = lp.size(0), t_max = lp.size(1), n_max = lp.size(2);
    auto tl_a = tl.accessor<int64_t, 1>();
    auto ml_a = ml.accessor<int64_t, 1>();
    auto opt_a = opt.accessor<bool, 2>();
    for (int64_t b = 0; b < batch; ++b) {
      int64_t required = 0;
      for (int64_t n = 0; n < std::min(tl_a[b], n_max); ++n) required += opt_a[b][n] ? 0 : 1;
      if (tl_a[b] < 1 || tl_a[b] > n_max || ml_a[b] < std::max<int64_t>(required, 1) || ml_a[b] > t_max) {
        return absl::InvalidArgumentError(absl::StrCat(
            "SkippingMonotonicAlignmentSearch: utterance ", b,
            " needs 1 <= tokens <= N, and frames >= its required tokens and <= T"));
      }
    }
    torch::Tensor durations = torch::zeros({batch, n_max}, torch::kLong);
    auto lp_a = lp.accessor<double, 3>();
    auto d_a = durations.accessor<int64_t, 2>();
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> q;
      std::vector<int8_t> step;  // how (t, n) was reached: by 0, 1 or 2 tokens
      for (int64_t b = begin; b < end; ++b) {
        const int64_t nb = tl_a[b], tb = ml_a[b];
        auto skippable = [&](int64_t n) { return n >= 0 && n < nb && opt_a[b][n]; };
        q.assign(tb * nb, kNegInf);
        step.assign(tb * nb, 0);
        for (int64_t n = 0; n < nb && (n == 0 || skippable(n - 1)); ++n) q[n] = lp_a[b][0][n];
        for (int64_t t = 1; t < tb; ++t) {
          for (int64_t n = 0; n < nb; ++n) {
            double best = q[(t - 1) * nb + n];
            int8_t how = 0;
            if (n >= 1 && q[(t - 1) * nb + n - 1] > best) best = q[(t - 1) * nb + n - 1], how = 1;
            if (n >= 2 && skippable(n - 1) && q[(t - 1) * nb + n - 2] > best) best = q[(t - 1) * nb + n - 2], how = 2;
            if (best == kNegInf) continue;
            q[t * nb + n] = best + lp_a[b][t][n];
            step[t * nb + n] = how;
          }
        }
        int64_t n = nb - 1;
        if (nb >= 2 && skippable(nb - 1) && q[(tb - 1) * nb + nb - 2] > q[(tb - 1) * nb + nb - 1]) n = nb - 2;
        for (int64_t t = tb - 1; t >= 0; --t) {
          ++d_a[b][n];
          if (t > 0) n -= step[t * nb + n];
        }
      }
    });
    return durations.to(log_attention.device());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SkippingMonotonicAlignmentSearch: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> BinarizationLoss(const torch::Tensor& log_attention, const torch::Tensor& durations,
                                               const torch::Tensor& text_lengths, const torch::Tensor& mel_lengths) {
  if (absl::Status s = CheckLengths(log_attention, text_lengths, mel_lengths); !s.ok()) return s;
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
  if (absl::Status s = CheckLengths(log_attention, text_lengths, mel_lengths); !s.ok()) return s;
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
