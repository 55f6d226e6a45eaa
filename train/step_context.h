#ifndef LIGHTSPEECH_TRAIN_STEP_CONTEXT_H_
#define LIGHTSPEECH_TRAIN_STEP_CONTEXT_H_

// Internal to the train package (the `method` library, used by the trainer and the inference
// model): what the training loop hands a duration method for one micro-batch (Context), what the
// method hands back (MicroBatch), and the pieces the methods, the loop, validation and evaluation
// share (batches on the device, word separators, hard alignments, losses).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/acoustic_model.h"
#include "records/manifest.pb.h"
#include "rl/baselines.h"
#include "torch/torch.h"
#include "train/batch.h"
#include "train/batch_tensors.h"
#include "train/distributed.h"
#include "train/train_config.pb.h"

namespace lightspeech::train::internal {

// A HostBatch on a device (pinned memory and non-blocking copies on CUDA, train/batch_tensors.h).
using Tensors = TensorBatch;

// Every utterance needs at least one token and one frame.
absl::StatusOr<Tensors> HostBatchToTensors(const HostBatch& b, const torch::Device& device);

// The decoder's final mel: after the postnet when there is one.
const torch::Tensor& FinalMel(const model::DecoderOutput& d);

// How word separators are treated in the hard alignments (TrainConfig.separator_frame_penalty).
struct Separators {
  torch::Tensor penalized;  // bool [symbols], the symbols separator_frame_penalty applies to; undefined when off
  double penalty = 0;       // separator_frame_penalty
};

// The Separators of `config` over `symbols` (on the CPU): the symbols separator_frame_penalty holds
// short. With no separator in the table that is only the punctuation, or nothing; that is no error.
Separators MakeSeparators(const TrainConfig& config, const records::SymbolTable& symbols);

// The text-only durations [B, N] the model predicts for token encodings `enc`: the duration
// predictor's, unscaled; without a predictor, the method's own `method_durations` when the policy
// reads text alone; else undefined (a policy that observes the mel has no text-only durations).
absl::StatusOr<torch::Tensor> TextOnlyDurations(model::AcousticModel& model, const torch::Tensor& enc,
                                                const torch::Tensor& token_mask, const torch::Tensor& method_durations);

// Puts the model in eval mode and restores its previous mode on every way out of the scope.
class ScopedEvalMode {
 public:
  explicit ScopedEvalMode(model::AcousticModel& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~ScopedEvalMode() { model_->train(was_training_); }
  ScopedEvalMode(const ScopedEvalMode&) = delete;
  ScopedEvalMode& operator=(const ScopedEvalMode&) = delete;

 private:
  model::AcousticModel& model_;
  const bool was_training_;
};

// The scores hard alignments follow: the aligner's log-attention [B, T, N], less separator_frame_penalty
// at every frame on a separator (a prior that separators are short). Not used for the aligner's losses.
torch::Tensor HardScores(const torch::Tensor& log_att, const Tensors& b, const Separators& sep);

// MAS over HardScores(log_att).
absl::StatusOr<torch::Tensor> HardAlignment(const torch::Tensor& log_att, const Tensors& b, const Separators& sep);

// Mean squared error over real frames and bins; pred and target [B, T, M], mask [B, T].
torch::Tensor MaskedMse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask);

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
  Separators separators;                         // State::separators, penalized on the device
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

// The duration predictor's loss on `durations` [B, N] from token encodings `enc`.
absl::StatusOr<torch::Tensor> PredictorLoss(Context& ctx, const torch::Tensor& enc, const Tensors& b,
                                            const torch::Tensor& durations);

// MaskedMse of the decoder's mel, plus that of the postnet's when there is one.
torch::Tensor MelLoss(const model::Synthesis& syn, const Tensors& b);

// The mean of `durations` over real tokens (`mask`).
torch::Tensor MeanDuration(const torch::Tensor& durations, const torch::Tensor& mask);

// The aligner's binarization loss along the hard alignment `durations` [B, N], weighted, added to
// out.model_loss and out.terms ("binarization_loss", a mean over utterances), from
// config.binarization_start_step on; nothing when binarization_weight is 0.
absl::Status AddBinarizationLoss(Context& ctx, const torch::Tensor& log_att, const torch::Tensor& durations, const Tensors& b,
                                 MicroBatch& out);

}  // namespace lightspeech::train::internal

#endif  // LIGHTSPEECH_TRAIN_STEP_CONTEXT_H_
