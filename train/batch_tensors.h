#ifndef LIGHTSPEECH_TRAIN_BATCH_TENSORS_H_
#define LIGHTSPEECH_TRAIN_BATCH_TENSORS_H_

// Turns the loader's HostBatch (train/batch.h, no LibTorch) into tensors on a device.

#include "absl/status/statusor.h"
#include "torch/torch.h"
#include "train/batch.h"

namespace lightspeech::train {

// A HostBatch as tensors, all on one device. Masks are true on real (non-padding) positions.
struct TensorBatch {
  torch::Tensor tokens;         // [B, N] int64, padded with the symbol table's pad id
  torch::Tensor token_mask;     // [B, N] bool
  torch::Tensor token_lengths;  // [B] int64
  torch::Tensor mel;            // [B, T, M] float32, zero padded
  torch::Tensor mel_mask;       // [B, T] bool
  torch::Tensor frame_lengths;  // [B] int64
  torch::Tensor durations;      // [B, N] int64, zero padded; undefined when the batch has none

  bool has_durations() const { return durations.defined(); }
};

// Requirements beyond consistent sizes.
struct ToTensorsOptions {
  // When > 0: the batch must hold at least one utterance and one mel bin, and every utterance at
  // least this many tokens and this many frames (the trainer needs 1: an empty utterance has no
  // durations to learn and would divide by zero in per-utterance means). 0 accepts empty ones.
  int64_t min_length = 0;
};

// Copies `batch` to `device`. For a CUDA device the host side is staged in pinned memory and copied
// with non_blocking=true (ordered on the current stream, so kernels queued after it see the data);
// for the CPU the tensors own copies of the batch's arrays. Fails with InvalidArgument when the
// batch's arrays disagree with its sizes, a length is outside [0, N] / [0, T] or the batch breaks
// options.min_length (naming the utterance by id: "ToTensors: utterance 'x' has 0 tokens and 5
// frames, need >= 1 of each"; an empty batch: "ToTensors: empty batch (0 utterances, 80 mel bins)"), FailedPrecondition
// when `device` is CUDA but CUDA is not available, and Internal (with LibTorch's message) when
// LibTorch fails, e.g. out of device memory.
absl::StatusOr<TensorBatch> ToTensors(const HostBatch& batch, torch::Device device,
                                      const ToTensorsOptions& options = {});

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_BATCH_TENSORS_H_
