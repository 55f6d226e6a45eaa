// Fuzz target: the manifest reader (protobuf text format + validation) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "records/manifest_io.h"
#include "tools/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  const std::string path = lightspeech::fuzz::WriteScratchFile(
      "manifest.pbtxt", absl::string_view(reinterpret_cast<const char*>(data), size));
  auto manifest = lightspeech::records::ReadManifest(path);
  if (manifest.ok()) {
    FuzzCheck(lightspeech::records::ValidateManifest(*manifest).ok(), "read a manifest that does not validate");
  }
  return 0;
}
