#include "train/trainer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "model/acoustic_model.h"
#include "torch/torch.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/feature_settings.h"
#include "train/method.h"
#include "train/model_factory.h"
#include "train/step_context.h"
#include "train/trainer_state.h"

namespace lightspeech::train {

using internal::Context;

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kPi = 3.14159265358979323846;

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

}  // namespace

double LearningRate(const OptimizerConfig& o, int64_t step, int64_t total_steps) {
  const double lr = o.lr();
  const int64_t warmup = o.warmup_steps();
  if (step < 1) step = 1;
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / warmup;
  switch (o.decay()) {
    case OptimizerConfig::INVERSE_SQRT:
      return lr * std::sqrt(static_cast<double>(std::max<int64_t>(warmup, 1)) / step);
    case OptimizerConfig::COSINE: {
      const double span = std::max<int64_t>(total_steps - warmup, 1);
      const double progress = std::min(1.0, (step - warmup) / span);
      return lr * (o.min_lr_ratio() + (1 - o.min_lr_ratio()) * 0.5 * (1 + std::cos(kPi * progress)));
    }
    case OptimizerConfig::EXPONENTIAL: {
      return lr * std::pow(o.decay_rate(), (step - warmup) / static_cast<double>(o.decay_steps()));
    }
    default:
      return lr;
  }
}

Trainer::Trainer(std::unique_ptr<State> state) : s_(std::move(state)) {}

Trainer::~Trainer() {
  if (s_ && s_->log != nullptr) std::fclose(s_->log);
}

int64_t Trainer::step() const { return s_->step; }
DataPosition Trainer::data_position() const { return s_->position; }
const TrainConfig& Trainer::config() const { return s_->config; }
int64_t Trainer::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : s_->model_params) n += p.numel();
  return n;
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& config, const records::SymbolTable& symbols,
                                                         int n_mels, int max_duration, const std::string& device,
                                                         MetricsSink* sink, const std::string& log_path,
                                                         Distributed* distributed) {
  TrainConfig resolved_config = config;
  ApplyTrainDefaults(&resolved_config);
  LS_RETURN_IF_ERROR(ValidateTrainConfig(resolved_config));
  if (config.run_dir().empty()) return absl::InvalidArgumentError("TrainConfig: run_dir is empty");
  if (symbols.symbols_size() < 2) return absl::InvalidArgumentError("Trainer: the symbol table has fewer than 2 symbols");
  if (n_mels <= 0) return absl::InvalidArgumentError("Trainer: n_mels must be > 0");
  auto s = std::make_unique<State>();
  s->config = std::move(resolved_config);
  const TrainConfig& c = s->config;
  // Only the MOVING_AVERAGE baseline reads the decay, which ApplyTrainDefaults fills for RL only.
  s->baseline = rl::MovingAverageBaseline(c.aligner() == TrainConfig::RL ? c.rl().moving_average_decay()
                                                                          : kDefaultMovingAverageDecay);
  if (s->config.model().max_duration() == 0) s->config.mutable_model()->set_max_duration(max_duration);
  s->max_duration = s->config.model().max_duration();
  if (s->max_duration < 2) return absl::InvalidArgumentError("Trainer: max_duration (K) must be >= 2");
  s->symbols = symbols;
  s->n_mels = n_mels;
  s->separators = internal::MakeSeparators(c, symbols);
  s->dist = distributed != nullptr && distributed->world_size() > 1 ? distributed : nullptr;
  if (s->dist != nullptr) {
    s->rank = s->dist->rank();
    s->world_size = s->dist->world_size();
  }
  LS_ASSIGN_OR_RETURN(s->method, internal::CreateMethod(c, s->world_size));
  s->sink = s->is_main() ? sink : nullptr;
  LS_ASSIGN_OR_RETURN(const std::string resolved, ResolveDevice(device));
  s->device = torch::Device(resolved);

  s->run_dir = c.run_dir();
  s->checkpoint_dir = s->run_dir + "/checkpoints";
  if (s->is_main()) {  // other ranks write nothing
    for (const std::string& dir : {s->run_dir, s->checkpoint_dir}) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return base::ErrnoStatus(dir, "cannot create folder", errno);
    }
    LS_RETURN_IF_ERROR(WriteResolvedConfig(s->config, s->run_dir));
    s->log_path = log_path.empty() ? s->run_dir + "/train.log" : log_path;
    // The default log inside the run folder never follows a symlink placed there (ELOOP).
    const int log_fd = ::open(s->log_path.c_str(),
                              O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (log_path.empty() ? O_NOFOLLOW : 0), 0644);
    s->log = log_fd < 0 ? nullptr : ::fdopen(log_fd, "a");
    if (s->log == nullptr) {
      const int err = errno;
      if (log_fd >= 0) ::close(log_fd);
      return base::ErrnoStatus(s->log_path, "cannot open the text log", err);
    }
    s->tty = ::isatty(STDERR_FILENO) == 1;
  }

  LS_ASSIGN_OR_RETURN(const model::AcousticModelOptions options,
                      ModelOptions(s->config, symbols.symbols_size(), s->max_duration, n_mels));
  try {
    torch::set_num_threads(c.threads());
    torch::manual_seed(static_cast<uint64_t>(c.seed()));
    LS_ASSIGN_OR_RETURN(s->model, model::AcousticModel::Create(options));
    s->model->to(s->device);
    // Every rank initializes the same parameters (same seed; Train also copies rank 0's); then each
    // rank's generator (dropout) gets its own seed. Policy samples do not use it (per-utterance streams).
    if (s->world_size > 1) torch::manual_seed(static_cast<uint64_t>(c.seed()) + s->rank);
    for (const auto& item : s->model->named_parameters()) {
      s->model_params.emplace_back(item.key(), item.value());
      if (item.key().rfind("encoder.", 0) == 0 || item.key().rfind("policy.", 0) == 0) {
        s->actor_params.emplace_back(item.key(), item.value());
      }
    }
    const OptimizerConfig& o = c.optimizer();
    auto adam = [&](double lr) {
      return torch::optim::AdamWOptions(lr)
          .betas({o.beta1(), o.beta2()})
          .eps(o.eps())
          .weight_decay(o.weight_decay());
    };
    std::vector<torch::Tensor> all, actor;
    for (const auto& [name, p] : s->model_params) all.push_back(p);
    for (const auto& [name, p] : s->actor_params) actor.push_back(p);
    s->opt_model = std::make_unique<torch::optim::AdamW>(all, adam(LearningRate(o, 1, c.steps())));
    if (s->method->has_actor()) {
      s->opt_actor = std::make_unique<torch::optim::AdamW>(actor, adam(LearningRate(o, 1, c.steps())));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("Trainer::Create: ", e.what_without_backtrace()));
  }
  std::unique_ptr<Trainer> t(new Trainer(std::move(s)));
  t->s_->Log(absl::StrCat("trainer: ", TrainConfig::Aligner_Name(c.aligner()), " ",
                          ModelConfig::Preset_Name(c.model().preset()), ", ", t->num_parameters(),
                          " parameters, K ", t->s_->max_duration, ", ", resolved,
                          t->s_->world_size > 1 ? absl::StrCat(", ", t->s_->world_size, " processes") : ""));
  return t;
}

absl::Status Trainer::SetFeatureSettings(const records::FeatureSettings& settings) {
  absl::StatusOr<features::LogMelOptions> usable = LogMelOptionsFromSettings(settings, s_->n_mels);
  if (!usable.ok()) return absl::InvalidArgumentError(absl::StrCat("Trainer: ", usable.status().message()));
  s_->features = settings;
  return absl::OkStatus();
}

absl::Status Trainer::Restore(const std::string& path) {
  LS_ASSIGN_OR_RETURN(const Checkpoint c, ReadCheckpoint(path));
  const std::string symbols_diff = FirstDifference(c.symbols(), s_->symbols);
  if (!symbols_diff.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint symbol table differs: ", symbols_diff));
  }
  if (c.n_mels() != s_->n_mels || c.max_duration() != s_->max_duration) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint has n_mels ", c.n_mels(), " and K ",
                                                      c.max_duration(), ", this run ", s_->n_mels, " and ",
                                                      s_->max_duration));
  }
  const int saved_world = c.world_size() > 0 ? c.world_size() : 1;
  if (saved_world != s_->world_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": checkpoint was written by a run of ", saved_world, " process", saved_world == 1 ? "" : "es",
        ", this run has ", s_->world_size, "; resume with WORLD_SIZE=", saved_world,
        " (the data shares, batch statistics and random streams depend on it)"));
  }
  const std::string model_diff = FirstDifference(c.config().model(), s_->config.model());
  if (!model_diff.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint config differs: model.", model_diff));
  }
  if (c.config().aligner() != s_->config.aligner()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint config differs: aligner: ",
                                                      TrainConfig::Aligner_Name(c.config().aligner()), " vs ",
                                                      TrainConfig::Aligner_Name(s_->config.aligner())));
  }
  // Everything that can be checked is checked before any state changes (LoadModule validates all
  // tensors before copying any).
  auto with_path = [&](absl::Status st) {
    return st.ok() ? st : absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
  };
  for (const TensorProto& t : c.state()) LS_RETURN_IF_ERROR(with_path(ValidateTensorProto(t)));
  LS_RETURN_IF_ERROR(with_path(ValidateAdamW(c, "model", s_->model_params)));
  if (s_->opt_actor) LS_RETURN_IF_ERROR(with_path(ValidateAdamW(c, "actor", s_->actor_params)));
  LS_RETURN_IF_ERROR(with_path(LoadModule(c, *s_->model)));
  LS_RETURN_IF_ERROR(with_path(LoadAdamW(c, "model", *s_->opt_model, s_->model_params)));
  if (s_->opt_actor) LS_RETURN_IF_ERROR(with_path(LoadAdamW(c, "actor", *s_->opt_actor, s_->actor_params)));
  for (const RngState& r : c.rng()) {
    if (r.device() == "cpu" || torch::Device(s_->device).str() == r.device()) LS_RETURN_IF_ERROR(with_path(LoadTorchRng(r)));
  }
  // The checkpoint holds rank 0's generator; the other ranks reseed theirs (dropout masks on those
  // ranks after a resume are not the ones of an uninterrupted run).
  if (s_->world_size > 1 && s_->rank != 0) {
    torch::manual_seed(static_cast<uint64_t>(s_->config.seed()) + s_->rank + 0x9E3779B97F4A7C15ull * c.step());
  }
  s_->baseline.set_value(torch::Tensor());
  for (const TensorProto& t : c.state()) {
    if (t.name() == "rl.moving_average_baseline") {
      LS_ASSIGN_OR_RETURN(torch::Tensor b, TensorFromProto(t));
      s_->baseline.set_value(b.to(s_->device));
    }
  }
  s_->step = c.step();
  s_->position.epoch = c.data_position().epoch();
  s_->position.batch_in_epoch = c.data_position().batch_in_epoch();
  TrainConfig saved_config = c.config();  // written before defaults were filled in, maybe
  ApplyTrainDefaults(&saved_config);
  const std::string other = FirstDifference(saved_config, s_->config);
  std::string features_note;
  if (c.has_features() && !s_->features.has_value()) {
    s_->features = c.features();
  } else if (c.has_features()) {
    const std::string diff = FirstDifference(c.features(), *s_->features);
    if (!diff.empty()) features_note = absl::StrCat("; the data's feature settings differ from the checkpoint's: ", diff);
  }
  s_->Log(absl::StrCat("resumed from ", path, " at step ", s_->step, ", data epoch ", s_->position.epoch, " batch ",
                       s_->position.batch_in_epoch, other.empty() ? "" : absl::StrCat("; first changed field: ", other),
                       features_note));
  return absl::OkStatus();
}

absl::Status Trainer::SaveCheckpoint() {
  if (!s_->is_main()) return absl::OkStatus();
  Checkpoint c;
  c.set_format_version(kCheckpointFormatVersion);
  c.set_step(s_->step);
  c.set_created_by("lightspeech::train::Trainer");
  *c.mutable_config() = s_->config;
  *c.mutable_symbols() = s_->symbols;
  c.set_n_mels(s_->n_mels);
  c.set_max_duration(s_->max_duration);
  c.set_world_size(s_->world_size);
  if (s_->features.has_value()) *c.mutable_features() = *s_->features;
  c.mutable_data_position()->set_epoch(s_->position.epoch);
  c.mutable_data_position()->set_batch_in_epoch(s_->position.batch_in_epoch);
  LS_RETURN_IF_ERROR(SaveModule(*s_->model, &c));
  LS_RETURN_IF_ERROR(SaveAdamW("model", *s_->opt_model, s_->model_params, &c));
  if (s_->opt_actor) LS_RETURN_IF_ERROR(SaveAdamW("actor", *s_->opt_actor, s_->actor_params, &c));
  LS_ASSIGN_OR_RETURN(*c.add_rng(), SaveTorchRng(torch::kCPU));
  if (s_->device.is_cuda()) {
    LS_ASSIGN_OR_RETURN(*c.add_rng(), SaveTorchRng(s_->device));
  }
  if (s_->baseline.value().defined()) {
    LS_ASSIGN_OR_RETURN(*c.add_state(), TensorToProto("rl.moving_average_baseline", s_->baseline.value()));
  }
  const std::string path = CheckpointPath(s_->checkpoint_dir, s_->step);
  LS_RETURN_IF_ERROR(WriteCheckpoint(c, path));
  s_->Log(absl::StrCat("step ", s_->step, ": checkpoint ", path));
  return PruneCheckpoints(s_->checkpoint_dir, s_->config.keep_checkpoints());
}

// Each step: its micro-batches through the method (RunMicroBatch), the gradients and optimizers
// (ApplyGradients), then the log line, validation and checkpoint when due.
absl::Status Trainer::Train(BatchSource& train, BatchSource* validation) {
  State& s = *s_;
  const TrainConfig& c = s.config;
  const int64_t total = c.steps();
  const int accumulation = c.optimizer().grad_accumulation();
  const int64_t log_every = c.log_every();
  Context ctx{c, s.model, s.baseline};
  ctx.dist = s.dist;
  ctx.separators = s.separators;
  if (ctx.separators.penalized.defined()) ctx.separators.penalized = ctx.separators.penalized.to(s.device);
  std::vector<torch::Tensor> model_params, actor_params;
  for (const auto& [name, p] : s.model_params) model_params.push_back(p);
  for (const auto& [name, p] : s.actor_params) actor_params.push_back(p);
  if (s.dist != nullptr) LS_RETURN_IF_ERROR(internal::SynchronizeRanks(s, model_params));

  s.model->train();
  const auto run_start = Clock::now();
  const int64_t first_step = s.step;
  auto window_start = Clock::now();
  internal::LogWindow window;
  int64_t window_steps = 0;

  while (s.step < total) {
    const int64_t step = s.step + 1;
    std::vector<torch::Tensor> actor_grads(actor_params.size());
    std::map<std::string, double> terms;
    try {
      for (auto& p : model_params) p.mutable_grad() = torch::Tensor();
      for (int micro = 0; micro < accumulation; ++micro) {
        LS_RETURN_IF_ERROR(internal::RunMicroBatch(s, ctx, train, step, accumulation, actor_params, actor_grads, terms, window));
      }
      LS_RETURN_IF_ERROR(internal::ApplyGradients(s, step, model_params, actor_params, actor_grads, terms));
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("step ", step, ": ", e.what_without_backtrace()));
    }
    s.step = step;
    s.position = train.Position();
    ++window_steps;

    if (step % log_every == 0 || step == total) {
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      terms["steps_per_second"] = seconds > 0 ? window_steps / seconds : 0;
      terms["frames_per_second"] = seconds > 0 ? window.frames / seconds : 0;
      terms["utterances_per_second"] = seconds > 0 ? window.utterances / seconds : 0;
      terms["loader_wait_share"] = seconds > 0 ? window.wait / seconds : 0;
      std::vector<std::string> parts;
      for (const auto& [name, v] : terms) {
        LS_RETURN_IF_ERROR(s.Scalar("train/" + name, v));
        parts.push_back(absl::StrFormat("%s=%.6g", name, v));
      }
      s.Log(absl::StrCat("step ", step, " ", absl::StrJoin(parts, " ")));
      if (s.tty) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
        const double rate = elapsed > 0 ? (step - first_step) / elapsed : 0;
        std::fprintf(stderr, "\rstep %lld/%lld  %.2f steps/s  ETA %s  mel %.4f   ",
                     static_cast<long long>(step), static_cast<long long>(total), rate,
                     FormatDuration(rate > 0 ? (total - step) / rate : -1).c_str(), terms["mel_loss"]);
        std::fflush(stderr);
      }
      window_start = Clock::now();
      window = internal::LogWindow();
      window_steps = 0;
    }
    if (validation != nullptr && c.validate_every() > 0 && step % c.validate_every() == 0) {
      const Clock::time_point validation_start = Clock::now();
      LS_ASSIGN_OR_RETURN(const ValidationResult v, Validate(*validation));
      const double validation_seconds = std::chrono::duration<double>(Clock::now() - validation_start).count();
      LS_RETURN_IF_ERROR(internal::ReportValidation(s, step, v, validation_seconds));
    }
    if ((c.checkpoint_every() > 0 && step % c.checkpoint_every() == 0) || step == total) {
      LS_RETURN_IF_ERROR(SaveCheckpoint());
      if (s.sink != nullptr) LS_RETURN_IF_ERROR(s.sink->Flush());
    }
  }
  if (s.tty) std::fprintf(stderr, "\n");
  return absl::OkStatus();
}

}  // namespace lightspeech::train
