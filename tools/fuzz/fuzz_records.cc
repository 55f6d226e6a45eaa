// Fuzz target: the TFRecord reader and Utterance decoding on an arbitrary shard file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "records/record_io.h"
#include "records/utterance.pb.h"
#include "records/utterance_io.h"
#include "tools/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  namespace records = lightspeech::records;
  const std::string path = lightspeech::fuzz::WriteScratchFile(
      "shard.tfrecord", absl::string_view(reinterpret_cast<const char*>(data), size));
  auto reader = records::RecordReader::Open(path);
  FuzzCheck(reader.ok(), "cannot open the scratch shard");
  std::string payload;
  uint64_t previous_offset = 0;
  // Each call must make progress: a reader that never ends would hang the trainer.
  for (int guard = 0; guard <= static_cast<int>(size); ++guard) {
    auto more = (*reader)->Next(&payload);
    if (more.ok() && !*more) return 0;
    FuzzCheck((*reader)->offset() <= (*reader)->file_size(), "reader offset beyond the file");
    if (more.ok()) {
      FuzzCheck((*reader)->offset() > previous_offset, "reader did not advance");
      records::Utterance utterance;
      if (records::DecodeUtterance(payload, "fuzz", &utterance).ok()) {
        // A decoded utterance is valid and re-encodes.
        FuzzCheck(records::ValidateUtterance(utterance).ok(), "decoded an invalid utterance");
        std::string again;
        FuzzCheck(records::EncodeUtterance(utterance, &again).ok(), "decoded utterance does not re-encode");
      }
    }
    previous_offset = (*reader)->offset();
  }
  FuzzCheck(false, "reader returned more records than bytes");
  return 0;
}
