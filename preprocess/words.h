#ifndef LIGHTSPEECH_PREPROCESS_WORDS_H_
#define LIGHTSPEECH_PREPROCESS_WORDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// The one rule that turns normalized text into the word labels an alignment's `words` tier must
// carry, shared by make_corpus (which writes the tier) and the alignment checks (which read it):
// split on ASCII whitespace; lowercase ASCII letters; strip leading and trailing characters that
// are neither ASCII letters/digits nor non-ASCII bytes (so "LORD's," -> "lord's", "burnt-offering"
// stays one word, "--" becomes empty). Tokens whose label is empty are not words.
struct TextToken {
  std::string text;   // the token as it appears in the text
  std::string label;  // its word label (may be empty: punctuation only)
  int begin_char;     // position of its first character, in Unicode code points from 0
  int end_char;       // one past its last character, in code points
};

// Splits UTF-8 text into whitespace-separated tokens with their code point ranges. Never fails;
// malformed UTF-8 bytes count as one code point each.
std::vector<TextToken> Tokenize(absl::string_view text);

// The word label of one token (see above); empty when the token is punctuation only.
std::string WordLabel(absl::string_view token);

// The non-empty word labels of `text`, in order.
std::vector<std::string> WordLabels(absl::string_view text);

// The key under which a reference alignment's word label and a text word are compared: Unicode
// case folding and NFKC normalization (ICU), keeping only letters, digits and combining marks, so
// that "Когда" matches "когда", "вол+ос" (a stress mark) matches "волос" and "servant's" matches
// "servants". Empty for punctuation. Never fails; invalid UTF-8 becomes U+FFFD, which is dropped.
std::string WordKey(absl::string_view word);

// The key of a lexicon entry (records::LexiconEntry.word) for a label of one or more
// whitespace-separated words: their WordKeys, empty ones left out, joined by single spaces ("there
// be"). //preprocess --phonemizer=alignment writes the lexicon with it and Phonemizer::FromLexicon
// looks words up with it.
std::string LexiconKey(absl::string_view label);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_WORDS_H_
