#include "train/inference_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "model/acoustic_model.h"
#include "torch/torch.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/device.h"
#include "train/method.h"
#include "train/model_factory.h"
#include "train/step_context.h"

namespace lightspeech::train {

struct InferenceModel::State {
  TrainConfig config;
  records::SymbolTable table;
  std::optional<records::FeatureSettings> features;  // absent in older checkpoints
  int n_mels = 0;
  int max_duration = 0;
  int64_t step = 0;
  std::string device_name;
  torch::Device device{torch::kCPU};
  model::AcousticModel model{nullptr};
  std::unique_ptr<internal::Method> method;
  internal::Separators separators;
};

InferenceModel::InferenceModel(std::unique_ptr<State> state) : s_(std::move(state)) {}
InferenceModel::~InferenceModel() = default;

absl::StatusOr<std::unique_ptr<InferenceModel>> InferenceModel::Create(const std::string& path,
                                                                       const InferenceModelOptions& options) {
  if (options.threads < 0) return absl::InvalidArgumentError("InferenceModel: threads must be >= 0");
  // The device first: a bad name is reported before the file is read.
  LS_RETURN_IF_ERROR(ResolveDevice(options.device).status());
  LS_ASSIGN_OR_RETURN(const Checkpoint checkpoint, ReadCheckpoint(path));
  return Create(checkpoint, path, options);
}

absl::StatusOr<std::unique_ptr<InferenceModel>> InferenceModel::Create(const Checkpoint& c, const std::string& path,
                                                                       const InferenceModelOptions& options) {
  if (options.threads < 0) return absl::InvalidArgumentError("InferenceModel: threads must be >= 0");
  LS_ASSIGN_OR_RETURN(const std::string device, ResolveDevice(options.device));
  const int64_t k = c.max_duration() > 0 ? c.max_duration() : c.config().model().max_duration();
  if (c.symbols().symbols_size() < 2 || c.n_mels() <= 0 || k < 2) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint has no symbol table, n_mels or K (",
                                                      c.symbols().symbols_size(), " symbols, n_mels ", c.n_mels(),
                                                      ", K ", k, ")"));
  }
  auto s = std::make_unique<State>();
  s->config = c.config();
  ApplyTrainDefaults(&s->config);  // a checkpoint written before runs wrote their defaults in
  if (options.separator_frame_penalty.has_value()) s->config.set_separator_frame_penalty(*options.separator_frame_penalty);
  if (options.separator_penalty_covers_punctuation.has_value()) {
    s->config.set_separator_penalty_covers_punctuation(*options.separator_penalty_covers_punctuation);
  }
  LS_RETURN_IF_ERROR(ValidateTrainConfig(s->config));
  s->table = c.symbols();
  if (c.has_features()) s->features = c.features();
  s->n_mels = c.n_mels();
  s->max_duration = static_cast<int>(k);
  s->step = c.step();
  s->device_name = device;
  s->device = torch::Device(device);
  s->separators = internal::MakeSeparators(s->config, s->table);
  LS_ASSIGN_OR_RETURN(s->method, internal::CreateMethod(s->config, /*world_size=*/1));

  absl::StatusOr<model::AcousticModelOptions> model_options =
      ModelOptions(s->config, s->table.symbols_size(), k, s->n_mels);
  if (!model_options.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint config: ", model_options.status().message()));
  }
  try {
    if (options.threads > 0) torch::set_num_threads(options.threads);
    LS_ASSIGN_OR_RETURN(s->model, model::AcousticModel::Create(*model_options));
    if (absl::Status loaded = LoadModule(c, *s->model); !loaded.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": ", loaded.message()));
    }
    s->model->to(s->device);
    s->model->eval();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(path, ": ", e.what_without_backtrace()));
  }
  return std::unique_ptr<InferenceModel>(new InferenceModel(std::move(s)));
}

absl::StatusOr<std::vector<EvalDurations>> InferenceModel::EvaluationDurations(const HostBatch& batch) {
  State& s = *s_;
  return internal::EvaluationDurations(*s.method, s.model, s.separators, s.n_mels, s.device, s.config.bf16(), batch);
}

model::AcousticModelImpl& InferenceModel::model() const { return *s_->model; }
const std::string& InferenceModel::device() const { return s_->device_name; }
const TrainConfig& InferenceModel::config() const { return s_->config; }
const records::SymbolTable& InferenceModel::symbol_table() const { return s_->table; }
const records::FeatureSettings* InferenceModel::feature_settings() const {
  return s_->features.has_value() ? &*s_->features : nullptr;
}
int InferenceModel::n_mels() const { return s_->n_mels; }
int InferenceModel::max_duration() const { return s_->max_duration; }
int64_t InferenceModel::step() const { return s_->step; }
int64_t InferenceModel::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : s_->model->parameters()) n += p.numel();
  return n;
}

}  // namespace lightspeech::train
