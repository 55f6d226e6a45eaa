// The RL method: an actor (encoder + policy) chooses the durations and learns them by REINFORCE
// with its own optimizer, while the model learns the mel loss along them (docs/DESIGN.md section 4).
// Two policies: one categorical duration per symbol (RlStep) and the per-frame monotonic walk
// (MonotonicRlStep, rl.monotonic_frame_policy).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "model/aligner.h"
#include "model/length_regulator.h"
#include "rl/baselines.h"
#include "rl/categorical.h"
#include "rl/monotonic.h"
#include "rl/reinforce.h"
#include "rl/rewards.h"
#include "train/method.h"

namespace lightspeech::train::internal {
namespace {

// The per-frame actor's greedy walk per utterance ([1, B, ...]) from advance logits [B, T, N]:
// advance when the probability exceeds one half.
absl::StatusOr<rl::MonotonicPaths> GreedyWalk(const torch::Tensor& logits, const Tensors& b) {
  return rl::SampleMonotonicPaths(logits, b.token_lengths, b.frame_lengths,
                                  torch::full({1, logits.size(0), logits.size(1)}, 0.5f));
}

// What the per-frame actor observes of the aligner's log-attention [B, T, N] for batch `b`: the
// log-attention itself, or its soft value-to-go (rl::SoftValueToGo) when the policy observes that.
absl::StatusOr<torch::Tensor> ObservedScore(const model::AcousticModel& model, const Tensors& b, const torch::Tensor& log_att) {
  if (!model->options().policy.observe_value_to_go) return log_att;
  return rl::SoftValueToGo(log_att, b.token_lengths, b.frame_lengths);
}

uint64_t SplitMix64(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniforms [S, B, width] (row-major) from each utterance's own random stream, a function of (seed,
// step, utterance id) only: an utterance gets the same numbers whatever batch or process it is in and
// however the batch is padded. Row (s, b) fills its first real[b] entries (24-bit uniforms from
// SplitMix64), the rest stay 0.5.
std::vector<float> UtteranceStreamUniforms(const HostBatch& host, int64_t S, int64_t width, const std::vector<int64_t>& real,
                                           uint64_t seed, int64_t step) {
  const int64_t B = static_cast<int64_t>(real.size());
  std::vector<float> u(static_cast<size_t>(S * B * width), 0.5f);
  for (int64_t b = 0; b < B; ++b) {
    uint64_t state = seed * 0xD1B54A32D192ED03ull + static_cast<uint64_t>(step) * 0x9E3779B97F4A7C15ull;
    for (unsigned char ch : host.ids[b]) state = (state ^ ch) * 0x100000001B3ull;  // FNV-1a style
    SplitMix64(state);
    for (int64_t s = 0; s < S; ++s) {
      float* row = u.data() + (s * B + b) * width;
      for (int64_t i = 0; i < real[b]; ++i) row[i] = (static_cast<float>(SplitMix64(state) >> 40) + 0.5f) / 16777216.0f;
    }
  }
  return u;
}

// S joint duration samples [S, B, N] from `policy`, each utterance drawing from its own random
// stream (UtteranceStreamUniforms). Gumbel-max like CategoricalPolicy::Sample; log_prob keeps the graph.
absl::StatusOr<rl::SampledActions> SampleUtteranceStreams(const rl::CategoricalPolicy& policy, int64_t S,
                                                          const HostBatch& host, uint64_t seed, int64_t step) {
  const torch::Tensor lp = policy.log_probs().detach();  // [B, N, K]
  const int64_t B = lp.size(0), N = lp.size(1), K = lp.size(2);
  if (static_cast<int64_t>(host.ids.size()) != B || static_cast<int64_t>(host.token_lengths.size()) != B) {
    return absl::InvalidArgumentError(absl::StrCat("RL sampling: batch has ", host.ids.size(), " ids for ", B, " rows"));
  }
  std::vector<int64_t> real(B);
  for (int64_t b = 0; b < B; ++b) real[b] = std::min<int64_t>(host.token_lengths[b], N) * K;
  std::vector<float> u = UtteranceStreamUniforms(host, S, N * K, real, seed, step);
  torch::Tensor index;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor uniform = torch::from_blob(u.data(), {S, B, N, K}, torch::kFloat)
                                .to(torch::TensorOptions().device(lp.device()), /*non_blocking=*/false, /*copy=*/true);
    torch::Tensor gumbel = -torch::log(-torch::log(uniform));
    index = (lp.unsqueeze(0) + gumbel.to(lp.scalar_type())).argmax(/*dim=*/-1);  // [S, B, N]
  }
  rl::SampledActions out;
  const torch::Tensor mask = policy.mask().unsqueeze(0);
  out.durations = torch::where(mask, index + policy.min_duration(), torch::zeros_like(index));
  LS_ASSIGN_OR_RETURN(out.log_prob, policy.LogProb(out.durations));
  return out;
}

// Rewards of decoded output: [R, B] per utterance or [R, B, N] per token for R rollouts.
absl::StatusOr<torch::Tensor> Rewards(const RlConfig& rl, const model::Synthesis& syn, const torch::Tensor& target,
                                      const torch::Tensor& target_mask, int64_t rollouts, int64_t num_tokens) {
  torch::Tensor pred = FinalMel(syn.mel).detach().to(torch::kFloat);
  const int64_t batch = target.size(0) / rollouts;
  switch (rl.reward()) {
    case RlConfig::PROTOTYPE: {
      LS_ASSIGN_OR_RETURN(torch::Tensor r, rl::PrototypeReward(pred, syn.expanded.frame_mask, target, target_mask));
      return r.view({rollouts, batch});
    }
    case RlConfig::NEGATIVE_L1:
    case RlConfig::NEGATIVE_MSE:
    case RlConfig::REWARD_UNSPECIFIED: {
      const rl::ErrorKind kind = rl.reward() == RlConfig::NEGATIVE_L1 ? rl::ErrorKind::kL1 : rl::ErrorKind::kMse;
      LS_ASSIGN_OR_RETURN(torch::Tensor r, rl::NegativeErrorReward(pred, target, target_mask, kind));
      return r.view({rollouts, batch});
    }
    case RlConfig::PER_TOKEN_MSE:
    case RlConfig::PER_TOKEN_L1: {
      rl::PerTokenRewardOptions o;
      o.kind = rl.reward() == RlConfig::PER_TOKEN_L1 ? rl::ErrorKind::kL1 : rl::ErrorKind::kMse;
      LS_ASSIGN_OR_RETURN(torch::Tensor r, rl::PerTokenReward(pred, target, syn.expanded.frame_to_token,
                                                              syn.expanded.frame_mask, num_tokens, o));
      return r.view({rollouts, batch, num_tokens});
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown rl.reward ", rl.reward()));
  }
}

// Advantages of rewards [S, B] (per utterance) or [S, B, L] (per token or frame; reward_mask of the
// same shape) under the configured baseline. greedy_rewards computes the greedy rollout's rewards
// [1, B(, L)] for SELF_CRITICAL.
absl::StatusOr<torch::Tensor> Advantages(Context& ctx, const torch::Tensor& rewards, const torch::Tensor& reward_mask,
                                         const std::function<absl::StatusOr<torch::Tensor>()>& greedy_rewards) {
  switch (ctx.config.rl().baseline()) {
    case RlConfig::MOVING_AVERAGE:
      // The mean reward of the combined batch (summed over ranks by Reduce), saved in checkpoints.
      return ctx.baseline.Advantage(rewards, reward_mask, ctx.Reduce());
    case RlConfig::LEAVE_ONE_OUT:
      return rl::LeaveOneOutAdvantage(rewards);
    case RlConfig::SELF_CRITICAL: {
      LS_ASSIGN_OR_RETURN(torch::Tensor greedy, greedy_rewards());
      return rl::SelfCriticalAdvantage(rewards, greedy[0]);
    }
    case RlConfig::NO_BASELINE:
      return rewards;
    default:
      return rl::BatchNormalizedAdvantage(rewards, reward_mask, 1e-5, ctx.Reduce());
  }
}

// The model-side terms both RL steps share: the aligner's forward-sum loss (when the step computed
// one; a mean over utterances) and the duration predictor's loss on the durations the decoder used,
// added to out.model_loss and out.terms.
absl::Status AddAlignerAndPredictorLosses(Context& ctx, const torch::Tensor& enc, const Tensors& b, const torch::Tensor& used,
                                          torch::Tensor fs_loss, MicroBatch& out) {
  if (fs_loss.defined()) {
    const double wf = ctx.config.forward_sum_weight();
    fs_loss = fs_loss * ctx.scale.utterances;
    out.model_loss = out.model_loss + wf * fs_loss;
    out.terms.emplace_back("forward_sum_loss", fs_loss.detach());
  }
  if (ctx.model->options().use_predictor) {
    const double wd = ctx.config.duration_loss_weight();
    LS_ASSIGN_OR_RETURN(torch::Tensor dur_loss, PredictorLoss(ctx, enc, b, used));
    dur_loss = dur_loss * ctx.scale.tokens;
    out.model_loss = out.model_loss + wd * dur_loss;
    out.terms.emplace_back("duration_loss", dur_loss.detach());
  }
  return absl::OkStatus();
}

// The per-frame variant (rl.monotonic_frame_policy): S monotonic stay/advance walks per utterance
// through its mel frames (rl/monotonic.h), each frame rewarded on its own: the aligner's
// log-attention of the frame's token (ALIGNMENT_SCORE; the aligner trains on the forward-sum loss)
// or minus the frame's squared error in the decoded sample (the mel-error rewards). Credit is the
// discounted reward-to-go over frames (credit_discount), the baseline as configured; the policy
// loss is normalized per free decision. The decoder and predictor learn from the greedy walk's
// durations (decoder_durations GREEDY) or from all samples.
absl::StatusOr<MicroBatch> MonotonicRlStep(Context& ctx, const Tensors& b) {
  const RlConfig& rc = ctx.config.rl();
  const int64_t S = rc.samples_per_utterance();
  const int64_t B = b.tokens.size(0), N = b.tokens.size(1), T = b.mel.size(1);
  const bool score_reward = rc.reward() == RlConfig::ALIGNMENT_SCORE;
  if (ctx.host == nullptr) return absl::InternalError("RlStep without its host batch");
  MicroBatch out;
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);  // [B, N, C]
  torch::Tensor fs_loss, log_att, log_att_grad;  // the last: differentiable, for the binarization loss
  if (score_reward) {
    model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    log_att_grad = att.log_attention.to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(fs_loss, model::ForwardSumLoss(log_att_grad, b.token_lengths, b.frame_lengths));
    log_att = HardScores(log_att_grad.detach(), b, ctx.separators);  // rewards and what the actor observes
  }
  torch::Tensor observed;
  if (rc.actor_observes_alignment_score()) {
    LS_ASSIGN_OR_RETURN(observed, ObservedScore(ctx.model, b, log_att));
  }
  LS_ASSIGN_OR_RETURN(torch::Tensor adv_logits, ctx.model->AdvanceLogits(enc, b.token_mask, b.mel, b.mel_mask, observed));
  adv_logits = adv_logits.to(torch::kFloat);  // [B, T, N]
  std::vector<int64_t> real(ctx.host->frame_lengths.begin(), ctx.host->frame_lengths.end());
  std::vector<float> u = UtteranceStreamUniforms(*ctx.host, S, T, real, static_cast<uint64_t>(ctx.config.seed()), ctx.step);
  const torch::Tensor uniforms = torch::from_blob(u.data(), {S, B, T}, torch::kFloat).clone();
  LS_ASSIGN_OR_RETURN(rl::MonotonicPaths paths, rl::SampleMonotonicPaths(adv_logits.detach(), b.token_lengths, b.frame_lengths, uniforms));
  // The walk the decoder learns from (GREEDY), computed only when it is used.
  std::optional<rl::MonotonicPaths> decoder_walk;
  if (rc.decoder_durations() == RlConfig::GREEDY) {
    LS_ASSIGN_OR_RETURN(decoder_walk, GreedyWalk(adv_logits.detach(), b));
  }
  LS_ASSIGN_OR_RETURN(torch::Tensor log_prob, rl::MonotonicLogProb(adv_logits, paths));   // [S, B, T]
  LS_ASSIGN_OR_RETURN(torch::Tensor entropy, rl::MonotonicEntropy(adv_logits, paths));    // [S, B, T]

  auto tile = [&](const torch::Tensor& t, int64_t r) {  // [B, ...] -> [r * B, ...]
    std::vector<int64_t> reps(t.dim(), 1);
    reps[0] = r;
    return t.repeat(reps);
  };
  // Rewards of walks [R, B, T] from their frame-to-token maps and durations.
  auto frame_rewards = [&](const rl::MonotonicPaths& p, int64_t R) -> absl::StatusOr<torch::Tensor> {
    torch::NoGradGuard no_grad;
    if (score_reward) return rl::FrameScoreReward(log_att, p.token, b.mel_mask);
    LS_ASSIGN_OR_RETURN(model::Synthesis syn, ctx.model->Decode(tile(enc.detach(), R), p.durations.reshape({R * B, N}),
                                                                tile(b.token_mask, R), {}, tile(b.frame_lengths, R), T));
    torch::Tensor pred = FinalMel(syn.mel).to(torch::kFloat);
    torch::Tensor err = (pred - tile(b.mel, R)).square().mean(-1).view({R, B, T});
    return -err * b.mel_mask.to(torch::kFloat).unsqueeze(0);
  };
  LS_ASSIGN_OR_RETURN(torch::Tensor rewards, frame_rewards(paths, S));
  const torch::Tensor frame_mask = b.mel_mask.to(torch::kBool);
  const torch::Tensor reward_mask = frame_mask.unsqueeze(0).expand({S, B, T});
  const torch::Tensor reward_mean = rewards.masked_select(reward_mask).mean();
  const double gamma = rc.credit_discount();
  if (gamma > 0) {
    LS_ASSIGN_OR_RETURN(rewards, rl::RewardToGo(rewards, frame_mask, gamma));
  }
  auto greedy_rewards_fn = [&]() -> absl::StatusOr<torch::Tensor> {  // SELF_CRITICAL only
    std::optional<rl::MonotonicPaths> greedy = decoder_walk;
    if (!greedy) {
      LS_ASSIGN_OR_RETURN(greedy, GreedyWalk(adv_logits.detach(), b));
    }
    LS_ASSIGN_OR_RETURN(torch::Tensor g, frame_rewards(*greedy, 1));
    if (gamma > 0) return rl::RewardToGo(g, frame_mask, gamma);
    return g;
  };
  LS_ASSIGN_OR_RETURN(torch::Tensor advantages, Advantages(ctx, rewards, reward_mask, greedy_rewards_fn));
  const torch::Tensor free = paths.free.to(torch::kFloat);
  // Normalized per free decision of the combined batch: with several ranks, each divides its sum by
  // (global count / world size), so that the averaged gradients are those of the combined batch.
  torch::Tensor decisions = free.sum().clamp_min(1);
  if (ctx.dist != nullptr) {
    torch::Tensor count = free.sum().to(torch::kDouble).reshape({1});
    ctx.Reduce()(count);
    decisions = (count[0] / ctx.dist->world_size()).clamp_min(1e-9).to(torch::kFloat);
  }
  torch::Tensor policy_loss = -(advantages.detach().to(torch::kFloat) * log_prob).sum() / decisions;
  torch::Tensor mean_entropy = entropy.sum() / decisions;

  torch::Tensor mel_loss, used;
  if (decoder_walk) {
    LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                        ctx.model->Decode(enc, decoder_walk->durations[0], b.token_mask, {}, b.frame_lengths, T));
    mel_loss = MelLoss(syn, b);
    used = syn.expanded.durations;
  } else {
    const torch::Tensor mel_s = tile(b.mel, S), mel_mask_s = tile(b.mel_mask, S);
    LS_ASSIGN_OR_RETURN(model::Synthesis syn, ctx.model->Decode(tile(enc, S), paths.durations.reshape({S * B, N}),
                                                                tile(b.token_mask, S), {}, tile(b.frame_lengths, S), T));
    mel_loss = MaskedMse(syn.mel.mel, mel_s, mel_mask_s);
    if (syn.mel.mel_postnet.defined() && !syn.mel.mel_postnet.is_same(syn.mel.mel)) {
      mel_loss = mel_loss + MaskedMse(syn.mel.mel_postnet, mel_s, mel_mask_s);
    }
    used = syn.expanded.durations.view({S, B, N})[0];
  }
  mel_loss = mel_loss * ctx.scale.frames;
  out.model_loss = mel_loss;
  out.actor_loss = policy_loss - rc.entropy_weight() * mean_entropy;
  out.terms = {{"mel_loss", mel_loss.detach()}, {"policy_loss", policy_loss.detach()}, {"entropy", mean_entropy.detach()}};
  LS_RETURN_IF_ERROR(AddAlignerAndPredictorLosses(ctx, enc, b, used, fs_loss, out));
  if (log_att_grad.defined() && decoder_walk) {  // config validation asks for both
    LS_RETURN_IF_ERROR(AddBinarizationLoss(ctx, log_att_grad, decoder_walk->durations[0], b, out));
  }
  out.terms.emplace_back("reward", reward_mean.detach() * ctx.scale.frames);
  out.terms.emplace_back("mean_duration", MeanDuration(paths.durations.view({S * B, N}), tile(b.token_mask, S)) * ctx.scale.tokens);
  out.terms.emplace_back("mean_fitted_duration", MeanDuration(used, b.token_mask) * ctx.scale.tokens);
  out.terms.emplace_back("free_decision_share", free.sum() / (reward_mask.to(torch::kFloat).sum().clamp_min(1)));
  return out;
}

// The categorical policy's two-optimizer policy-gradient step: S sampled duration sequences per
// utterance, each fitted to the target length; the actor (encoder + policy) learns the REINFORCE
// loss of exactly the sampled durations. Rewards come from decoding every sample (mel-error rewards)
// or from the forward-sum aligner's log-attention along each sample's alignment (ALIGNMENT_SCORE, no
// decoding). The model learns the mel loss over all samples (decoder_durations SAMPLES) or over the
// actor's greedy durations (GREEDY), plus the aligner's forward-sum loss when it has one.
absl::StatusOr<MicroBatch> RlStep(Context& ctx, const Tensors& b) {
  const RlConfig& rc = ctx.config.rl();
  const int64_t S = rc.samples_per_utterance();
  const int64_t B = b.tokens.size(0), N = b.tokens.size(1), T = b.mel.size(1);
  const bool score_reward = rc.reward() == RlConfig::ALIGNMENT_SCORE;
  const bool decode_greedy = rc.decoder_durations() == RlConfig::GREEDY;
  MicroBatch out;
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);  // [B, N, C]
  torch::Tensor logits = ctx.model->PolicyLogits(enc, b.token_mask, b.mel, b.mel_mask).to(torch::kFloat);
  rl::CategoricalOptions co;
  co.temperature = rc.temperature();
  LS_ASSIGN_OR_RETURN(rl::CategoricalPolicy policy, rl::CategoricalPolicy::Create(logits, b.token_mask, co));
  if (ctx.host == nullptr) return absl::InternalError("RlStep without its host batch");
  LS_ASSIGN_OR_RETURN(rl::SampledActions a,  // [S, B, N]
                      SampleUtteranceStreams(policy, S, *ctx.host, static_cast<uint64_t>(ctx.config.seed()), ctx.step));

  auto tile = [&](const torch::Tensor& t, int64_t r) {  // [B, ...] -> [r * B, ...]
    std::vector<int64_t> reps(t.dim(), 1);
    reps[0] = r;
    return t.repeat(reps);
  };
  const torch::Tensor mask_s = tile(b.token_mask, S), mel_s = tile(b.mel, S), mel_mask_s = tile(b.mel_mask, S);
  torch::Tensor mel_loss, rewards, fs_loss, used;
  if (score_reward) {
    model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    const torch::Tensor log_att = att.log_attention.to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(fs_loss, model::ForwardSumLoss(log_att, b.token_lengths, b.frame_lengths));
    LS_ASSIGN_OR_RETURN(torch::Tensor fitted,
                        model::FitDurations(a.durations.reshape({S * B, N}), mask_s, tile(b.frame_lengths, S)));
    LS_ASSIGN_OR_RETURN(rewards, rl::AlignmentScoreReward(log_att.detach(), fitted.view({S, B, N})));
  }
  if (decode_greedy) {
    LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                        ctx.model->Decode(enc, policy.Greedy(), b.token_mask, {}, b.frame_lengths, T));
    mel_loss = MelLoss(syn, b);
    used = syn.expanded.durations;
    if (!score_reward) {
      torch::NoGradGuard no_grad;
      LS_ASSIGN_OR_RETURN(model::Synthesis samples, ctx.model->Decode(tile(enc.detach(), S), a.durations.reshape({S * B, N}),
                                                                      mask_s, {}, tile(b.frame_lengths, S), T));
      LS_ASSIGN_OR_RETURN(rewards, Rewards(rc, samples, mel_s, mel_mask_s, S, N));
    }
  } else {
    LS_ASSIGN_OR_RETURN(model::Synthesis syn, ctx.model->Decode(tile(enc, S), a.durations.reshape({S * B, N}), mask_s, {},
                                                                tile(b.frame_lengths, S), T));
    mel_loss = MaskedMse(syn.mel.mel, mel_s, mel_mask_s);
    if (syn.mel.mel_postnet.defined() && !syn.mel.mel_postnet.is_same(syn.mel.mel)) {
      mel_loss = mel_loss + MaskedMse(syn.mel.mel_postnet, mel_s, mel_mask_s);
    }
    used = syn.expanded.durations.view({S, B, N})[0];
    if (!score_reward) {
      LS_ASSIGN_OR_RETURN(rewards, Rewards(rc, syn, mel_s, mel_mask_s, S, N));
    }
  }
  mel_loss = mel_loss * ctx.scale.frames;
  const bool per_token = rewards.dim() == 3;
  const torch::Tensor reward_mask = per_token ? b.token_mask.unsqueeze(0).expand({S, B, N}) : torch::Tensor();
  const torch::Tensor reward_mean = per_token ? rewards.masked_select(reward_mask).mean() : rewards.mean();
  if (per_token && rc.credit_discount() > 0) {
    LS_ASSIGN_OR_RETURN(rewards, rl::RewardToGo(rewards, b.token_mask, rc.credit_discount()));
  }

  auto greedy_rewards_fn = [&]() -> absl::StatusOr<torch::Tensor> {
    torch::NoGradGuard no_grad;
    torch::Tensor greedy_rewards;
    if (score_reward) {
      model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
      LS_ASSIGN_OR_RETURN(torch::Tensor fitted, model::FitDurations(policy.Greedy(), b.token_mask, b.frame_lengths));
      LS_ASSIGN_OR_RETURN(greedy_rewards, rl::AlignmentScoreReward(att.log_attention.to(torch::kFloat), fitted.unsqueeze(0)));
    } else {
      LS_ASSIGN_OR_RETURN(model::Synthesis greedy,
                          ctx.model->Decode(enc.detach(), policy.Greedy(), b.token_mask, {}, b.frame_lengths, T));
      LS_ASSIGN_OR_RETURN(greedy_rewards, Rewards(rc, greedy, b.mel, b.mel_mask, 1, N));
    }
    if (per_token && rc.credit_discount() > 0) {
      LS_ASSIGN_OR_RETURN(greedy_rewards, rl::RewardToGo(greedy_rewards, b.token_mask, rc.credit_discount()));
    }
    return greedy_rewards;
  };
  LS_ASSIGN_OR_RETURN(torch::Tensor advantages, Advantages(ctx, rewards, reward_mask, greedy_rewards_fn));
  rl::ReinforceOptions ro;
  ro.entropy_coef = rc.entropy_weight();
  ro.normalization = rc.normalize_per_sequence() ? rl::ReinforceOptions::Normalization::kPerSequence
                                                 : rl::ReinforceOptions::Normalization::kPerToken;
  LS_ASSIGN_OR_RETURN(rl::ReinforceLossTerms pg, rl::ReinforceLoss(a.log_prob, advantages, b.token_mask, policy.Entropy(), ro));
  if (ctx.dist != nullptr) {
    // loss = policy_loss - entropy_coef * entropy (rl/reinforce.h), each rescaled by its own count.
    pg.policy_loss = pg.policy_loss * (rc.normalize_per_sequence() ? ctx.scale.utterances : ctx.scale.tokens);
    pg.entropy = pg.entropy * ctx.scale.tokens;
    pg.loss = pg.policy_loss - rc.entropy_weight() * pg.entropy;
  }

  out.model_loss = mel_loss;
  out.actor_loss = pg.loss;
  out.terms = {{"mel_loss", mel_loss.detach()}, {"policy_loss", pg.policy_loss.detach()}, {"entropy", pg.entropy.detach()}};
  LS_RETURN_IF_ERROR(AddAlignerAndPredictorLosses(ctx, enc, b, used, fs_loss, out));
  out.terms.emplace_back("reward", reward_mean.detach() * (per_token ? ctx.scale.tokens : ctx.scale.utterances));
  out.terms.emplace_back("mean_duration", MeanDuration(a.durations.view({S * B, N}), mask_s) * ctx.scale.tokens);
  out.terms.emplace_back("mean_fitted_duration", MeanDuration(used, b.token_mask) * ctx.scale.tokens);
  return out;
}

// The categorical policy: one duration per symbol.
class CategoricalRlMethod final : public Method {
 public:
  bool has_actor() const override { return true; }

  absl::StatusOr<MicroBatch> Step(Context& ctx, const Tensors& b) const override { return RlStep(ctx, b); }

  // The policy's greedy durations.
  absl::StatusOr<torch::Tensor> Durations(model::AcousticModel& model, const Tensors& b, const torch::Tensor& enc,
                                          const Separators& separators) const override {
    torch::Tensor logits = model->PolicyLogits(enc, b.token_mask, b.mel, b.mel_mask).to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(rl::CategoricalPolicy p, rl::CategoricalPolicy::Create(logits, b.token_mask));
    return p.Greedy();
  }
};

// The per-frame policy: a monotonic stay/advance walk through the frames.
class MonotonicRlMethod final : public Method {
 public:
  bool has_actor() const override { return true; }

  absl::StatusOr<MicroBatch> Step(Context& ctx, const Tensors& b) const override { return MonotonicRlStep(ctx, b); }

  // The greedy walk.
  absl::StatusOr<torch::Tensor> Durations(model::AcousticModel& model, const Tensors& b, const torch::Tensor& enc,
                                          const Separators& separators) const override {
    torch::Tensor similarity;
    if (model->options().policy.observe_alignment_score) {
      LS_ASSIGN_OR_RETURN(
          similarity,
          ObservedScore(model, b,
                        HardScores(model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths).log_attention.to(torch::kFloat),
                                   b, separators)));
    }
    LS_ASSIGN_OR_RETURN(torch::Tensor logits, model->AdvanceLogits(enc, b.token_mask, b.mel, b.mel_mask, similarity));
    LS_ASSIGN_OR_RETURN(rl::MonotonicPaths walk, GreedyWalk(logits.to(torch::kFloat), b));
    return walk.durations[0];
  }
};

}  // namespace

std::unique_ptr<Method> NewCategoricalRlMethod() { return std::make_unique<CategoricalRlMethod>(); }
std::unique_ptr<Method> NewMonotonicRlMethod() { return std::make_unique<MonotonicRlMethod>(); }

}  // namespace lightspeech::train::internal
