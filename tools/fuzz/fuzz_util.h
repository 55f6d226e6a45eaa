#ifndef LIGHTSPEECH_TOOLS_FUZZ_FUZZ_UTIL_H_
#define LIGHTSPEECH_TOOLS_FUZZ_FUZZ_UTIL_H_

// Helpers shared by the fuzz targets. A target that fails an invariant calls FuzzCheck, which
// aborts, so libFuzzer (and the replay tests) report it as a crash.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

namespace lightspeech::fuzz {

inline void FuzzCheck(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// Writes `bytes` to a per-process scratch file named `name` (under $TEST_TMPDIR or /tmp) and returns
// its path; for readers that only take paths.
std::string WriteScratchFile(absl::string_view name, absl::string_view bytes);

}  // namespace lightspeech::fuzz

#endif  // LIGHTSPEECH_TOOLS_FUZZ_FUZZ_UTIL_H_
