#ifndef LIGHTSPEECH_TRAIN_CHECKPOINT_FORMAT_H_
#define LIGHTSPEECH_TRAIN_CHECKPOINT_FORMAT_H_

// The checkpoint file format without LibTorch (docs/CHECKPOINTS.md): the integrity header (byte
// count and CRC32C of the serialized Checkpoint), parsing, and the checks every loaded checkpoint
// passes before anything is allocated from it. train/checkpoint.h builds on this; the fuzz target
// tools/fuzz/fuzz_checkpoint feeds it arbitrary bytes.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "train/checkpoint.pb.h"

namespace lightspeech::train {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

// Bytes of the integrity header that starts every checkpoint file written by EncodeCheckpoint: the
// protobuf encoding of field 15 (`integrity`, a CheckpointIntegrity with both fields set), so the
// whole file still parses as one Checkpoint message.
inline constexpr size_t kCheckpointHeaderSize = 16;

// Bytes per element of a dtype; 0 for DTYPE_UNSPECIFIED or an unknown value.
int64_t DTypeItemSize(DType dtype);

// Checks a TensorProto before anything is allocated: a known dtype, non-negative dimensions, and
// exactly product(shape) * itemsize bytes. Fails (DataLoss) naming the tensor.
absl::Status ValidateTensorProto(const TensorProto& proto);

// Checks everything in a parsed checkpoint that does not need the model: the format version
// (FailedPrecondition for another one), every tensor (model tensors, trainer state, both moments
// of every optimizer entry) as ValidateTensorProto, non-empty unique tensor and optimizer names,
// non-negative step, data position, n_mels, K and world size, and the config when one is present
// (FailedPrecondition for a retired option, RefuseRetiredOptions; then ValidateTrainConfig). Fails
// (DataLoss unless said otherwise) naming what is wrong.
absl::Status ValidateCheckpoint(const Checkpoint& checkpoint);

// The file contents for `checkpoint`: the integrity header followed by the serialized message (any
// `integrity` field already in `checkpoint` is ignored). Fails (Internal) when the message does
// not serialize (over 2 GiB).
absl::StatusOr<std::string> EncodeCheckpoint(const Checkpoint& checkpoint);

// Parses file contents written by EncodeCheckpoint and validates them (ValidateCheckpoint). With
// the integrity header, the byte count and CRC32C are checked before parsing, so a truncated,
// extended or bit-flipped file fails (DataLoss) saying which; a file without the header is read
// only if it starts the way a version-1 checkpoint written before the header existed does
// (format_version = 1 as its first field). Every error starts with `path` ("PATH: what").
absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view bytes, const std::string& path);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_CHECKPOINT_FORMAT_H_
