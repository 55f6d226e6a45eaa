#include "tools/error_rate.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace lightspeech::tools {
namespace {

// Levenshtein distance with unit costs, one row at a time (no library in Debian's -dev set offers
// it for arbitrary token sequences).
template <typename T>
int64_t EditDistance(const std::vector<T>& ref, const std::vector<T>& hyp) {
  std::vector<int64_t> row(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    int64_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      const int64_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[hyp.size()];
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(NormalizeForScoring(text), ' ', absl::SkipEmpty());
}

}  // namespace

std::string NormalizeForScoring(absl::string_view text) {
  std::string spaced;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool inner_apostrophe = c == '\'' && i > 0 && i + 1 < text.size() &&
                                  absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1])) &&
                                  absl::ascii_isalnum(static_cast<unsigned char>(text[i + 1]));
    spaced.push_back(absl::ascii_isalnum(c) || inner_apostrophe ? absl::ascii_tolower(c) : ' ');
  }
  return absl::StrJoin(std::vector<std::string>(absl::StrSplit(spaced, ' ', absl::SkipEmpty())), " ");
}

ErrorCount WordErrors(absl::string_view reference, absl::string_view hypothesis) {
  const std::vector<std::string> ref = Words(reference), hyp = Words(hypothesis);
  return {EditDistance(ref, hyp), static_cast<int64_t>(ref.size())};
}

ErrorCount CharErrors(absl::string_view reference, absl::string_view hypothesis) {
  const std::string r = NormalizeForScoring(reference), h = NormalizeForScoring(hypothesis);
  return {EditDistance(std::vector<char>(r.begin(), r.end()), std::vector<char>(h.begin(), h.end())),
          static_cast<int64_t>(r.size())};
}

}  // namespace lightspeech::tools
