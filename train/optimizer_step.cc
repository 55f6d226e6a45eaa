// One optimizer step of the training loop (Trainer::Train), as named steps: its micro-batches
// through the method (with the non-finite loss guard and back-propagation), then the gradients
// (averaged over ranks, the gradient-norm guard, clipping) and the optimizers' steps; and the ranks'
// agreement before the first step.

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "torch/torch.h"
#include "train/compat.h"
#include "train/step_context.h"
#include "train/trainer.h"
#include "train/trainer_state.h"

namespace lightspeech::train::internal {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

absl::Status SynchronizeRanks(TrainerState& s, std::vector<torch::Tensor>& model_params) {
  // Every rank must start at the same step (one that resumed from another checkpoint, or found
  // none, would silently train another model); then rank 0's parameters are copied to all.
  try {
    torch::NoGradGuard no_grad;
    const double at = static_cast<double>(s.step), w = s.world_size;
    torch::Tensor steps = torch::tensor({at, at * at}, torch::kDouble);
    LS_RETURN_IF_ERROR(s.dist->AllReduceSum(steps));
    const double mean = steps[0].item<double>() / w;
    if (mean != at || steps[1].item<double>() / w != at * at) {
      return absl::FailedPreconditionError(absl::StrCat(
          "rank ", s.rank, " starts at step ", s.step, " but the ranks disagree (mean step ", mean,
          "): every rank must resume from the same checkpoint (a run folder all of them read)"));
    }
    for (auto& p : model_params) {
      torch::Tensor copy = s.rank == 0 ? p.detach().clone() : torch::zeros_like(p);
      LS_RETURN_IF_ERROR(s.dist->AllReduceSum(copy));
      p.detach().copy_(copy);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("synchronizing ranks: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status RunMicroBatch(TrainerState& s, Context& ctx, BatchSource& train, int64_t step, int accumulation,
                           const std::vector<torch::Tensor>& actor_params, std::vector<torch::Tensor>& actor_grads,
                           std::map<std::string, double>& terms, LogWindow& window) {
  const auto wait_start = Clock::now();
  absl::StatusOr<HostBatch> host = train.Next();
  window.wait += std::chrono::duration<double>(Clock::now() - wait_start).count();
  if (!host.ok()) {
    return absl::Status(host.status().code(), absl::StrCat("step ", step, ": training data: ", host.status().message()));
  }
  if (host->n_mels != s.n_mels) {
    return absl::InvalidArgumentError(
        absl::StrCat("step ", step, ": batch has ", host->n_mels, " mel bins, the model ", s.n_mels));
  }
  double utterances = host->batch_size, frames = host->total_frames(), tokens = 0;
  for (int64_t n : host->token_lengths) tokens += n;
  ctx.scale = Scales();
  if (s.dist != nullptr) {
    // Global counts of the combined batch, for the loss normalizations (see Scales).
    torch::Tensor counts = torch::tensor({utterances, tokens, frames}, torch::kDouble);
    if (absl::Status st = s.dist->AllReduceSum(counts); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("step ", step, ": ", st.message()));
    }
    const double w = s.world_size;
    ctx.scale.utterances = utterances * w / counts[0].item<double>();
    ctx.scale.tokens = tokens * w / counts[1].item<double>();
    ctx.scale.frames = frames * w / counts[2].item<double>();
    utterances = counts[0].item<double>();
    frames = counts[2].item<double>();
  }
  window.frames += frames;
  window.utterances += utterances;
  LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(*host, s.device));
  ctx.step = step;
  ctx.host = &*host;
  absl::StatusOr<MicroBatch> mb;
  {
    compat::ScopedCudaBf16Autocast autocast(s.config.bf16() && s.device.is_cuda());
    mb = s.method->Step(ctx, b);
  }
  ctx.host = nullptr;
  if (mb.ok() && !ctx.reduce_status.ok()) mb = ctx.reduce_status;
  if (!mb.ok()) return absl::Status(mb.status().code(), absl::StrCat("step ", step, ": ", mb.status().message()));
  // The guard: one host read of every term; nothing is back-propagated or stepped when any is
  // not finite. With several ranks the terms are averaged first (each is scaled so that the
  // mean is the combined batch's value), so every rank takes the same decision.
  std::vector<torch::Tensor> values;
  for (const auto& [name, v] : mb->terms) values.push_back(v.to(torch::kDouble).reshape({1}));
  torch::Tensor host_values = torch::cat(values).to(torch::kCPU);
  if (s.dist != nullptr) {
    if (absl::Status st = s.dist->AllReduceSum(host_values); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("step ", step, ": ", st.message()));
    }
    host_values.div_(s.world_size);
  }
  bool finite = true;
  std::vector<std::string> described;
  for (size_t i = 0; i < mb->terms.size(); ++i) {
    const double v = host_values[i].item<double>();
    finite = finite && std::isfinite(v);
    terms[mb->terms[i].first] += v / accumulation;
    described.push_back(absl::StrCat(mb->terms[i].first, "=", v));
  }
  if (!finite) {
    const std::string msg = absl::StrCat("step ", step, ": non-finite loss (", absl::StrJoin(described, ", "),
                                         "); stopping without a checkpoint of this state");
    s.Log(msg);
    return absl::InvalidArgumentError(msg);
  }
  if (s.method->has_actor()) {
    // The policy gradient first: the model step must not run before it is taken.
    std::vector<torch::Tensor> g = torch::autograd::grad({mb->actor_loss / accumulation}, actor_params, {},
                                                         /*retain_graph=*/true, /*create_graph=*/false,
                                                         /*allow_unused=*/true);
    for (size_t i = 0; i < g.size(); ++i) {
      if (!g[i].defined()) continue;
      actor_grads[i] = actor_grads[i].defined() ? actor_grads[i] + g[i] : g[i].clone();
    }
  }
  (mb->model_loss / accumulation).backward();
  return absl::OkStatus();
}

absl::Status ApplyGradients(TrainerState& s, int64_t step, std::vector<torch::Tensor>& model_params,
                            std::vector<torch::Tensor>& actor_params, std::vector<torch::Tensor>& actor_grads,
                            std::map<std::string, double>& terms) {
  const TrainConfig& c = s.config;
  const double clip = c.optimizer().grad_clip_norm();
  const double actor_scale = c.rl().actor_lr_scale();
  const bool rl_method = s.method->has_actor();
  if (s.dist != nullptr) {
    // Gradients averaged over ranks before clipping, so every rank clips and steps the same.
    std::vector<torch::Tensor> grads;
    for (auto& p : model_params) grads.push_back(p.grad());
    absl::Status st = s.dist->AverageTensors(grads);
    if (st.ok() && rl_method) st = s.dist->AverageTensors(actor_grads);
    if (!st.ok()) return absl::Status(st.code(), absl::StrCat("step ", step, ": averaging gradients: ", st.message()));
  }
  // Clipping and the gradient-norm guard.
  auto norm_of = [](const std::vector<torch::Tensor>& grads) {
    std::vector<torch::Tensor> n;
    for (const auto& g : grads) {
      if (g.defined()) n.push_back(g.to(torch::kFloat).norm().reshape({1}));
    }
    return n.empty() ? 0.0 : torch::cat(n).norm().item<double>();
  };
  std::vector<torch::Tensor> model_grads;
  for (auto& p : model_params) model_grads.push_back(p.grad());
  const double model_norm = norm_of(model_grads);
  const double actor_norm = rl_method ? norm_of(actor_grads) : 0.0;
  if (!std::isfinite(model_norm) || !std::isfinite(actor_norm)) {
    std::vector<std::string> described;
    for (const auto& [name, v] : terms) described.push_back(absl::StrCat(name, "=", v));
    const std::string msg =
        absl::StrCat("step ", step, ": non-finite gradient norm (model ", model_norm, ", actor ", actor_norm,
                     "; ", absl::StrJoin(described, ", "), "); stopping without a checkpoint of this state");
    s.Log(msg);
    return absl::InvalidArgumentError(msg);
  }
  if (clip > 0) {
    torch::NoGradGuard no_grad;
    if (model_norm > clip) {
      for (auto& g : model_grads) {
        if (g.defined()) g.mul_(clip / (model_norm + 1e-6));
      }
    }
    if (actor_norm > clip) {
      for (auto& g : actor_grads) {
        if (g.defined()) g.mul_(clip / (actor_norm + 1e-6));
      }
    }
  }
  terms["grad_norm"] = model_norm;
  if (rl_method) terms["actor_grad_norm"] = actor_norm;
  const double lr = LearningRate(c.optimizer(), step, c.steps());
  for (auto& g : s.opt_model->param_groups()) g.options().set_lr(lr);
  s.opt_model->step();
  if (rl_method) {
    for (auto& g : s.opt_actor->param_groups()) g.options().set_lr(lr * actor_scale);
    for (size_t i = 0; i < actor_params.size(); ++i) actor_params[i].mutable_grad() = actor_grads[i];
    s.opt_actor->step();
  }
  for (auto& p : model_params) p.mutable_grad() = torch::Tensor();
  terms["lr"] = lr;
  return absl::OkStatus();
}

}  // namespace lightspeech::train::internal
