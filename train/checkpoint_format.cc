#include "train/checkpoint_format.h"

#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "records/crc32c.h"
#include "train/config.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the integrity header is little-endian");

namespace lightspeech::train {
namespace {

// Header layout: field 15 (length-delimited) of length 14, holding field 1 (fixed64) and field 2
// (fixed32) of CheckpointIntegrity.
constexpr char kHeaderTag = 0x7A;
constexpr char kHeaderLength = 0x0E;
constexpr char kSizeTag = 0x09;
constexpr char kCrcTag = 0x15;
constexpr size_t kSizeAt = 3, kCrcAt = 12;

std::string ShapeString(const TensorProto& p) { return absl::StrCat("[", absl::StrJoin(p.shape(), ", "), "]"); }

absl::Status DataLoss(const std::string& what) { return absl::DataLossError(what); }

// Validates `proto` and records its name in `names` (non-empty, unique within one list).
absl::Status CheckNamedTensor(const TensorProto& proto, const char* list, std::set<std::string>* names) {
  if (proto.name().empty()) return DataLoss(absl::StrCat("checkpoint ", list, " has a tensor without a name"));
  if (!names->insert(proto.name()).second) {
    return DataLoss(absl::StrCat("checkpoint ", list, " has two tensors named '", proto.name(), "'"));
  }
  return ValidateTensorProto(proto);
}

}  // namespace

int64_t DTypeItemSize(DType dtype) {
  switch (dtype) {
    case FLOAT64:
    case INT64:
      return 8;
    case FLOAT32:
    case INT32:
      return 4;
    case BFLOAT16:
    case FLOAT16:
      return 2;
    case BOOL:
    case UINT8:
      return 1;
    default:
      return 0;
  }
}

absl::Status ValidateTensorProto(const TensorProto& proto) {
  const int64_t itemsize = DTypeItemSize(proto.dtype());
  if (itemsize == 0) {
    return DataLoss(absl::StrCat("checkpoint tensor '", proto.name(), "': unknown dtype ", proto.dtype()));
  }
  int64_t numel = 1;
  for (int64_t d : proto.shape()) {
    if (d < 0 || (d > 0 && numel > (int64_t{1} << 50) / d)) {
      return DataLoss(absl::StrCat("checkpoint tensor '", proto.name(), "': bad shape ", ShapeString(proto)));
    }
    numel *= d;
  }
  if (static_cast<int64_t>(proto.data().size()) != numel * itemsize) {
    return DataLoss(absl::StrCat("checkpoint tensor '", proto.name(), "': ", proto.data().size(), " bytes, expected ",
                                 numel * itemsize, " for ", DType_Name(proto.dtype()), " ", ShapeString(proto)));
  }
  return absl::OkStatus();
}

absl::Status ValidateCheckpoint(const Checkpoint& c) {
  if (c.format_version() != kCheckpointFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint format version ", c.format_version(),
                                                      ", this build reads ", kCheckpointFormatVersion));
  }
  if (c.step() < 0) return DataLoss(absl::StrCat("checkpoint step ", c.step(), " is negative"));
  if (c.n_mels() < 0 || c.max_duration() < 0 || c.world_size() < 0) {
    return DataLoss(absl::StrCat("checkpoint n_mels ", c.n_mels(), ", K ", c.max_duration(), " or world size ",
                                 c.world_size(), " is negative"));
  }
  if (c.data_position().epoch() < 0 || c.data_position().batch_in_epoch() < 0) {
    return DataLoss("checkpoint data position is negative");
  }
  std::set<std::string> names;
  for (const TensorProto& t : c.tensors()) {
    LS_RETURN_IF_ERROR(CheckNamedTensor(t, "tensors", &names));
  }
  names.clear();
  for (const TensorProto& t : c.state()) {
    LS_RETURN_IF_ERROR(CheckNamedTensor(t, "state", &names));
  }
  std::set<std::string> optimizers;
  for (const OptimizerState& o : c.optimizers()) {
    if (!optimizers.insert(o.name()).second) {
      return DataLoss(absl::StrCat("checkpoint has two optimizers named '", o.name(), "'"));
    }
    std::set<std::string> params;
    for (const AdamParamState& p : o.params()) {
      if (!params.insert(p.param()).second) {
        return DataLoss(absl::StrCat("checkpoint optimizer '", o.name(), "' has two entries for '", p.param(), "'"));
      }
      if (p.step() < 0) {
        return DataLoss(absl::StrCat("checkpoint optimizer '", o.name(), "': negative step for '", p.param(), "'"));
      }
      for (const TensorProto* t : {&p.exp_avg(), &p.exp_avg_sq()}) {
        LS_RETURN_IF_ERROR(ValidateTensorProto(*t));
      }
    }
  }
  if (c.has_config()) {
    if (absl::Status s = RefuseRetiredOptions(c.config()); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("checkpoint config: ", s.message()));
    }
    if (absl::Status s = ValidateTrainConfig(c.config()); !s.ok()) {
      return DataLoss(absl::StrCat("checkpoint config: ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeCheckpoint(const Checkpoint& checkpoint) {
  const Checkpoint* message = &checkpoint;
  Checkpoint without_integrity;
  if (checkpoint.has_integrity()) {
    without_integrity = checkpoint;
    without_integrity.clear_integrity();
    message = &without_integrity;
  }
  std::string out(kCheckpointHeaderSize, '\0');
  if (!message->AppendToString(&out)) {
    return absl::InternalError("cannot serialize the checkpoint (over 2 GiB?)");
  }
  const uint64_t size = out.size() - kCheckpointHeaderSize;
  const uint32_t crc = records::Crc32c(out.data() + kCheckpointHeaderSize, size);
  out[0] = kHeaderTag;
  out[1] = kHeaderLength;
  out[2] = kSizeTag;
  std::memcpy(&out[kSizeAt], &size, 8);
  out[11] = kCrcTag;
  std::memcpy(&out[kCrcAt], &crc, 4);
  return out;
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view bytes, const std::string& path) {
  absl::string_view body = bytes;
  if (!bytes.empty() && bytes[0] == kHeaderTag) {
    if (bytes.size() < kCheckpointHeaderSize) {
      return DataLoss(absl::StrCat(path, ": truncated checkpoint: ", bytes.size(), " bytes, shorter than its ",
                                   kCheckpointHeaderSize, "-byte header"));
    }
    if (bytes[1] != kHeaderLength || bytes[2] != kSizeTag || bytes[11] != kCrcTag) {
      return DataLoss(absl::StrCat(path, ": corrupt checkpoint header (its first ", kCheckpointHeaderSize, " bytes)"));
    }
    uint64_t size;
    uint32_t crc;
    std::memcpy(&size, bytes.data() + kSizeAt, 8);
    std::memcpy(&crc, bytes.data() + kCrcAt, 4);
    body = bytes.substr(kCheckpointHeaderSize);
    if (body.size() != size) {
      return DataLoss(absl::StrCat(path, ": checkpoint ", body.size() < size ? "truncated" : "has extra bytes", ": ",
                                   body.size(), " bytes after the header, the header says ", size));
    }
    const uint32_t actual = records::Crc32c(body);
    if (actual != crc) {
      return DataLoss(absl::StrFormat("%s: corrupt checkpoint: CRC32C of the %d bytes after the header is %08x, "
                                      "the header says %08x",
                                      path, body.size(), actual, crc));
    }
  } else if (bytes.size() < 2 || bytes[0] != 0x08 || bytes[1] != 0x01) {
    // A file written before the header existed starts with format_version = 1 (tag 0x08, value 1).
    return DataLoss(absl::StrCat(path, ": not a checkpoint (no integrity header, and not a version-1 checkpoint)"));
  }
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return DataLoss(absl::StrCat(path, ": checkpoint of ", body.size(), " bytes, over protobuf's 2 GiB limit"));
  }
  Checkpoint c;
  if (!c.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return DataLoss(absl::StrCat(path, ": not a checkpoint (unparsable)"));
  }
  if (c.has_integrity()) return DataLoss(absl::StrCat(path, ": checkpoint integrity header out of place"));
  if (absl::Status s = ValidateCheckpoint(c); !s.ok()) return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  return c;
}

}  // namespace lightspeech::train
