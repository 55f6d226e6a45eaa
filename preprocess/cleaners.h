#ifndef LIGHTSPEECH_PREPROCESS_CLEANERS_H_
#define LIGHTSPEECH_PREPROCESS_CLEANERS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"


namespace lightspeech::preprocess {

enum class CleanerKind {
  // ASCII transliteration, lowercase, abbreviations, currency, numbers, ordinals and years spelled out
  // in words, characters outside the English table dropped, whitespace collapsed.
  kEnglish,
  // Any language: NFKC normalization, Unicode lowercasing, whitespace collapsed. The symbol table is
  // derived from the whole corpus (symbols.h).
  kUnicode,
};

// "english" or "unicode"; anything else is InvalidArgument listing the choices.
absl::StatusOr<CleanerKind> ParseCleanerKind(absl::string_view name);
absl::string_view CleanerName(CleanerKind kind);

// True when `s` is well-formed UTF-8 (checked with ICU).
bool IsValidUtf8(absl::string_view s);

// Turns raw transcripts into normalized text. Not thread-safe: make one per thread (creation builds
// ICU transliterators, about a millisecond).
class TextCleaner {
 public:
  // Fails (Internal) if ICU cannot build the transforms.
  static absl::StatusOr<std::unique_ptr<TextCleaner>> Create(CleanerKind kind);
  ~TextCleaner();

  // Cleans one transcript. InvalidArgument "invalid UTF-8" for malformed input and "empty text after
  // cleaning" when nothing is left.
  absl::StatusOr<std::string> Clean(absl::string_view text) const;

  CleanerKind kind() const { return kind_; }

 private:
  struct Icu;
  TextCleaner(CleanerKind kind, std::unique_ptr<Icu> icu);
  CleanerKind kind_;
  std::unique_ptr<Icu> icu_;
};

// The English-specific rewriting on ASCII lowercase text (exposed for tests): abbreviations, currency,
// numbers, ordinals, years.
std::string ExpandEnglish(absl::string_view ascii_lower);

// What an English voice of espeak-ng should read for one whitespace-separated token of text as
// written (case and punctuation kept), or "" when espeak-ng reads the token right as it is. Covers
// what espeak-ng reads wrongly: currency ("$5.50" -> "five dollars, fifty cents", "£3" -> "three
// pounds"; espeak-ng says "dollar five"), abbreviations of the english cleaner with their period
// ("Jan." -> "January", "Capt." -> "Captain"; espeak-ng ends a sentence at the period), keeping an
// initial capital, "No." only before a number, and decades ("1990s" -> "nineteen nineties").
// Punctuation around the token is kept ("($5)," -> "(five dollars),"). `next` is the following token
// ("" at the end). Ordinals, plain numbers and percentages espeak-ng reads right itself.
std::string SpokenEnglishToken(absl::string_view token, absl::string_view next);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_CLEANERS_H_
