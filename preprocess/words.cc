#include "preprocess/words.h"

#include <cstddef>

#include "absl/strings/ascii.h"

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

std::vector<std::string> WordLabels(absl::string_view text) {
  std::vector<std::string> labels;
  for (TextToken& t : Tokenize(text)) {
    if (!t.label.empty()) labels.push_back(std::move(t.label));
  }
  return labels;
}

}  // namespace lightspeech::preprocess
