// Fuzz target: both text cleaners on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "preprocess/cleaners.h"
#include "tools/fuzz/fuzz_util.h"

namespace {

using lightspeech::preprocess::CleanerKind;
using lightspeech::preprocess::TextCleaner;

const TextCleaner& Cleaner(CleanerKind kind) {
  static const TextCleaner* english = TextCleaner::Create(CleanerKind::kEnglish)->release();
  static const TextCleaner* unicode = TextCleaner::Create(CleanerKind::kUnicode)->release();
  return kind == CleanerKind::kEnglish ? *english : *unicode;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lightspeech::fuzz::FuzzCheck;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (CleanerKind kind : {CleanerKind::kEnglish, CleanerKind::kUnicode}) {
    const auto cleaned = Cleaner(kind).Clean(text);
    if (!cleaned.ok()) continue;
    FuzzCheck(!cleaned->empty(), "a cleaner returned empty text without an error");
    FuzzCheck(lightspeech::preprocess::IsValidUtf8(*cleaned), "a cleaner returned invalid UTF-8");
    if (kind == CleanerKind::kEnglish) {
      for (unsigned char c : *cleaned) FuzzCheck(c < 0x80, "the English cleaner returned non-ASCII");
    }
  }
  return 0;
}
