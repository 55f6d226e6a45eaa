// Fuzz target: the metadata.csv parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "preprocess/metadata.h"
#include "tools/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  const absl::string_view contents(reinterpret_cast<const char*>(data), size);
  const lightspeech::preprocess::Metadata metadata = lightspeech::preprocess::ParseMetadata(contents, "fuzz.csv");
  // Whatever the parser accepts must be safe to use as a file name.
  for (const auto& entry : metadata.entries) {
    FuzzCheck(lightspeech::preprocess::IsSafeId(entry.id), "accepted an unsafe id");
  }
  return 0;
}
