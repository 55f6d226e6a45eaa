#ifndef LIGHTSPEECH_TRAIN_TRAINER_H_
#define LIGHTSPEECH_TRAIN_TRAINER_H_

// The training loop: the acoustic model with durations from a policy (RL), from a forward-sum
// aligner + monotonic alignment search (MAS) or from the records (ORACLE); AdamW with warm-up and
// decay, gradient clipping and accumulation, a NaN/Inf guard, checkpoints that resume exactly,
// validation, scalars to a MetricsSink, a plain-text log and a progress line on a terminal.
// LibTorch stays behind this header (devices are named by strings).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "train/device.h"
#include "train/batch.h"
#include "train/eval_durations.h"
#include "train/metrics_sink.h"
#include "train/train_config.pb.h"

namespace lightspeech::train {

class Distributed;  // train/distributed.h

// The learning rate of optimizer step `step` (1-based) of `total_steps`: linear warm-up from
// lr / warmup_steps to lr over warmup_steps, then the configured decay (train_config.proto).
double LearningRate(const OptimizerConfig& optimizer, int64_t step, int64_t total_steps);

// One validation pass's results (means over real frames / tokens).
struct ValidationResult {
  int64_t batches = 0;
  double mel_loss = 0;  // with the method's durations fitted to the reference length
  bool has_durations = false;
  double alignment_mae = -1;  // frames per token: the method's durations (MAS, greedy actor) vs reference; -1 if none
  double duration_mae = -1;   // frames per token: inference durations (predictor, else text-only actor) vs reference
  // The pass's first utterance, for pictures: predicted and target log-mel, frame-major
  // [example_frames][n_mels], and token boundaries (the frame where each token after the first
  // starts) from the method's durations and from the reference (empty without one).
  int64_t example_frames = 0;
  std::vector<float> example_prediction, example_target;
  std::vector<int> example_method_marks, example_reference_marks;
};

class Trainer {
 public:
  // Validates `config`, builds the model (seeded with config.seed, config.threads intra-op
  // threads) and its optimizers on `device` (a name from ResolveDevice), creates RUN_DIR and
  // RUN_DIR/checkpoints and writes the resolved configuration to RUN_DIR/config.pbtxt.
  // max_duration is K when config.model.max_duration is 0. `sink` may be null; log_path "" means
  // RUN_DIR/train.log. Fails (InvalidArgument) on a bad config, (FailedPrecondition) for CUDA
  // without a GPU, or naming the path that cannot be created.
  // `distributed` (may be null: one process; must outlive the trainer) makes this one rank of a
  // data-parallel run (docs/DISTRIBUTED.md): the training stream must be this rank's share, losses
  // are normalized by counts over all ranks, gradients and batch statistics are averaged, and only
  // rank 0 writes the run folder, the log, the sink and checkpoints.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainConfig& config,
                                                         const records::SymbolTable& symbols, int n_mels,
                                                         int max_duration, const std::string& device, MetricsSink* sink,
                                                         const std::string& log_path,
                                                         Distributed* distributed = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The corpus's preprocessing feature settings (its manifest's `features`): written into every
  // checkpoint and used by the validation audio's Griffin-Lim. Without them the audio uses the
  // docs/DESIGN.md defaults with n_mels bins and checkpoints carry none (unless restored from one that
  // does). Fails (InvalidArgument) when their n_mels differs from the trainer's or no log-mel
  // extractor can use them.
  absl::Status SetFeatureSettings(const records::FeatureSettings& settings);

  // Continues from a checkpoint: model, optimizers, torch RNG states, step, data position and the
  // trainer's own state. Fails (FailedPrecondition) before changing anything when the checkpoint
  // belongs to another model configuration, method, symbol table, n_mels or K, naming the field
  // ("checkpoint config differs: model.encoder_dim: 64 vs 32") or tensor, or was written by a run
  // with another number of processes; other fields (learning
  // rate, steps, ...) may change between runs and are noted in the text log, as are feature
  // settings that differ from SetFeatureSettings' (those stay; without them the checkpoint's are taken).
  absl::Status Restore(const std::string& checkpoint_path);

  // Trains until config.steps optimizer steps; `train` must already be at data_position() (a loader
  // is opened there after Restore). Validates every config.validate_every steps when `validation`
  // is given (a pass ends at OutOfRange or after config.validation_batches; the next pass calls
  // Next() again, so a source must restart after OutOfRange), sending its scalars and, as PNG
  // pictures, the first utterance's predicted mel (method's token boundaries in red, reference in
  // white) and target mel, and that predicted mel as a 16-bit wav by Griffin-Lim
  // ("val/audio_predicted", config.validation_audio_iterations). Checkpoints every
  // config.checkpoint_every steps and at the end, keeping the last config.keep_checkpoints.
  // Fails on a loader error, a batch the method cannot use (ORACLE without reference durations,
  // other n_mels), a non-finite loss or gradient norm (InvalidArgument naming the step and every
  // loss term; nothing is stepped or checkpointed then), or a checkpoint write error.
  absl::Status Train(BatchSource& train, BatchSource* validation);

  // One validation pass (eval mode, no gradients, no random numbers drawn).
  absl::StatusOr<ValidationResult> Validate(BatchSource& validation);

  // Writes a checkpoint of the current state to RUN_DIR/checkpoints/ckpt-<step>.pb and prunes old
  // ones (rank 0 only; other ranks return OK). The error names the path; the previous checkpoints
  // are untouched on failure.
  absl::Status SaveCheckpoint();

  int64_t step() const;
  DataPosition data_position() const;
  const TrainConfig& config() const;
  // Parameter count of the model.
  int64_t num_parameters() const;

  // Evaluation of one batch (eval mode, no gradients, no random numbers drawn): per utterance, the
  // training-time and inference-time durations and the mel decoded from each (EvalDurations).
  // Fails (InvalidArgument) on a batch with other n_mels or inconsistent sizes, (FailedPrecondition)
  // for ORACLE on a batch without reference durations, (Internal) on a LibTorch error.
  absl::StatusOr<std::vector<EvalDurations>> EvaluationDurations(const HostBatch& batch);

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_TRAINER_H_
