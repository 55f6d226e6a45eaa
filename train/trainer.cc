#include "train/trainer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "features/audio.h"
#include "features/griffin_lim.h"
#include "features/mel_image.h"
#include "model/acoustic_model.h"
#include "model/aligner.h"
#include "model/duration.h"
#include "model/length_regulator.h"
#include "records/file_util.h"
#include "rl/baselines.h"
#include "rl/categorical.h"
#include "rl/monotonic.h"
#include "rl/reinforce.h"
#include "rl/rewards.h"
#include "torch/torch.h"
#include "train/alignment_metrics.h"
#include "train/batch_tensors.h"
#include "train/checkpoint.h"
#include "train/compat.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/feature_settings.h"
#include "train/model_factory.h"

namespace lightspeech::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kPi = 3.14159265358979323846;

// The decoder's final mel: after the postnet when there is one.
const torch::Tensor& FinalMel(const model::DecoderOutput& d) { return d.mel_postnet.defined() ? d.mel_postnet : d.mel; }

#define LS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

#define LS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = *std::move(tmp)
#define LS_CONCAT_INNER(a, b) a##b
#define LS_CONCAT(a, b) LS_CONCAT_INNER(a, b)
#define LS_ASSIGN_OR_RETURN(lhs, expr) LS_ASSIGN_OR_RETURN_IMPL(LS_CONCAT(_statusor_, __LINE__), lhs, expr)

// A HostBatch on a device (pinned memory and non-blocking copies on CUDA, train/batch_tensors.h).
using Tensors = TensorBatch;

// Every utterance needs at least one token and one frame.
absl::StatusOr<Tensors> HostBatchToTensors(const HostBatch& b, const torch::Device& device) {
  ToTensorsOptions options;
  options.min_length = 1;
  return ToTensors(b, device, options);
}

// The per-frame actor's one deterministic walk per utterance ([1, B, ...]) from advance logits
// [B, T, N]: its most likely walk (rl::MostLikelyMonotonicPaths) or its greedy one (advance when the
// probability exceeds one half).
absl::StatusOr<rl::MonotonicPaths> PolicyWalk(const torch::Tensor& logits, const Tensors& b, bool most_likely) {
  if (most_likely) return rl::MostLikelyMonotonicPaths(logits, b.token_lengths, b.frame_lengths);
  return rl::SampleMonotonicPaths(logits, b.token_lengths, b.frame_lengths,
                                  torch::full({1, logits.size(0), logits.size(1)}, 0.5f));
}

// What the per-frame actor observes of the aligner's log-attention [B, T, N] for batch `b`: the
// log-attention itself, or its soft value-to-go (rl::SoftValueToGo) when the policy observes that.
absl::StatusOr<torch::Tensor> ObservedScore(const model::AcousticModel& model, const Tensors& b, const torch::Tensor& log_att) {
  if (!model->options().policy.observe_value_to_go) return log_att;
  return rl::SoftValueToGo(log_att, b.token_lengths, b.frame_lengths);
}

// How word separators are treated (TrainConfig.optional_word_separators, separator_frame_penalty).
struct Separators {
  torch::Tensor lookup;     // bool [symbols], true at "|" and " "; undefined when neither option is on
  torch::Tensor penalized;  // bool [symbols], the symbols separator_frame_penalty applies to
  bool optional = false;  // optional_word_separators
  double penalty = 0;     // separator_frame_penalty
};

// The tokens of batch b marked in `lookup` (bool [symbols]), bool [B, N].
torch::Tensor MarkedTokens(const torch::Tensor& lookup, const Tensors& b) {
  return lookup.to(b.tokens.device()).index_select(0, b.tokens.reshape({-1}).to(torch::kLong)).view(b.tokens.sizes());
}

// The tokens of batch b that are separators, bool [B, N].
torch::Tensor SeparatorTokens(const Separators& sep, const Tensors& b) { return MarkedTokens(sep.lookup, b); }

// The scores hard alignments follow: the aligner's log-attention [B, T, N], less separator_frame_penalty
// at every frame on a separator (a prior that separators are short). Not used for the aligner's losses.
torch::Tensor HardScores(const torch::Tensor& log_att, const Tensors& b, const Separators& sep) {
  if (!(sep.penalty > 0)) return log_att;
  return log_att - sep.penalty * MarkedTokens(sep.penalized, b).to(log_att.scalar_type()).unsqueeze(1);
}

// MAS over HardScores(log_att), or with optional word separators the search that may give them no
// frame (model::SkippingMonotonicAlignmentSearch).
absl::StatusOr<torch::Tensor> HardAlignment(const torch::Tensor& log_att, const Tensors& b, const Separators& sep) {
  const torch::Tensor scores = HardScores(log_att, b, sep);
  if (!sep.optional) return model::MonotonicAlignmentSearch(scores, b.token_lengths, b.frame_lengths);
  return model::SkippingMonotonicAlignmentSearch(scores, b.token_lengths, b.frame_lengths, SeparatorTokens(sep, b));
}

// The durations [B, N] a method itself uses for batch `b` (token encodings `enc`): the reference
// (ORACLE), monotonic alignment search over the aligner's attention (MAS), or the actor's walk (RL:
// the greedy one, or the most likely one with rl.decoder_durations MOST_LIKELY; the categorical
// policy's greedy durations). Called without gradients, for validation and evaluation.
absl::StatusOr<torch::Tensor> MethodDurations(TrainConfig::Aligner aligner, model::AcousticModel& model, const Tensors& b,
                                              const torch::Tensor& enc, const Separators& separators) {
  switch (aligner) {
    case TrainConfig::ORACLE:
      return b.durations;
    case TrainConfig::MAS: {
      model::AlignerOutput att = model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
      return HardAlignment(att.log_attention.to(torch::kFloat), b, separators);
    }
    default: {
      if (model->options().policy.per_frame) {  // the greedy (or most likely) monotonic walk
        torch::Tensor similarity;
        if (model->options().policy.observe_alignment_score) {
          LS_ASSIGN_OR_RETURN(
              similarity,
              ObservedScore(model, b,
                            HardScores(model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths).log_attention.to(torch::kFloat),
                                       b, separators)));
        }
        LS_ASSIGN_OR_RETURN(torch::Tensor logits, model->AdvanceLogits(enc, b.token_mask, b.mel, b.mel_mask, similarity));
        LS_ASSIGN_OR_RETURN(rl::MonotonicPaths walk,
                            PolicyWalk(logits.to(torch::kFloat), b, model->options().policy.most_likely_walk));
        return walk.durations[0];
      }
      torch::Tensor logits = model->PolicyLogits(enc, b.token_mask, b.mel, b.mel_mask).to(torch::kFloat);
      LS_ASSIGN_OR_RETURN(rl::CategoricalPolicy p, rl::CategoricalPolicy::Create(logits, b.token_mask));
      return p.Greedy();
    }
  }
}

// Mean squared error over real frames and bins; pred and target [B, T, M], mask [B, T].
torch::Tensor MaskedMse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask) {
  torch::Tensor m = mask.unsqueeze(-1).to(torch::kFloat);
  return ((pred.to(torch::kFloat) - target).square() * m).sum() / (m.sum() * pred.size(2)).clamp_min(1);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

// Griffin-Lim iterations of the validation audio by default: 8 cost about 0.35 s for a 2.3 s clip in
// a fastbuild binary on a busy 2-core machine (32: 1.3 s), docs/BENCHMARKS.md "trainer".
constexpr int kValidationAudioIterations = 8;

// The validation example's predicted log-mel [frames][mel.n_mels] as speech: Griffin-Lim with
// `iterations`, scaled down to a 0.99 peak when louder (as //tools:synthesize does), sent to `sink`
// as a 16-bit wav. Fails with Griffin-Lim's or the sink's error.
absl::Status AddValidationAudio(MetricsSink& sink, int64_t step, const features::LogMelOptions& mel, int iterations,
                                const std::vector<float>& log_mel, int64_t frames) {
  features::GriffinLimOptions options;
  options.iterations = iterations;
  absl::StatusOr<features::GriffinLim> vocoder = features::GriffinLim::Create(mel, options);
  if (!vocoder.ok()) return vocoder.status();
  absl::StatusOr<std::vector<float>> audio = vocoder->Synthesize(log_mel, frames);
  if (!audio.ok()) return audio.status();
  float peak = 0;
  for (float x : *audio) peak = std::max(peak, std::abs(x));
  if (peak > 0.99f) {
    for (float& x : *audio) x *= 0.99f / peak;
  }
  absl::StatusOr<std::string> wav = features::EncodeWav16(*audio, mel.sample_rate);
  if (!wav.ok()) return wav.status();
  return sink.AddAudioWav("val/audio_predicted", step, *wav, mel.sample_rate, static_cast<int64_t>(audio->size()));
}

}  // namespace

double LearningRate(const OptimizerConfig& o, int64_t step, int64_t total_steps) {
  const double lr = o.lr() > 0 ? o.lr() : 1e-3;
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
      const double rate = o.decay_rate() > 0 ? o.decay_rate() : 0.5;
      const double every = o.decay_steps() > 0 ? o.decay_steps() : 10000;
      return lr * std::pow(rate, (step - warmup) / every);
    }
    default:
      return lr;
  }
}

absl::StatusOr<std::string> ResolveDevice(const std::string& requested) {
  try {
    if (requested == "auto") return torch::cuda::is_available() ? std::string("cuda") : std::string("cpu");
    if (requested == "cpu") return requested;
    if (requested.rfind("cuda", 0) == 0) {
      const torch::Device d(requested);
      if (!torch::cuda::is_available()) {
        return absl::FailedPreconditionError(absl::StrCat("--device=", requested, ": no CUDA GPU is available"));
      }
      if (d.has_index() && d.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
        return absl::FailedPreconditionError(absl::StrCat("--device=", requested, ": only ", torch::cuda::device_count(), " GPUs"));
      }
      return requested;
    }
  } catch (const c10::Error&) {
  }
  return absl::InvalidArgumentError(absl::StrCat("--device=", requested, ": expected auto, cpu, cuda or cuda:N"));
}

struct Trainer::State {
  TrainConfig config;
  records::SymbolTable symbols;
  int n_mels = 0;
  int max_duration = 0;
  std::optional<records::FeatureSettings> features;  // the corpus's (SetFeatureSettings), for checkpoints
  torch::Device device{torch::kCPU};
  MetricsSink* sink = nullptr;
  std::string run_dir, checkpoint_dir, log_path;
  std::FILE* log = nullptr;
  bool tty = false;

  model::AcousticModel model{nullptr};
  Separators separators;  // optional_word_separators and separator_frame_penalty
  NamedTensors model_params, actor_params;
  std::unique_ptr<torch::optim::AdamW> opt_model, opt_actor;
  rl::MovingAverageBaseline baseline;  // RL MOVING_AVERAGE: the EMA of the mean reward
  Distributed* dist = nullptr;  // null: one process
  int rank = 0, world_size = 1;
  bool is_main() const { return rank == 0; }

  int64_t step = 0;
  DataPosition position;

  void Log(const std::string& line) {
    if (log == nullptr) return;
    std::fprintf(log, "%s\n", line.c_str());
    std::fflush(log);
  }
  absl::Status Scalar(const std::string& tag, double value) {
    if (sink == nullptr) return absl::OkStatus();
    return sink->AddScalar(tag, step, value);
  }
};

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
  LS_RETURN_IF_ERROR(ValidateTrainConfig(config));
  if (config.run_dir().empty()) return absl::InvalidArgumentError("TrainConfig: run_dir is empty");
  if (symbols.symbols_size() < 2) return absl::InvalidArgumentError("Trainer: the symbol table has fewer than 2 symbols");
  if (n_mels <= 0) return absl::InvalidArgumentError("Trainer: n_mels must be > 0");
  auto s = std::make_unique<State>();
  s->config = config;
  s->baseline = rl::MovingAverageBaseline(config.rl().moving_average_decay() > 0 ? config.rl().moving_average_decay() : 0.9);
  if (s->config.model().max_duration() == 0) s->config.mutable_model()->set_max_duration(max_duration);
  s->max_duration = s->config.model().max_duration();
  if (s->max_duration < 2) return absl::InvalidArgumentError("Trainer: max_duration (K) must be >= 2");
  s->symbols = symbols;
  s->n_mels = n_mels;
  if (config.optional_word_separators() || config.separator_frame_penalty() > 0) {
    std::vector<uint8_t> is_separator(symbols.symbols_size(), 0);
    for (int i = 0; i < symbols.symbols_size(); ++i) is_separator[i] = symbols.symbols(i) == "|" || symbols.symbols(i) == " ";
    if (std::count(is_separator.begin(), is_separator.end(), 1) == 0) {
      return absl::InvalidArgumentError(
          "optional_word_separators and separator_frame_penalty: the symbol table has no word separator (\"|\" or \" \")");
    }
    s->separators.lookup = torch::tensor(is_separator, torch::kUInt8).to(torch::kBool);
    s->separators.penalized = s->separators.lookup;
    if (config.separator_penalty_covers_punctuation() && symbols.phonemizer().empty()) {
      const std::vector<bool> words = WordSymbolMask({symbols.symbols().begin(), symbols.symbols().end()});
      std::vector<uint8_t> penalized(symbols.symbols_size(), 0);
      for (int i = 0; i < symbols.symbols_size(); ++i) penalized[i] = !words[i];
      s->separators.penalized = torch::tensor(penalized, torch::kUInt8).to(torch::kBool);
    }
    s->separators.optional = config.optional_word_separators();
    s->separators.penalty = config.separator_frame_penalty();
  }
  s->dist = distributed != nullptr && distributed->world_size() > 1 ? distributed : nullptr;
  if (s->dist != nullptr) {
    s->rank = s->dist->rank();
    s->world_size = s->dist->world_size();
  }
  if (s->world_size > 1 && config.aligner() == TrainConfig::RL && config.rl().monotonic_frame_policy()) {
    // Measured: 1 and 2 processes differ by up to 1e-3 in the parameters after 3 steps (the other
    // methods agree to 1e-6); until that is explained, data-parallel runs of this policy are refused.
    return absl::FailedPreconditionError(
        "rl.monotonic_frame_policy is not supported with several processes yet (docs/DISTRIBUTED.md); "
        "run it as one process, or use the categorical policy: --set=rl.monotonic_frame_policy=false,"
        "rl.actor_observes_alignment_score=false,rl.actor_observes_value_to_go=false,rl.alignment_score_weight_init=0");
  }
  s->sink = s->is_main() ? sink : nullptr;
  LS_ASSIGN_OR_RETURN(const std::string resolved, ResolveDevice(device));
  s->device = torch::Device(resolved);

  s->run_dir = config.run_dir();
  s->checkpoint_dir = s->run_dir + "/checkpoints";
  if (s->is_main()) {  // other ranks write nothing
    for (const std::string& dir : {s->run_dir, s->checkpoint_dir}) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return records::ErrnoStatus(dir, "cannot create folder", errno);
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
      return records::ErrnoStatus(s->log_path, "cannot open the text log", err);
    }
    s->tty = ::isatty(STDERR_FILENO) == 1;
  }

  LS_ASSIGN_OR_RETURN(const model::AcousticModelOptions options,
                      ModelOptions(s->config, symbols.symbols_size(), s->max_duration, n_mels));
  try {
    torch::set_num_threads(config.threads() > 0 ? config.threads() : 1);
    torch::manual_seed(static_cast<uint64_t>(config.seed()));
    LS_ASSIGN_OR_RETURN(s->model, model::AcousticModel::Create(options));
    s->model->to(s->device);
    // Every rank initializes the same parameters (same seed; Train also copies rank 0's); then each
    // rank's generator (dropout) gets its own seed. Policy samples do not use it (per-utterance streams).
    if (s->world_size > 1) torch::manual_seed(static_cast<uint64_t>(config.seed()) + s->rank);
    for (const auto& item : s->model->named_parameters()) {
      s->model_params.emplace_back(item.key(), item.value());
      if (item.key().rfind("encoder.", 0) == 0 || item.key().rfind("policy.", 0) == 0) {
        s->actor_params.emplace_back(item.key(), item.value());
      }
    }
    const OptimizerConfig& o = config.optimizer();
    auto adam = [&](double lr) {
      return torch::optim::AdamWOptions(lr)
          .betas({o.beta1() > 0 ? o.beta1() : 0.9, o.beta2() > 0 ? o.beta2() : 0.999})
          .eps(o.eps() > 0 ? o.eps() : 1e-8)
          .weight_decay(o.weight_decay());
    };
    std::vector<torch::Tensor> all, actor;
    for (const auto& [name, p] : s->model_params) all.push_back(p);
    for (const auto& [name, p] : s->actor_params) actor.push_back(p);
    s->opt_model = std::make_unique<torch::optim::AdamW>(all, adam(LearningRate(o, 1, config.steps())));
    if (config.aligner() == TrainConfig::RL) {
      s->opt_actor = std::make_unique<torch::optim::AdamW>(actor, adam(LearningRate(o, 1, config.steps())));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("Trainer::Create: ", e.what_without_backtrace()));
  }
  std::unique_ptr<Trainer> t(new Trainer(std::move(s)));
  t->s_->Log(absl::StrCat("trainer: ", TrainConfig::Aligner_Name(config.aligner()), " ",
                          ModelConfig::Preset_Name(config.model().preset()), ", ", t->num_parameters(),
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
  const std::string other = FirstDifference(c.config(), s_->config);
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
  const int keep = s_->config.keep_checkpoints() > 0 ? s_->config.keep_checkpoints() : 3;
  return PruneCheckpoints(s_->checkpoint_dir, keep);
}

namespace {

// What one micro-batch contributes: the losses to back-propagate and the scalars to log.
struct MicroBatch {
  torch::Tensor model_loss;  // 0-dim, all parameters
  torch::Tensor actor_loss;  // 0-dim, RL only: encoder + policy
  std::vector<std::pair<std::string, torch::Tensor>> terms;  // detached 0-dim scalars, for logs and the guard
};

// Data-parallel normalization: a loss that is a mean over this rank's utterances (tokens, frames)
// is multiplied by local count * world_size / global count, so that the mean of the ranks'
// gradients (what AverageTensors computes) is the gradient of the mean over the combined batch, and
// the mean of the ranks' logged terms is the combined batch's term. All 1 in a single process.
struct Scales {
  double utterances = 1, tokens = 1, frames = 1;
};

struct Context {
  const TrainConfig& config;
  model::AcousticModel& model;
  rl::MovingAverageBaseline& baseline;
  Distributed* dist = nullptr;
  Scales scale;
  int64_t step = 0;                              // the optimizer step being taken (seeds the RL samples)
  const HostBatch* host = nullptr;               // ids and lengths of the micro-batch
  Separators separators;                         // State::separators, lookup on the device
  absl::Status reduce_status = absl::OkStatus();  // the first failure of a ReduceFn call

  // Sums small statistics across ranks (rl::ReduceFn); records the first failure.
  rl::ReduceFn Reduce() {
    if (dist == nullptr) return nullptr;
    return [this](torch::Tensor& t) {
      if (!reduce_status.ok()) return;
      reduce_status = dist->AllReduceSum(t);
    };
  }
};

// The aligner's forward-sum loss for batch b: model::ForwardSumLoss, or with optional word
// separators model::SkippingForwardSumLoss over the batch's separator tokens.
absl::StatusOr<torch::Tensor> AlignerLoss(const Context& ctx, const torch::Tensor& log_att, const Tensors& b) {
  if (!ctx.separators.optional) return model::ForwardSumLoss(log_att, b.token_lengths, b.frame_lengths);
  return model::SkippingForwardSumLoss(log_att, b.token_lengths, b.frame_lengths, SeparatorTokens(ctx.separators, b));
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

absl::StatusOr<torch::Tensor> PredictorLoss(Context& ctx, const torch::Tensor& enc, const Tensors& b,
                                            const torch::Tensor& durations) {
  LS_ASSIGN_OR_RETURN(torch::Tensor log_pred, ctx.model->PredictLogDurations(enc, b.token_mask));
  return model::DurationLoss(log_pred.to(torch::kFloat), durations, b.token_mask);
}

torch::Tensor MelLoss(const model::Synthesis& syn, const Tensors& b) {
  torch::Tensor loss = MaskedMse(syn.mel.mel, b.mel, b.mel_mask);
  if (syn.mel.mel_postnet.defined() && !syn.mel.mel_postnet.is_same(syn.mel.mel)) {
    loss = loss + MaskedMse(syn.mel.mel_postnet, b.mel, b.mel_mask);
  }
  return loss;
}

torch::Tensor MeanDuration(const torch::Tensor& durations, const torch::Tensor& mask) {
  torch::Tensor m = mask.to(torch::kFloat);
  return (durations.to(torch::kFloat) * m).sum() / m.sum().clamp_min(1);
}

// The aligner's binarization loss along the hard alignment `durations` [B, N], weighted, added to
// out.model_loss and out.terms ("binarization_loss", a mean over utterances), from
// config.binarization_start_step on; nothing when binarization_weight is 0.
absl::Status AddBinarizationLoss(Context& ctx, const torch::Tensor& log_att, const torch::Tensor& durations, const Tensors& b,
                                 MicroBatch& out) {
  if (!(ctx.config.binarization_weight() > 0) || ctx.step < ctx.config.binarization_start_step()) return absl::OkStatus();
  LS_ASSIGN_OR_RETURN(torch::Tensor loss, model::BinarizationLoss(log_att, durations, b.token_lengths, b.frame_lengths));
  loss = loss * ctx.scale.utterances;
  out.model_loss = out.model_loss + ctx.config.binarization_weight() * loss;
  out.terms.emplace_back("binarization_loss", loss.detach());
  return absl::OkStatus();
}

// Durations from reference (ORACLE) or the aligner (MAS) -> length regulation -> decoder.
absl::StatusOr<MicroBatch> SupervisedStep(Context& ctx, const Tensors& b) {
  const double wd = ctx.config.duration_loss_weight() > 0 ? ctx.config.duration_loss_weight() : 1.0;
  MicroBatch out;
  torch::Tensor durations;
  torch::Tensor fs_loss, log_att;
  if (ctx.config.aligner() == TrainConfig::ORACLE) {
    if (!b.durations.defined()) {
      return absl::FailedPreconditionError("aligner ORACLE needs reference durations, and this batch has none");
    }
    durations = b.durations;
  } else {
    model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    log_att = att.log_attention.to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(fs_loss, AlignerLoss(ctx, log_att, b));
    LS_ASSIGN_OR_RETURN(durations, HardAlignment(log_att.detach(), b, ctx.separators));
  }
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);
  LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                      ctx.model->Decode(enc, durations, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
  torch::Tensor mel_loss = MelLoss(syn, b) * ctx.scale.frames;
  LS_ASSIGN_OR_RETURN(torch::Tensor dur_loss, PredictorLoss(ctx, enc, b, syn.expanded.durations));
  dur_loss = dur_loss * ctx.scale.tokens;
  out.model_loss = mel_loss + wd * dur_loss;
  out.terms = {{"mel_loss", mel_loss.detach()}, {"duration_loss", dur_loss.detach()}};
  if (fs_loss.defined()) {
    const double wf = ctx.config.forward_sum_weight() > 0 ? ctx.config.forward_sum_weight() : 1.0;
    fs_loss = fs_loss * ctx.scale.utterances;  // a mean over utterances
    out.model_loss = out.model_loss + wf * fs_loss;
    out.terms.emplace_back("forward_sum_loss", fs_loss.detach());
    LS_RETURN_IF_ERROR(AddBinarizationLoss(ctx, log_att, durations, b, out));
  }
  out.terms.emplace_back("mean_duration", MeanDuration(syn.expanded.durations, b.token_mask) * ctx.scale.tokens);
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
    const double wf = ctx.config.forward_sum_weight() > 0 ? ctx.config.forward_sum_weight() : 1.0;
    fs_loss = fs_loss * ctx.scale.utterances;
    out.model_loss = out.model_loss + wf * fs_loss;
    out.terms.emplace_back("forward_sum_loss", fs_loss.detach());
  }
  if (ctx.model->options().use_predictor) {
    const double wd = ctx.config.duration_loss_weight() > 0 ? ctx.config.duration_loss_weight() : 1.0;
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
// durations (decoder_durations GREEDY), the most likely walk's (MOST_LIKELY) or from all samples.
absl::StatusOr<MicroBatch> MonotonicRlStep(Context& ctx, const Tensors& b) {
  const RlConfig& rc = ctx.config.rl();
  const int64_t S = rc.samples_per_utterance() > 0 ? rc.samples_per_utterance() : 1;
  const int64_t B = b.tokens.size(0), N = b.tokens.size(1), T = b.mel.size(1);
  const bool score_reward = rc.reward() == RlConfig::ALIGNMENT_SCORE;
  if (ctx.host == nullptr) return absl::InternalError("RlStep without its host batch");
  MicroBatch out;
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);  // [B, N, C]
  torch::Tensor fs_loss, log_att, log_att_grad;  // the last: differentiable, for the binarization loss
  if (score_reward) {
    model::AlignerOutput att = ctx.model->aligner()(b.tokens, b.token_lengths, b.mel, b.frame_lengths);
    log_att_grad = att.log_attention.to(torch::kFloat);
    LS_ASSIGN_OR_RETURN(fs_loss, AlignerLoss(ctx, log_att_grad, b));
    log_att = HardScores(log_att_grad.detach(), b, ctx.separators);  // rewards and what the actor observes
  }
  torch::Tensor observed;
  if (rc.actor_observes_alignment_score()) {
    LS_ASSIGN_OR_RETURN(observed, ObservedScore(ctx.model, b, log_att));
  }
  const torch::Tensor actor_enc = rc.actor_detaches_encoder() ? enc.detach() : enc;
  LS_ASSIGN_OR_RETURN(torch::Tensor adv_logits,
                      ctx.model->AdvanceLogits(actor_enc, b.token_mask, b.mel, b.mel_mask, observed));
  adv_logits = adv_logits.to(torch::kFloat);  // [B, T, N]
  std::vector<int64_t> real(ctx.host->frame_lengths.begin(), ctx.host->frame_lengths.end());
  std::vector<float> u = UtteranceStreamUniforms(*ctx.host, S, T, real, static_cast<uint64_t>(ctx.config.seed()), ctx.step);
  const torch::Tensor uniforms = torch::from_blob(u.data(), {S, B, T}, torch::kFloat).clone();
  LS_ASSIGN_OR_RETURN(rl::MonotonicPaths paths, rl::SampleMonotonicPaths(adv_logits.detach(), b.token_lengths, b.frame_lengths, uniforms));
  // The walk the decoder learns from (GREEDY or MOST_LIKELY), computed only when one is used.
  const bool most_likely = rc.decoder_durations() == RlConfig::MOST_LIKELY;
  std::optional<rl::MonotonicPaths> decoder_walk;
  if (rc.decoder_durations() == RlConfig::GREEDY || most_likely) {
    LS_ASSIGN_OR_RETURN(decoder_walk, PolicyWalk(adv_logits.detach(), b, most_likely));
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
    if (!greedy || most_likely) {
      LS_ASSIGN_OR_RETURN(greedy, PolicyWalk(adv_logits.detach(), b, false));
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

// The two-optimizer policy-gradient step: S sampled duration sequences per utterance, each fitted to
// the target length; the actor (encoder + policy) learns the REINFORCE loss of exactly the sampled
// durations. Rewards come from decoding every sample (mel-error rewards) or from the forward-sum
// aligner's log-attention along each sample's alignment (ALIGNMENT_SCORE, no decoding). The model
// learns the mel loss over all samples (decoder_durations SAMPLES) or over the actor's greedy
// durations (GREEDY), plus the aligner's forward-sum loss when it has one.
absl::StatusOr<MicroBatch> RlStep(Context& ctx, const Tensors& b) {
  const RlConfig& rc = ctx.config.rl();
  if (rc.monotonic_frame_policy()) return MonotonicRlStep(ctx, b);
  const int64_t S = rc.samples_per_utterance() > 0 ? rc.samples_per_utterance() : 1;
  const int64_t B = b.tokens.size(0), N = b.tokens.size(1), T = b.mel.size(1);
  const bool score_reward = rc.reward() == RlConfig::ALIGNMENT_SCORE;
  const bool decode_greedy = rc.decoder_durations() == RlConfig::GREEDY;
  MicroBatch out;
  torch::Tensor enc = ctx.model->Encode(b.tokens, b.token_mask);  // [B, N, C]
  const torch::Tensor actor_enc = rc.actor_detaches_encoder() ? enc.detach() : enc;
  torch::Tensor logits = ctx.model->PolicyLogits(actor_enc, b.token_mask, b.mel, b.mel_mask).to(torch::kFloat);
  rl::CategoricalOptions co;
  if (rc.temperature() > 0) co.temperature = rc.temperature();
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
    LS_ASSIGN_OR_RETURN(fs_loss, AlignerLoss(ctx, log_att, b));
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

}  // namespace

absl::StatusOr<ValidationResult> Trainer::Validate(BatchSource& validation) {
  State& s = *s_;
  ValidationResult r;
  double mel_sum = 0, frames = 0, align_sum = 0, dur_sum = 0, tokens = 0;
  const bool unlimited = s.config.validation_batches() == 0;
  int64_t limit = s.config.validation_batches();
  // Several ranks: this rank's stream holds the global batches b % world_size == rank, so it takes
  // its share of the first `limit` of them; the sums are added across ranks below.
  if (s.world_size > 1) limit = (limit - s.rank + s.world_size - 1) / s.world_size;
  s.model->eval();
  torch::NoGradGuard no_grad;
  while (unlimited || r.batches < limit) {
    absl::StatusOr<HostBatch> host = validation.Next();
    if (absl::IsOutOfRange(host.status())) break;
    if (!host.ok()) return host.status();
    if (host->n_mels != s.n_mels) {
      return absl::InvalidArgumentError(absl::StrCat("validation batch has ", host->n_mels, " mel bins, the model ", s.n_mels));
    }
    LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(*host, s.device));
    try {
      compat::ScopedCudaBf16Autocast autocast(s.config.bf16() && s.device.is_cuda());
      torch::Tensor enc = s.model->Encode(b.tokens, b.token_mask);
      // the durations the training method would use for this utterance
      LS_ASSIGN_OR_RETURN(torch::Tensor method, MethodDurations(s.config.aligner(), s.model, b, enc, s.separators));
      torch::Tensor inference;  // text-only durations
      if (s.model->options().use_predictor) {
        LS_ASSIGN_OR_RETURN(torch::Tensor log_pred, s.model->PredictLogDurations(enc, b.token_mask));
        inference = model::PredictedDurations(log_pred.to(torch::kFloat), b.token_mask);
      } else if (!s.model->options().policy.observe_mel) {
        inference = method;
      }
      if (!method.defined()) {
        return absl::FailedPreconditionError("validation with aligner ORACLE needs reference durations");
      }
      LS_ASSIGN_OR_RETURN(model::Synthesis syn,
                          s.model->Decode(enc, method, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
      if (r.batches == 0) {
        // The first utterance, for pictures.
        const int64_t frames = b.frame_lengths[0].item<int64_t>(), tokens = b.token_lengths[0].item<int64_t>();
        auto host_floats = [&](const torch::Tensor& mel) {
          torch::Tensor x = mel[0].slice(0, 0, frames).to(torch::kFloat).to(torch::kCPU).contiguous();
          return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
        };
        auto marks = [&](const torch::Tensor& durations) {
          torch::Tensor ends = durations[0].slice(0, 0, tokens - 1).cumsum(0).to(torch::kCPU).contiguous();
          std::vector<int> out;
          for (int64_t i = 0; i < ends.numel(); ++i) out.push_back(static_cast<int>(ends[i].item<int64_t>()));
          return out;
        };
        r.example_frames = frames;
        r.example_prediction = host_floats(FinalMel(syn.mel));
        r.example_target = host_floats(b.mel);
        r.example_method_marks = marks(syn.expanded.durations);
        if (b.durations.defined()) r.example_reference_marks = marks(b.durations);
      }
      const double f = b.mel_mask.sum().item<double>();
      mel_sum += MaskedMse(FinalMel(syn.mel), b.mel, b.mel_mask)
                     .item<double>() * f;
      frames += f;
      if (b.durations.defined()) {
        r.has_durations = true;
        const torch::Tensor m = b.token_mask.to(torch::kFloat);
        const double n = m.sum().item<double>();
        tokens += n;
        align_sum += ((syn.expanded.durations - b.durations).abs().to(torch::kFloat) * m).sum().item<double>();
        if (inference.defined()) {
          dur_sum += ((inference - b.durations).abs().to(torch::kFloat) * m).sum().item<double>();
        }
      }
    } catch (const c10::Error& e) {
      s.model->train();
      return absl::InternalError(absl::StrCat("validation: ", e.what_without_backtrace()));
    }
    ++r.batches;
  }
  s.model->train();
  if (s.dist != nullptr) {
    torch::Tensor sums = torch::tensor({static_cast<double>(r.batches), mel_sum, frames, align_sum, dur_sum, tokens,
                                        r.has_durations ? 1.0 : 0.0},
                                       torch::kDouble);
    if (absl::Status st = s.dist->AllReduceSum(sums); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("validation: ", st.message()));
    }
    r.batches = static_cast<int64_t>(sums[0].item<double>());
    mel_sum = sums[1].item<double>();
    frames = sums[2].item<double>();
    align_sum = sums[3].item<double>();
    dur_sum = sums[4].item<double>();
    tokens = sums[5].item<double>();
    r.has_durations = sums[6].item<double>() > 0;
  }
  if (frames > 0) r.mel_loss = mel_sum / frames;
  if (tokens > 0) {
    if (s.config.aligner() != TrainConfig::ORACLE) r.alignment_mae = align_sum / tokens;
    r.duration_mae = dur_sum / tokens;
    if (!s.model->options().use_predictor && s.model->options().policy.observe_mel) r.duration_mae = -1;
  }
  return r;
}

absl::Status Trainer::Train(BatchSource& train, BatchSource* validation) {
  State& s = *s_;
  const TrainConfig& c = s.config;
  const int64_t total = c.steps();
  const int accumulation = c.optimizer().grad_accumulation() > 0 ? c.optimizer().grad_accumulation() : 1;
  const int64_t log_every = c.log_every() > 0 ? c.log_every() : 10;
  const double clip = c.optimizer().grad_clip_norm();
  const double actor_scale = c.rl().actor_lr_scale() > 0 ? c.rl().actor_lr_scale() : 1.0;
  const bool rl_method = c.aligner() == TrainConfig::RL;
  Context ctx{c, s.model, s.baseline};
  ctx.dist = s.dist;
  ctx.separators = s.separators;
  if (ctx.separators.lookup.defined()) ctx.separators.lookup = ctx.separators.lookup.to(s.device);
  std::vector<torch::Tensor> model_params, actor_params;
  for (const auto& [name, p] : s.model_params) model_params.push_back(p);
  for (const auto& [name, p] : s.actor_params) actor_params.push_back(p);
  if (s.dist != nullptr) {
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
  }

  s.model->train();
  const auto run_start = Clock::now();
  const int64_t first_step = s.step;
  auto window_start = Clock::now();
  double window_wait = 0, window_frames = 0, window_utts = 0;
  int64_t window_steps = 0;

  while (s.step < total) {
    const int64_t step = s.step + 1;
    std::vector<torch::Tensor> actor_grads(actor_params.size());
    std::map<std::string, double> terms;
    try {
      for (auto& p : model_params) p.mutable_grad() = torch::Tensor();
      for (int micro = 0; micro < accumulation; ++micro) {
        const auto wait_start = Clock::now();
        absl::StatusOr<HostBatch> host = train.Next();
        window_wait += std::chrono::duration<double>(Clock::now() - wait_start).count();
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
        window_frames += frames;
        window_utts += utterances;
        LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(*host, s.device));
        ctx.step = step;
        ctx.host = &*host;
        absl::StatusOr<MicroBatch> mb;
        {
          compat::ScopedCudaBf16Autocast autocast(c.bf16() && s.device.is_cuda());
          mb = rl_method ? RlStep(ctx, b) : SupervisedStep(ctx, b);
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
        if (rl_method) {
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
      }
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
      const double lr = LearningRate(c.optimizer(), step, total);
      for (auto& g : s.opt_model->param_groups()) g.options().set_lr(lr);
      s.opt_model->step();
      if (rl_method) {
        for (auto& g : s.opt_actor->param_groups()) g.options().set_lr(lr * actor_scale);
        for (size_t i = 0; i < actor_params.size(); ++i) actor_params[i].mutable_grad() = actor_grads[i];
        s.opt_actor->step();
      }
      for (auto& p : model_params) p.mutable_grad() = torch::Tensor();
      terms["lr"] = lr;
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("step ", step, ": ", e.what_without_backtrace()));
    }
    s.step = step;
    s.position = train.Position();
    ++window_steps;

    if (step % log_every == 0 || step == total) {
      const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
      terms["steps_per_second"] = window > 0 ? window_steps / window : 0;
      terms["frames_per_second"] = window > 0 ? window_frames / window : 0;
      terms["utterances_per_second"] = window > 0 ? window_utts / window : 0;
      terms["loader_wait_share"] = window > 0 ? window_wait / window : 0;
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
      window_wait = window_frames = window_utts = 0;
      window_steps = 0;
    }
    if (validation != nullptr && c.validate_every() > 0 && step % c.validate_every() == 0) {
      const Clock::time_point validation_start = Clock::now();
      LS_ASSIGN_OR_RETURN(const ValidationResult v, Validate(*validation));
      const double validation_seconds = std::chrono::duration<double>(Clock::now() - validation_start).count();
      LS_RETURN_IF_ERROR(s.Scalar("val/mel_loss", v.mel_loss));
      std::string line = absl::StrFormat("step %d validation: %d batches, mel_loss=%.6g", step, v.batches, v.mel_loss);
      if (v.alignment_mae >= 0) {
        LS_RETURN_IF_ERROR(s.Scalar("val/alignment_mae_frames", v.alignment_mae));
        absl::StrAppendFormat(&line, " alignment_mae_frames=%.4g", v.alignment_mae);
      }
      if (v.duration_mae >= 0) {
        LS_RETURN_IF_ERROR(s.Scalar("val/duration_mae_frames", v.duration_mae));
        absl::StrAppendFormat(&line, " duration_mae_frames=%.4g", v.duration_mae);
      }
      absl::StrAppendFormat(&line, " (%.3f s)", validation_seconds);
      s.Log(line);
      if (s.sink != nullptr && v.example_frames > 0) {
        features::MelImageOptions image;
        const int width = static_cast<int>(v.example_frames) * image.pixels_per_frame;
        const int height = s.n_mels * image.pixels_per_bin;
        LS_ASSIGN_OR_RETURN(const std::string predicted,
                            features::RenderMelPng(v.example_prediction, v.example_frames, s.n_mels,
                                                   v.example_reference_marks, v.example_method_marks, image));
        LS_RETURN_IF_ERROR(s.sink->AddImagePng("val/mel_predicted", step, predicted, width, height));
        LS_ASSIGN_OR_RETURN(const std::string target, features::RenderMelPng(v.example_target, v.example_frames, s.n_mels,
                                                                             v.example_reference_marks, {}, image));
        LS_RETURN_IF_ERROR(s.sink->AddImagePng("val/mel_target", step, target, width, height));
        if (c.validation_audio_iterations() >= 0 && v.example_frames >= 2) {
          const Clock::time_point audio_start = Clock::now();
          LS_ASSIGN_OR_RETURN(const features::LogMelOptions mel,
                              LogMelOptionsFromSettings(s.features.value_or(records::FeatureSettings()), s.n_mels));
          LS_RETURN_IF_ERROR(AddValidationAudio(*s.sink, step, mel,
                                                c.validation_audio_iterations() > 0 ? c.validation_audio_iterations()
                                                                                     : kValidationAudioIterations,
                                                v.example_prediction, v.example_frames));
          s.Log(absl::StrFormat("step %d validation audio: %d frames, %.3f s", step, v.example_frames,
                                std::chrono::duration<double>(Clock::now() - audio_start).count()));
        }
      }
    }
    if ((c.checkpoint_every() > 0 && step % c.checkpoint_every() == 0) || step == total) {
      LS_RETURN_IF_ERROR(SaveCheckpoint());
      if (s.sink != nullptr) LS_RETURN_IF_ERROR(s.sink->Flush());
    }
  }
  if (s.tty) std::fprintf(stderr, "\n");
  return absl::OkStatus();
}


absl::StatusOr<std::vector<EvalDurations>> Trainer::EvaluationDurations(const HostBatch& host) {
  State& s = *s_;
  if (host.n_mels != s.n_mels) {
    return absl::InvalidArgumentError(absl::StrCat("evaluation batch has ", host.n_mels, " mel bins, the model ", s.n_mels));
  }
  if (s.config.aligner() == TrainConfig::ORACLE && !host.has_durations()) {
    return absl::FailedPreconditionError("evaluation with aligner ORACLE needs reference durations, and this batch has none");
  }
  LS_ASSIGN_OR_RETURN(const Tensors b, HostBatchToTensors(host, s.device));
  std::vector<EvalDurations> out;
  struct EvalMode {  // back to training mode on every return
    model::AcousticModel& m;
    explicit EvalMode(model::AcousticModel& model) : m(model) { m->eval(); }
    ~EvalMode() { m->train(); }
  } eval_mode(s.model);
  torch::NoGradGuard no_grad;
  try {
    compat::ScopedCudaBf16Autocast autocast(s.config.bf16() && s.device.is_cuda());
    torch::Tensor enc = s.model->Encode(b.tokens, b.token_mask);
    LS_ASSIGN_OR_RETURN(torch::Tensor method, MethodDurations(s.config.aligner(), s.model, b, enc, s.separators));  // [B, N]
    auto host_mel = [](const model::Synthesis& syn) { return FinalMel(syn.mel).to(torch::kFloat).to(torch::kCPU).contiguous(); };
    torch::Tensor inference;  // [B, N] text-only, unscaled
    if (s.model->options().use_predictor) {
      LS_ASSIGN_OR_RETURN(torch::Tensor log_pred, s.model->PredictLogDurations(enc, b.token_mask));
      inference = model::PredictedDurations(log_pred.to(torch::kFloat), b.token_mask);
    } else if (!s.model->options().policy.observe_mel) {
      inference = method;
    }
    LS_ASSIGN_OR_RETURN(model::Synthesis trained,
                        s.model->Decode(enc, method, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
    const torch::Tensor training = trained.expanded.durations.to(torch::kCPU).contiguous();
    torch::Tensor scaled, inference_mel, inference_lengths;
    if (inference.defined()) {
      LS_ASSIGN_OR_RETURN(scaled, model::FitDurations(inference, b.token_mask, b.frame_lengths));
      scaled = scaled.to(torch::kCPU).contiguous();
      LS_ASSIGN_OR_RETURN(model::Synthesis free, s.model->Decode(enc, inference, b.token_mask));
      inference_mel = host_mel(free);
      inference_lengths = free.expanded.frame_mask.sum(1).to(torch::kCPU).contiguous();
    }
    const torch::Tensor training_mel = host_mel(trained);
    torch::Tensor reference_mel;
    if (s.config.aligner() == TrainConfig::ORACLE) {
      reference_mel = training_mel;  // the method's durations are the reference ones: no second decode
    } else if (b.has_durations()) {
      LS_ASSIGN_OR_RETURN(model::Synthesis ref,
                          s.model->Decode(enc, b.durations, b.token_mask, {}, b.frame_lengths, b.mel.size(1)));
      reference_mel = host_mel(ref);
    }
    auto row = [](const torch::Tensor& t, int64_t i, int64_t n) {
      const int64_t* p = t[i].data_ptr<int64_t>();
      return std::vector<int64_t>(p, p + n);
    };
    auto frames_of = [&](const torch::Tensor& mel, int64_t i, int64_t n) {
      torch::Tensor x = mel[i].slice(0, 0, n).contiguous();
      return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    };
    for (int64_t i = 0; i < host.batch_size; ++i) {
      EvalDurations e;
      e.id = i < static_cast<int64_t>(host.ids.size()) ? host.ids[i] : "";
      e.tokens = host.token_lengths[i];
      e.frames = host.frame_lengths[i];
      e.training = row(training, i, e.tokens);
      e.training_mel = frames_of(training_mel, i, e.frames);
      if (reference_mel.defined()) e.reference_mel = frames_of(reference_mel, i, e.frames);
      if (scaled.defined()) {
        e.inference = row(scaled, i, e.tokens);
        e.inference_frames = inference_lengths[i].item<int64_t>();
        e.inference_mel = frames_of(inference_mel, i, e.inference_frames);
      }
      out.push_back(std::move(e));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("evaluation: ", e.what_without_backtrace()));
  }
  return out;
}

}  // namespace lightspeech::train
