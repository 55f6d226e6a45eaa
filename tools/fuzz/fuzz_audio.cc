// Fuzz target: the audio reader (libsndfile + libsoxr behind features/audio) on arbitrary bytes.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "features/audio.h"
#include "tools/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  const std::string path =
      lightspeech::fuzz::WriteScratchFile("clip.wav", absl::string_view(reinterpret_cast<const char*>(data), size));
  auto audio = lightspeech::features::ReadAudio(path, 22050);
  if (!audio.ok()) return 0;
  FuzzCheck(!audio->samples.empty(), "accepted audio with no samples");
  for (float x : audio->samples) FuzzCheck(std::isfinite(x), "returned a non-finite sample");
  return 0;
}
