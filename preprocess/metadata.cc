#include "preprocess/metadata.h"

#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "preprocess/cleaners.h"

namespace lightspeech::preprocess {

bool IsSafeId(absl::string_view id) {
  if (id.empty() || id.size() > 200 || id[0] == '.') return false;
  for (char c : id) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7F) return false;
  }
  return true;
}

Metadata ParseMetadata(absl::string_view contents, absl::string_view path) {
  Metadata out;
  if (absl::StartsWith(contents, "\xEF\xBB\xBF")) contents.remove_prefix(3);
  std::unordered_map<std::string, int> first_line;
  int line_no = 0;
  auto problem = [&](absl::string_view reason, absl::string_view what) {
    out.problems.push_back({line_no, std::string(reason), absl::StrCat(path, ":", line_no, ": ", what)});
  };
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_no;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (!IsValidUtf8(line)) {
      problem("utf8", "invalid UTF-8");
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, '|');
    if (fields.size() < 2 || fields.size() > 3) {
      problem("fields", absl::StrCat("expected 2 or 3 '|'-separated fields (id|text|normalized text), found ",
                                     fields.size()));
      continue;
    }
    const absl::string_view id = absl::StripAsciiWhitespace(fields[0]);
    if (!IsSafeId(id)) {
      problem("bad_id", absl::StrCat("unsafe id '", id,
                                     "' (empty, leading '.', path separator or control character)"));
      continue;
    }
    const absl::string_view text = absl::StripAsciiWhitespace(fields[1]);
    absl::string_view normalized = fields.size() == 3 ? absl::StripAsciiWhitespace(fields[2]) : text;
    if (normalized.empty()) normalized = text;
    if (normalized.empty()) {
      problem("empty_text", absl::StrCat("empty text for id '", id, "'"));
      continue;
    }
    auto [it, inserted] = first_line.emplace(std::string(id), line_no);
    if (!inserted) {
      problem("duplicate_id", absl::StrCat("duplicate id '", id, "' (first on line ", it->second, ")"));
      continue;
    }
    out.entries.push_back({std::string(id), std::string(text), std::string(normalized), line_no});
  }
  return out;
}

absl::StatusOr<Metadata> ReadMetadata(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::string contents, base::ReadFile(path));
  return ParseMetadata(contents, path);
}

}  // namespace lightspeech::preprocess
