// Fuzz target: checkpoint file decoding (integrity header, protobuf parsing, validation) on
// arbitrary bytes. LibTorch-free: it covers train/checkpoint_format, everything ReadCheckpoint does
// before tensors reach LibTorch (which then only copies bytes that passed ValidateTensorProto).
// Random mutations rarely keep a CRC intact, so the seeds include files without the integrity header
// (the pre-header layout, still accepted), whose bytes reach the parser and validation directly.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "tools/fuzz/fuzz_util.h"
#include "train/checkpoint_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  namespace train = lightspeech::train;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<train::Checkpoint> c = train::DecodeCheckpoint(bytes, "input.pb");
  if (!c.ok()) {
    FuzzCheck(absl::StartsWith(c.status().message(), "input.pb: "), "an error that does not name the file");
    return 0;
  }
  FuzzCheck(!c->has_integrity(), "a decoded checkpoint kept its integrity header");
  FuzzCheck(train::ValidateCheckpoint(*c).ok(), "decoded a checkpoint that does not validate");
  absl::StatusOr<std::string> again = train::EncodeCheckpoint(*c);
  FuzzCheck(again.ok(), "a decoded checkpoint does not encode");
  absl::StatusOr<train::Checkpoint> back = train::DecodeCheckpoint(*again, "again.pb");
  FuzzCheck(back.ok() && back->SerializeAsString() == c->SerializeAsString(),
            "a re-encoded checkpoint does not decode to the same message");
  return 0;
}
