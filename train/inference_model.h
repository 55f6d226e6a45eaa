#ifndef LIGHTSPEECH_TRAIN_INFERENCE_MODEL_H_
#define LIGHTSPEECH_TRAIN_INFERENCE_MODEL_H_

// A trained model loaded from a checkpoint without a Trainer (no optimizers, no run folder, no
// log): the acoustic model rebuilt from the checkpoint's TrainConfig exactly as the trainer built it
// (train/model_factory.h), its tensors loaded by name (loading runs no code), in eval mode, with
// the checkpoint's duration method. For evaluation (tools:evaluate: EvaluationDurations, the same
// implementation as Trainer::EvaluationDurations) and synthesis (inference/synthesizer.h). LibTorch
// stays behind this header: devices are named by strings, the model is reached as
// model::AcousticModelImpl by code that includes model/acoustic_model.h itself.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "train/batch.h"
#include "train/checkpoint.pb.h"
#include "train/eval_durations.h"
#include "train/train_config.pb.h"

namespace lightspeech::model {
class AcousticModelImpl;  // model/acoustic_model.h
}  // namespace lightspeech::model

namespace lightspeech::train {

struct InferenceModelOptions {
  std::string device = "cpu";  // a ResolveDevice name (train/device.h): "auto", "cpu", "cuda", "cuda:N"
  // Intra-op threads (torch::set_num_threads, process-wide); 0 leaves LibTorch's setting alone.
  int threads = 1;
  // The hard-alignment prior of EvaluationDurations instead of the checkpoint's own (the TrainConfig
  // fields of the same names); unset keeps the checkpoint's.
  std::optional<double> separator_frame_penalty;
  std::optional<bool> separator_penalty_covers_punctuation;
};

class InferenceModel {
 public:
  // Reads the checkpoint at `path` and loads it (the other Create).
  static absl::StatusOr<std::unique_ptr<InferenceModel>> Create(const std::string& path,
                                                                const InferenceModelOptions& options = {});
  // Loads `checkpoint`, already read from `path` (which only names it in errors): resolves the
  // device, applies the alignment options to its config, rebuilds its model in eval mode on the
  // device and loads its tensors, and creates its duration method (one process). Fails
  // (InvalidArgument) for bad options or a config the alignment options make invalid (the message of
  // ValidateTrainConfig), (FailedPrecondition) for CUDA without a GPU, naming the path for a
  // checkpoint without a symbol table, n_mels or K, or whose tensors do not fit the model its config
  // describes; with ReadCheckpoint's errors for the first Create.
  static absl::StatusOr<std::unique_ptr<InferenceModel>> Create(const Checkpoint& checkpoint, const std::string& path,
                                                                const InferenceModelOptions& options = {});
  ~InferenceModel();
  InferenceModel(const InferenceModel&) = delete;
  InferenceModel& operator=(const InferenceModel&) = delete;

  // Evaluation of one batch (no gradients, no random numbers drawn): per utterance, the method's
  // durations and the text-only ones, and the mel decoded from each (EvalDurations). Fails
  // (InvalidArgument) on a batch with other n_mels or inconsistent sizes, (FailedPrecondition) for
  // ORACLE on a batch without reference durations, (Internal) on a LibTorch error. Not thread-safe.
  absl::StatusOr<std::vector<EvalDurations>> EvaluationDurations(const HostBatch& batch);

  // The model, in eval mode on device(); for inference (AcousticModelImpl::Infer).
  model::AcousticModelImpl& model() const;
  const std::string& device() const;  // the resolved LibTorch device name

  // The checkpoint's configuration, with the defaults filled in (ApplyTrainDefaults) and the
  // alignment options applied.
  const TrainConfig& config() const;
  const records::SymbolTable& symbol_table() const;
  // The training data's feature settings as the checkpoint records them; null for a checkpoint
  // written before checkpoints had them.
  const records::FeatureSettings* feature_settings() const;
  int n_mels() const;
  int max_duration() const;  // K
  int64_t step() const;      // the checkpoint's optimizer step
  int64_t num_parameters() const;

 private:
  struct State;
  explicit InferenceModel(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_INFERENCE_MODEL_H_
