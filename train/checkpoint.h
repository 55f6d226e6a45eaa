#ifndef LIGHTSPEECH_TRAIN_CHECKPOINT_H_
#define LIGHTSPEECH_TRAIN_CHECKPOINT_H_

// Checkpoints as documented protobufs (train/checkpoint.proto, docs/CHECKPOINTS.md): tensors to and
// from TensorProto, AdamW optimizer state by parameter name, torch generator states, and the
// checkpoint files of a run folder (atomic writes, last K kept). Every function returns a Status;
// no exception escapes.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "torch/torch.h"
#include "train/checkpoint.pb.h"
#include "train/checkpoint_format.h"

namespace lightspeech::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// A tensor (any device; float32/64, bfloat16, float16, int64/32, uint8 or bool) as a TensorProto:
// copied to the CPU, contiguous, little-endian. Fails (InvalidArgument) on another dtype.
absl::StatusOr<TensorProto> TensorToProto(const std::string& name, const torch::Tensor& tensor);

// A validated TensorProto as a CPU tensor (owning its memory).
absl::StatusOr<torch::Tensor> TensorFromProto(const TensorProto& proto);

// Copies a TensorProto into an existing tensor (any device) after checking that dtype and shape
// match it. Fails (FailedPrecondition) naming the tensor, e.g.
// "checkpoint tensor 'encoder.proj.weight' has shape [4, 8], the model's is [4, 16]".
absl::Status CopyProtoIntoTensor(const TensorProto& proto, torch::Tensor& target);

// Appends the module's named parameters and buffers to checkpoint->tensors.
absl::Status SaveModule(torch::nn::Module& module, Checkpoint* checkpoint);

// Loads every parameter and buffer of `module` from checkpoint.tensors. All names, dtypes and shapes
// are checked before any value is copied; fails (FailedPrecondition) naming the first missing,
// unexpected or mismatched tensor, and leaves the module unchanged then.
absl::Status LoadModule(const Checkpoint& checkpoint, torch::nn::Module& module);

// Appends the AdamW state of `optimizer`, whose parameters are `params` (name -> tensor, the
// tensors given to the optimizer), as OptimizerState `name`. Fails (InvalidArgument) for an
// optimizer that is not torch::optim::AdamW.
absl::Status SaveAdamW(const std::string& name, torch::optim::Optimizer& optimizer, const NamedTensors& params,
                       Checkpoint* checkpoint);

// Checks OptimizerState `name` against `params` without changing anything: present, AdamW, every
// entry's parameter known and its moments of the parameter's dtype and shape. Fails
// (FailedPrecondition / DataLoss) naming the optimizer and parameter.
absl::Status ValidateAdamW(const Checkpoint& checkpoint, const std::string& name, const NamedTensors& params);

// Restores OptimizerState `name` into `optimizer` (an AdamW over `params`): ValidateAdamW first,
// then replaces the optimizer's state.
absl::Status LoadAdamW(const Checkpoint& checkpoint, const std::string& name, torch::optim::Optimizer& optimizer,
                       const NamedTensors& params);

// The default torch generator's state of `device` (CPU, or a CUDA device when available).
absl::StatusOr<RngState> SaveTorchRng(const torch::Device& device);
// Restores a state saved by SaveTorchRng into the default generator of its device.
absl::Status LoadTorchRng(const RngState& state);

// Serializes `checkpoint` with its integrity header (EncodeCheckpoint) and writes it atomically
// (temporary file, fsync, rename); on failure (e.g. ResourceExhausted on a full disk) the previous
// file at `path` is untouched and no partial file is left. The error names the path.
absl::Status WriteCheckpoint(const Checkpoint& checkpoint, const std::string& path);

// Reads, checks and parses a checkpoint (DecodeCheckpoint): fails (DataLoss) naming the path and
// what is wrong for a truncated, bit-flipped or unparsable file or an invalid tensor or config,
// (FailedPrecondition) for another format version or a config with a retired option.
absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path);

// DIR/ckpt-<step, 8 digits>.pb.
std::string CheckpointPath(const std::string& dir, int64_t step);

// Checkpoints in `dir` as (step, path), ascending by step; ".partial" files are never listed. A
// missing folder gives an empty list.
absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ListCheckpoints(const std::string& dir);

// The newest checkpoint in `dir`; NotFound when there is none.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir);

// Deletes all but the newest `keep` checkpoints (keep >= 1) and any leftover ".partial" files.
absl::Status PruneCheckpoints(const std::string& dir, int keep);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_CHECKPOINT_H_
