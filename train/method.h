#ifndef LIGHTSPEECH_TRAIN_METHOD_H_
#define LIGHTSPEECH_TRAIN_METHOD_H_

// Internal to the train package (the `method` library, used by `trainer` and `inference_model`): a
// duration method (TrainConfig.aligner, docs/DESIGN.md section 4) as the trainer sees it, chosen
// once in Trainer::Create or InferenceModel::Create: its losses for a training micro-batch and its
// durations at validation and evaluation. ORACLE and MAS are in method_supervised.cc, RL (the
// categorical policy and the per-frame monotonic one) in method_rl.cc, the evaluation of a batch
// that the trainer and the inference model share in method_evaluation.cc.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "model/acoustic_model.h"
#include "torch/torch.h"
#include "train/batch.h"
#include "train/eval_durations.h"
#include "train/step_context.h"
#include "train/train_config.pb.h"

namespace lightspeech::train::internal {

class Method {
 public:
  virtual ~Method() = default;

  // Whether the method trains an actor (encoder + policy) with its own optimizer from
  // MicroBatch::actor_loss (RL).
  virtual bool has_actor() const { return false; }

  // Whether the method's durations are the reference ones from the records (ORACLE): it needs them
  // in every batch, and validation has no alignment error to report.
  virtual bool uses_reference_durations() const { return false; }

  // The losses and logged terms of one training micro-batch `b` (ctx.host its host batch), with
  // gradients, under the loop's autocast.
  virtual absl::StatusOr<MicroBatch> Step(Context& ctx, const Tensors& b) const = 0;

  // The durations [B, N] the method itself uses for batch `b` (token encodings `enc`). Called
  // without gradients, for validation and evaluation; undefined for ORACLE on a batch without
  // reference durations.
  virtual absl::StatusOr<torch::Tensor> Durations(model::AcousticModel& model, const Tensors& b, const torch::Tensor& enc,
                                                  const Separators& separators) const = 0;
};

// The method of config.aligner (config.rl.monotonic_frame_policy picks the RL policy) for a run of
// `world_size` processes. Fails (FailedPrecondition) for the per-frame policy with several processes,
// (InvalidArgument) for an unknown aligner.
absl::StatusOr<std::unique_ptr<Method>> CreateMethod(const TrainConfig& config, int world_size);

// Evaluation of one batch `host` with `method` and `model` (on `device`, with `n_mels` bins; bf16
// autocast when `bf16` on CUDA): per utterance, the method's and the text-only durations and the mel
// decoded from each (EvalDurations). The model is in eval mode for the call and back in its
// previous mode after it; no gradients, no random numbers drawn. Fails (InvalidArgument) on a
// batch with other n_mels or inconsistent sizes, (FailedPrecondition) for ORACLE on a batch without
// reference durations, (Internal) on a LibTorch error. Trainer::EvaluationDurations and
// InferenceModel::EvaluationDurations are this.
absl::StatusOr<std::vector<EvalDurations>> EvaluationDurations(const Method& method, model::AcousticModel& model,
                                                               const Separators& separators, int n_mels,
                                                               const torch::Device& device, bool bf16,
                                                               const HostBatch& host);

// The methods, for CreateMethod.
std::unique_ptr<Method> NewOracleMethod();
std::unique_ptr<Method> NewMasMethod();
std::unique_ptr<Method> NewCategoricalRlMethod();
std::unique_ptr<Method> NewMonotonicRlMethod();

}  // namespace lightspeech::train::internal

#endif  // LIGHTSPEECH_TRAIN_METHOD_H_
