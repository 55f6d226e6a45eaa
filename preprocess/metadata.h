#ifndef LIGHTSPEECH_PREPROCESS_METADATA_H_
#define LIGHTSPEECH_PREPROCESS_METADATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// One usable line of an LJSpeech-style metadata.csv: `id|text|normalized text` (third field optional).
struct MetadataEntry {
  std::string id;
  std::string text;             // second field
  std::string normalized_text;  // third field, or the second when absent or empty
  int line = 0;                 // 1-based
};

// A line that was skipped, with the reason; `message` reads "PATH:LINE: what is wrong".
struct MetadataProblem {
  int line = 0;
  std::string reason;  // short kind, e.g. "fields", "utf8", "empty_text", "bad_id", "duplicate_id"
  std::string message;
};

struct Metadata {
  std::vector<MetadataEntry> entries;
  std::vector<MetadataProblem> problems;
};

// True when `id` is safe as a file name stem: non-empty, no '/', '\\', NUL or control characters,
// not "." or "..", no leading '.', and at most 200 bytes.
bool IsSafeId(absl::string_view id);

// Parses metadata.csv contents. Lines that are malformed (wrong number of fields, invalid UTF-8, empty
// text, unsafe or duplicate id) are reported in `problems` and left out; the rest are kept in file
// order. Blank lines are ignored; a UTF-8 BOM and CRLF line ends are accepted. `path` only labels
// messages. Never fails: an empty result is the caller's to judge.
Metadata ParseMetadata(absl::string_view contents, absl::string_view path);

// Reads and parses `path`. Fails (NotFound etc.) only when the file cannot be read.
absl::StatusOr<Metadata> ReadMetadata(const std::string& path);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_METADATA_H_
