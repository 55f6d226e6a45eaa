#ifndef LIGHTSPEECH_TRAIN_TRAINER_STATE_H_
#define LIGHTSPEECH_TRAIN_TRAINER_STATE_H_

// Internal to the `trainer` library: what a Trainer holds, shared by trainer.cc (creation,
// checkpoints, the training loop), optimizer_step.cc (the loop's steps) and trainer_validation.cc
// (validation and evaluation), and the functions of those files that the loop calls.

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "model/acoustic_model.h"
#include "records/manifest.pb.h"
#include "rl/baselines.h"
#include "torch/torch.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/method.h"
#include "train/metrics_sink.h"
#include "train/step_context.h"
#include "train/train_config.pb.h"
#include "train/trainer.h"

namespace lightspeech::train {
namespace internal {

// Trainer::State is this; a struct of its own so that the trainer's helper functions can name it.
struct TrainerState {
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
  std::unique_ptr<Method> method;  // config.aligner's, chosen once in Trainer::Create
  Separators separators;  // separator_frame_penalty
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

// The loader's waiting time (seconds) and the data read since the last log line, for the
// throughput scalars.
struct LogWindow {
  double wait = 0, frames = 0, utterances = 0;
};

// The named steps of Trainer::Train (optimizer_step.cc). All return the error that ends training.

// With several ranks, before the first step: fails (FailedPrecondition) unless every rank is at the
// same step, then copies rank 0's parameters to all.
absl::Status SynchronizeRanks(TrainerState& s, std::vector<torch::Tensor>& model_params);

// One micro-batch of optimizer step `step`: the next batch of `train` (its loader wait and data
// added to `window`), the loss scales over all ranks, the method's losses under autocast, the
// non-finite loss guard (logged; nothing back-propagated), each term / accumulation added to
// `terms`; then the actor loss's gradients added to actor_grads (RL) and the model loss
// back-propagated into the parameters' gradients.
absl::Status RunMicroBatch(TrainerState& s, Context& ctx, BatchSource& train, int64_t step, int accumulation,
                           const std::vector<torch::Tensor>& actor_params, std::vector<torch::Tensor>& actor_grads,
                           std::map<std::string, double>& terms, LogWindow& window);

// After the micro-batches of step `step`: gradients averaged over ranks, the gradient-norm guard
// (logged; nothing stepped), clipping, both optimizers stepped at LearningRate (the actor's scaled
// by rl.actor_lr_scale) and the gradients cleared; adds grad_norm, actor_grad_norm (RL) and lr to
// `terms`.
absl::Status ApplyGradients(TrainerState& s, int64_t step, std::vector<torch::Tensor>& model_params,
                            std::vector<torch::Tensor>& actor_params, std::vector<torch::Tensor>& actor_grads,
                            std::map<std::string, double>& terms);

// Sends validation pass `v` of step `step` (which took `seconds`) to the text log and the sink: its
// scalars, the first utterance's predicted and target mel as PNG pictures and the predicted mel as
// Griffin-Lim audio (Trainer::Train). Defined in trainer_validation.cc.
absl::Status ReportValidation(TrainerState& s, int64_t step, const ValidationResult& v, double seconds);

}  // namespace internal

struct Trainer::State : internal::TrainerState {};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_TRAINER_STATE_H_
