#ifndef LIGHTSPEECH_PREPROCESS_SYMBOLS_H_
#define LIGHTSPEECH_PREPROCESS_SYMBOLS_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// Maps normalized text to symbol ids. Id 0 is always the padding symbol "<pad>"; every other symbol
// is one Unicode code point (as UTF-8).
class SymbolTable {
 public:
  static constexpr char kPad[] = "<pad>";

  // The fixed English character table: <pad>, space, ! ' ( ) , - . : ; ?, a-z.
  static SymbolTable English();

  // A table of every code point that occurs in `texts`, sorted by code point, after <pad>. Depends
  // only on the set of texts, so every worker that reads the same metadata derives the same table.
  static SymbolTable FromTexts(const std::vector<std::string>& texts);

  // A table from an explicit list (e.g. a manifest's). InvalidArgument if symbols repeat or the
  // first is not <pad>.
  static absl::StatusOr<SymbolTable> FromList(std::vector<std::string> symbols);

  // Ids of the code points of `text`. Code points outside the table are skipped and appended to
  // `*unknown` (if non-null), each once.
  std::vector<int> Encode(absl::string_view text, std::vector<std::string>* unknown) const;

  // The id of one symbol (any string in the table, e.g. a phone), or -1 when it is not in the table.
  int Find(absl::string_view symbol) const;

  const std::vector<std::string>& symbols() const { return symbols_; }
  int size() const { return static_cast<int>(symbols_.size()); }
  static constexpr int pad_id() { return 0; }

 private:
  explicit SymbolTable(std::vector<std::string> symbols);
  std::vector<std::string> symbols_;
  std::unordered_map<std::string, int> index_;
};

// Splits UTF-8 text into code points (each as its UTF-8 bytes). Assumes valid UTF-8.
std::vector<std::string> SplitCodePoints(absl::string_view text);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_SYMBOLS_H_
