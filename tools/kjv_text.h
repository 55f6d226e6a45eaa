#ifndef LIGHTSPEECH_TOOLS_KJV_TEXT_H_
#define LIGHTSPEECH_TOOLS_KJV_TEXT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::tools {

// Real prose for generated corpora: the King James Bible as Debian's bible-kjv-text package
// ships it (/usr/lib/bible.data, public domain), and the rule that picks sentences from it.

inline constexpr char kDefaultKjvPath[] = "/usr/lib/bible.data";

// Decodes the package's "EC02" windowed-LZW data file: bytes 0-1 "EC", 2-3 version "02", 4-83 a
// NUL-padded description, then big-endian uint32 window size and window count, then count + 1
// big-endian uint32 file offsets (window k is bytes [offset k, offset k+1)). Each window is a
// headerless Unix compress(1) stream (LZW, 9- to 16-bit codes, block mode with CLEAR = 256)
// that expands to window-size bytes (the last one to fewer). Fails with DataLoss naming
// `source` on a bad header, offsets out of order or out of the file, or a corrupt window.
absl::StatusOr<std::string> DecodeKjvData(absl::string_view file, absl::string_view source);

// Decodes one headerless compress(1) LZW stream with codes of at most `max_bits` bits.
absl::StatusOr<std::string> LzwDecompress(absl::string_view data, int max_bits);

struct Verse {
  std::string ref;   // e.g. "Ge1:3", "1Sa17:45"
  std::string text;  // e.g. "And God said, Let there be light: and there was light."
};

// Reads and decodes `path` (DecodeKjvData) and splits it into its 31102 verses (the text is a
// title line, then one "REF TEXT" line per verse).
absl::StatusOr<std::vector<Verse>> ReadKjv(const std::string& path);

struct Sentence {
  std::string id;  // file-name safe, unique: "kjv_Ge1_3_1" (verse ref, then sentence number)
  std::string text;
};

// The extraction rule. A verse is cut after every '.', '?' or '!' followed by a space or the
// verse's end; a piece is a sentence when it starts the verse or follows such a cut, starts with
// an uppercase ASCII letter, ends in '.', '?' or '!', and IsUsableSentence(). Pieces that run on
// into the next verse are not sentences. Sentence k (from 1) of verse "Ge1:3" gets id
// "kjv_Ge1_3_k". On bible-kjv-text 4.38 with 5..25 words this gives 17712 sentences.
std::vector<Sentence> ExtractSentences(const std::vector<Verse>& verses, int min_words,
                                       int max_words);

// True when `text` has min_words..max_words whitespace-separated words and only ASCII letters,
// spaces and the punctuation , ; : . ? ! ' - (no digits, brackets or '|', which would need text
// normalization or break metadata.csv).
bool IsUsableSentence(absl::string_view text, int min_words, int max_words);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_KJV_TEXT_H_
