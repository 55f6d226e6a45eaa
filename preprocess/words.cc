#include "preprocess/words.h"

#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"

namespace lightspeech::preprocess {
namespace {

bool IsWordChar(unsigned char c) { return c >= 0x80 || absl::ascii_isalnum(c); }

// True when `c` begins a UTF-8 code point (is not a continuation byte 10xxxxxx).
bool StartsCodePoint(unsigned char c) { return (c & 0xC0) != 0x80; }

}  // namespace

std::string WordLabel(absl::string_view token) {
  size_t b = 0, e = token.size();
  while (b < e && !IsWordChar(static_cast<unsigned char>(token[b]))) ++b;
  while (e > b && !IsWordChar(static_cast<unsigned char>(token[e - 1]))) --e;
  return absl::AsciiStrToLower(token.substr(b, e - b));
}

std::vector<TextToken> Tokenize(absl::string_view text) {
  std::vector<TextToken> tokens;
  int chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (absl::ascii_isspace(c)) {
      ++chars;
      ++i;
      continue;
    }
    TextToken t;
    t.begin_char = chars;
    const size_t start = i;
    while (i < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[i]))) {
      if (StartsCodePoint(static_cast<unsigned char>(text[i]))) ++chars;
      ++i;
    }
    t.end_char = chars;
    t.text = std::string(text.substr(start, i - start));
    t.label = WordLabel(t.text);
    tokens.push_back(std::move(t));
  }
  return tokens;
}

std::string WordKey(absl::string_view word) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(word.data(), static_cast<int32_t>(word.size())));
  u.foldCase();
  // ICU's NFKC instance, fetched once under a C++ static's guard, so that the threads that share it
  // are ordered after its creation in a way ThreadSanitizer sees (ICU's own once-initialization is
  // inside the uninstrumented library).
  static const icu::Normalizer2* const nfkc = [] {
    UErrorCode s = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(s);
    return U_SUCCESS(s) ? n : nullptr;
  }();
  if (nfkc != nullptr) {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString normalized = nfkc->normalize(u, status);
    if (U_SUCCESS(status)) u = normalized;
  }
  icu::UnicodeString kept;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    if (u_isalnum(c) || u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK) kept.append(c);
  }
  std::string out;
  kept.toUTF8String(out);
  return out;
}

std::vector<std::string> WordLabels(absl::string_view text) {
  std::vector<std::string> labels;
  for (TextToken& t : Tokenize(text)) {
    if (!t.label.empty()) labels.push_back(std::move(t.label));
  }
  return labels;
}

std::string LexiconKey(absl::string_view label) {
  std::string out;
  for (const TextToken& t : Tokenize(label)) {
    const std::string k = WordKey(t.text);
    if (!k.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", k);
  }
  return out;
}

}  // namespace lightspeech::preprocess
