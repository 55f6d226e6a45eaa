#include "tools/fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace lightspeech::fuzz {

std::string WriteScratchFile(absl::string_view name, absl::string_view bytes) {
  const char* dir = std::getenv("TEST_TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = "/tmp";
  const std::string path = absl::StrCat(dir, "/lightspeech-fuzz-", getpid(), "-", name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FuzzCheck(f != nullptr, "cannot create the scratch file");
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  FuzzCheck(std::fclose(f) == 0 && written, "cannot write the scratch file");
  return path;
}

}  // namespace lightspeech::fuzz
