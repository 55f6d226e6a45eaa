#include "rl/monotonic.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace lightspeech::rl {
namespace {

absl::Status CheckPaths(const torch::Tensor& advance_logits, const MonotonicPaths& paths) {
  if (!advance_logits.defined() || advance_logits.dim() != 3 || !advance_logits.is_floating_point()) {
    return absl::InvalidArgumentError("advance_logits must be a floating-point [B, T, N] tensor");
  }
  if (!paths.prev_token.defined() || paths.prev_token.dim() != 3 || paths.prev_token.size(1) != advance_logits.size(0) ||
      paths.prev_token.size(2) != advance_logits.size(1) || !paths.advanced.defined() || !paths.free.defined() ||
      paths.advanced.sizes() != paths.prev_token.sizes() || paths.free.sizes() != paths.prev_token.sizes()) {
    return absl::InvalidArgumentError("paths must be [S, B, T] matching advance_logits [B, T, N]");
  }
  return absl::OkStatus();
}

// The logit of each path's decision state: advance_logits[b, t, prev_token[s, b, t]] -> [S, B, T].
torch::Tensor DecisionLogits(const torch::Tensor& advance_logits, const MonotonicPaths& paths) {
  const int64_t S = paths.prev_token.size(0);
  torch::Tensor expanded = advance_logits.unsqueeze(0).expand({S, -1, -1, -1});
  return expanded.gather(3, paths.prev_token.unsqueeze(3)).squeeze(3);
}

// Lengths of a [B, T, N] input's utterances, on the host (int64, contiguous).
struct HostLengths {
  torch::Tensor tokens, frames;
};

// The checks SampleMonotonicPaths and SoftValueToGo share: `x` (called `x_name` in the messages,
// which start with `fn`) is a floating-point [B, T, N] tensor, and every utterance has
// 1 <= tokens <= frames within N x T.
absl::StatusOr<HostLengths> CheckLengths(absl::string_view fn, absl::string_view x_name, const torch::Tensor& x,
                                         const torch::Tensor& token_lengths, const torch::Tensor& frame_lengths) {
  if (!x.defined() || x.dim() != 3 || !x.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat(fn, ": ", x_name, " must be a floating-point [B, T, N] tensor"));
  }
  const int64_t B = x.size(0), T = x.size(1), N = x.size(2);
  if (!token_lengths.defined() || !frame_lengths.defined() || token_lengths.numel() != B || frame_lengths.numel() != B) {
    return absl::InvalidArgumentError(absl::StrCat(fn, ": token_lengths and frame_lengths must have ", B, " entries"));
  }
  HostLengths h;
  try {
    h.tokens = token_lengths.to(torch::kCPU, torch::kLong).contiguous().view({-1});
    h.frames = frame_lengths.to(torch::kCPU, torch::kLong).contiguous().view({-1});
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(fn, ": ", e.what_without_backtrace()));
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = h.tokens.data_ptr<int64_t>()[b], t = h.frames.data_ptr<int64_t>()[b];
    if (n < 1 || n > N || t < n || t > T) {
      return absl::InvalidArgumentError(absl::StrCat(fn, ": utterance ", b, " has ", n, " tokens and ", t,
                                                     " frames (need 1 <= tokens <= frames, within ", N, " x ", T, ")"));
    }
  }
  return h;
}

}  // namespace

absl::StatusOr<MonotonicPaths> SampleMonotonicPaths(const torch::Tensor& advance_logits, const torch::Tensor& token_lengths,
                                                    const torch::Tensor& frame_lengths, const torch::Tensor& uniforms) {
  LS_ASSIGN_OR_RETURN(
      const HostLengths lengths,
      CheckLengths("SampleMonotonicPaths", "advance_logits", advance_logits, token_lengths, frame_lengths));
  const int64_t B = advance_logits.size(0), T = advance_logits.size(1), N = advance_logits.size(2);
  if (!uniforms.defined() || uniforms.dim() != 3 || uniforms.size(1) != B || uniforms.size(2) != T) {
    return absl::InvalidArgumentError(absl::StrCat("SampleMonotonicPaths: uniforms must be [S, ", B, ", ", T, "]"));
  }
  const int64_t S = uniforms.size(0);
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = advance_logits.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const torch::Tensor u = uniforms.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const torch::Tensor& nl = lengths.tokens;
    const torch::Tensor& tl = lengths.frames;
    const float* a = logits.data_ptr<float>();
    const float* up = u.data_ptr<float>();
    torch::Tensor durations = torch::zeros({S, B, N}, torch::kLong);
    torch::Tensor token = torch::zeros({S, B, T}, torch::kLong), prev = torch::zeros({S, B, T}, torch::kLong);
    torch::Tensor advanced = torch::zeros({S, B, T}, torch::kBool), free = torch::zeros({S, B, T}, torch::kBool);
    int64_t* dp = durations.data_ptr<int64_t>();
    int64_t* tp = token.data_ptr<int64_t>();
    int64_t* pp = prev.data_ptr<int64_t>();
    bool* ap = advanced.data_ptr<bool>();
    bool* fp = free.data_ptr<bool>();
    for (int64_t s = 0; s < S; ++s) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n_b = nl.data_ptr<int64_t>()[b], t_b = tl.data_ptr<int64_t>()[b];
        const int64_t row = s * B + b;
        int64_t j = 0;
        dp[row * N] = 1;
        for (int64_t t = 1; t < t_b; ++t) {
          const int64_t at = row * T + t;
          pp[at] = j;
          bool advance;
          if (j == n_b - 1) {
            advance = false;  // the last token takes the remaining frames
          } else if (t_b - t == n_b - 1 - j) {
            advance = true;  // exactly enough frames left for the remaining tokens
          } else {
            const float x = a[(b * T + t) * N + j];
            const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
            advance = up[at] < p;
            fp[at] = true;
          }
          ap[at] = advance;
          if (advance) ++j;
          tp[at] = j;
          ++dp[row * N + j];
        }
      }
    }
    const torch::Device device = advance_logits.device();
    return MonotonicPaths{durations.to(device), token.to(device), prev.to(device), advanced.to(device), free.to(device)};
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SampleMonotonicPaths: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> MonotonicLogProb(const torch::Tensor& advance_logits, const MonotonicPaths& paths) {
  if (absl::Status s = CheckPaths(advance_logits, paths); !s.ok()) return absl::InvalidArgumentError(absl::StrCat("MonotonicLogProb: ", s.message()));
  try {
    torch::Tensor x = DecisionLogits(advance_logits, paths);
    torch::Tensor lp = torch::where(paths.advanced, torch::log_sigmoid(x), torch::log_sigmoid(-x));
    return lp * paths.free.to(lp.scalar_type());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MonotonicLogProb: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> MonotonicEntropy(const torch::Tensor& advance_logits, const MonotonicPaths& paths) {
  if (absl::Status s = CheckPaths(advance_logits, paths); !s.ok()) return absl::InvalidArgumentError(absl::StrCat("MonotonicEntropy: ", s.message()));
  try {
    torch::Tensor x = DecisionLogits(advance_logits, paths);
    torch::Tensor p = torch::sigmoid(x);
    // H = -p log p - (1 - p) log(1 - p), with log p = logsigmoid(x), log(1 - p) = logsigmoid(-x).
    torch::Tensor h = -(p * torch::log_sigmoid(x) + (1 - p) * torch::log_sigmoid(-x));
    return h * paths.free.to(h.scalar_type());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MonotonicEntropy: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> SoftValueToGo(const torch::Tensor& score, const torch::Tensor& token_lengths,
                                            const torch::Tensor& frame_lengths) {
  LS_ASSIGN_OR_RETURN(const HostLengths lengths,
                      CheckLengths("SoftValueToGo", "score", score, token_lengths, frame_lengths));
  const int64_t B = score.size(0), T = score.size(1), N = score.size(2);
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor s = score.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const torch::Tensor& nl = lengths.tokens;
    const torch::Tensor& tl = lengths.frames;
    const double kNone = -std::numeric_limits<double>::infinity();
    torch::Tensor q = torch::full({B, T, N}, kNone, torch::kDouble);
    const double* sp = s.data_ptr<double>();
    double* qp = q.data_ptr<double>();
    // log(exp(x) + exp(y)) with -inf handled.
    auto log_add = [kNone](double x, double y) {
      if (x == kNone) return y;
      if (y == kNone) return x;
      return std::max(x, y) + std::log1p(std::exp(-std::abs(x - y)));
    };
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n_b = nl.data_ptr<int64_t>()[b], t_b = tl.data_ptr<int64_t>()[b];
      const double* sb = sp + b * T * N;
      double* qb = qp + b * T * N;
      qb[(t_b - 1) * N + n_b - 1] = sb[(t_b - 1) * N + n_b - 1];
      for (int64_t t = t_b - 2; t >= 0; --t) {
        // Frame t on token n leaves t_b - 1 - t frames for the n_b - 1 - n tokens after it.
        for (int64_t n = std::max<int64_t>(0, n_b - (t_b - t)); n < n_b; ++n) {
          const double* next = qb + (t + 1) * N;
          const double rest = log_add(next[n], n + 1 < n_b ? next[n + 1] : kNone);
          if (rest != kNone) qb[t * N + n] = sb[t * N + n] + rest;
        }
      }
    }
    return q.to(torch::kFloat).to(score.device());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SoftValueToGo: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> FrameScoreReward(const torch::Tensor& score, const torch::Tensor& token,
                                               const torch::Tensor& frame_mask) {
  if (!score.defined() || score.dim() != 3 || !score.is_floating_point()) {
    return absl::InvalidArgumentError("FrameScoreReward: score must be a floating-point [B, T, N] tensor");
  }
  if (!token.defined() || token.dim() != 3 || token.size(1) != score.size(0) || token.size(2) != score.size(1) ||
      !frame_mask.defined() || frame_mask.dim() != 2 || frame_mask.size(0) != score.size(0) ||
      frame_mask.size(1) != score.size(1)) {
    return absl::InvalidArgumentError("FrameScoreReward: token must be [S, B, T] and frame_mask [B, T] matching score [B, T, N]");
  }
  try {
    torch::NoGradGuard no_grad;
    const int64_t S = token.size(0);
    torch::Tensor s = score.detach().to(torch::kFloat);
    torch::Tensor r = s.unsqueeze(0).expand({S, -1, -1, -1}).gather(3, token.to(torch::kLong).unsqueeze(3)).squeeze(3);
    const torch::Tensor m = frame_mask.to(torch::kBool).unsqueeze(0).expand_as(r);
    return torch::where(m & torch::isfinite(r), r, torch::zeros_like(r));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("FrameScoreReward: ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::rl
