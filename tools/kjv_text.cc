#include "tools/kjv_text.h"

#include <cstdint>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace lightspeech::tools {
namespace {

uint32_t BigEndian32(absl::string_view s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

constexpr int kInitialBits = 9;
constexpr int kClear = 256;
constexpr int kFirstFree = 257;

// compress(1)'s code reader: codes are packed little-endian-first into groups of `bits` bytes
// (8 codes); when the code width grows or a CLEAR arrives, the rest of the group is skipped.
class CodeReader {
 public:
  CodeReader(absl::string_view data, int max_bits) : data_(data), max_bits_(max_bits) {}

  // Next code, or -1 at the end of the data. `free_entry` is the decoder's next table slot.
  int Next(int free_entry) {
    if (clear_ || offset_ >= size_ || free_entry > max_code_) {
      if (free_entry > max_code_) {
        ++bits_;
        max_code_ = bits_ == max_bits_ ? (1 << max_bits_) : (1 << bits_) - 1;
      }
      if (clear_) {
        bits_ = kInitialBits;
        max_code_ = (1 << bits_) - 1;
        clear_ = false;
      }
      const size_t n = std::min<size_t>(bits_, data_.size() - pos_);
      if (n == 0) return -1;
      group_ = data_.substr(pos_, n);
      pos_ += n;
      offset_ = 0;
      size_ = static_cast<int>(n) * 8 - (bits_ - 1);
    }
    int code = 0;
    for (int b = 0; b < bits_; ++b) {
      const int bit = offset_ + b;
      if (bit / 8 < static_cast<int>(group_.size()) &&
          (static_cast<unsigned char>(group_[bit / 8]) >> (bit % 8) & 1)) {
        code |= 1 << b;
      }
    }
    offset_ += bits_;
    return code;
  }
  void Clear() { clear_ = true; }

 private:
  absl::string_view data_;
  int max_bits_;
  size_t pos_ = 0;
  absl::string_view group_;
  int bits_ = kInitialBits;
  int max_code_ = (1 << kInitialBits) - 1;
  int offset_ = 0, size_ = 0;
  bool clear_ = false;
};

}  // namespace

absl::StatusOr<std::string> LzwDecompress(absl::string_view data, int max_bits) {
  if (max_bits < kInitialBits || max_bits > 16) {
    return absl::InvalidArgumentError(absl::StrCat("LZW: max_bits ", max_bits, " not in 9..16"));
  }
  const int table_size = 1 << max_bits;
  std::vector<uint16_t> prefix(table_size, 0);
  std::vector<unsigned char> suffix(table_size, 0);
  for (int c = 0; c < 256; ++c) suffix[c] = static_cast<unsigned char>(c);
  int free_entry = kFirstFree;
  CodeReader reader(data, max_bits);
  std::string out;
  int old_code = reader.Next(free_entry);
  if (old_code < 0) return out;
  if (old_code > 255) return absl::DataLossError("LZW: first code is not a literal");
  int fin = old_code;
  out.push_back(static_cast<char>(fin));
  std::string stack;
  while (true) {
    int code = reader.Next(free_entry);
    if (code < 0) break;
    if (code == kClear) {
      reader.Clear();
      free_entry = kFirstFree - 1;
      code = reader.Next(free_entry);
      if (code < 0) break;
    }
    const int in_code = code;
    stack.clear();
    if (code >= free_entry) {  // the KwKwK case
      if (code > free_entry) {
        return absl::DataLossError(
            absl::StrFormat("LZW: code %d beyond the table (%d entries) "
                            "at output byte %d",
                            code, free_entry, out.size()));
      }
      stack.push_back(static_cast<char>(fin));
      code = old_code;
    }
    while (code >= 256) {
      stack.push_back(static_cast<char>(suffix[code]));
      code = prefix[code];
    }
    fin = suffix[code];
    stack.push_back(static_cast<char>(fin));
    out.append(stack.rbegin(), stack.rend());
    if (free_entry < table_size) {
      prefix[free_entry] = static_cast<uint16_t>(old_code);
      suffix[free_entry] = static_cast<unsigned char>(fin);
      ++free_entry;
    }
    old_code = in_code;
  }
  return out;
}

absl::StatusOr<std::string> DecodeKjvData(absl::string_view file, absl::string_view source) {
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(source, ": not a bible-kjv data file: ", why));
  };
  if (file.size() < 92) return bad("shorter than its 92-byte header");
  if (file.substr(0, 4) != "EC02") {
    return bad(absl::StrCat("magic is '", absl::CHexEscape(file.substr(0, 4)), "', not 'EC02'"));
  }
  const uint32_t window_size = BigEndian32(file, 84);
  const uint32_t windows = BigEndian32(file, 88);
  if (window_size == 0 || windows == 0 || windows > (file.size() - 92) / 4 - 1) {
    return bad(absl::StrFormat("%d windows of %d bytes do not fit in %d bytes", windows,
                               window_size, file.size()));
  }
  std::vector<uint32_t> offsets(windows + 1);
  for (uint32_t k = 0; k <= windows; ++k) offsets[k] = BigEndian32(file, 92 + 4 * k);
  std::string text;
  for (uint32_t k = 0; k < windows; ++k) {
    if (offsets[k] > offsets[k + 1] || offsets[k + 1] > file.size()) {
      return bad(absl::StrFormat("window %d spans bytes [%d, %d) of %d", k, offsets[k],
                                 offsets[k + 1], file.size()));
    }
    absl::StatusOr<std::string> w =
        LzwDecompress(file.substr(offsets[k], offsets[k + 1] - offsets[k]), 16);
    if (!w.ok()) return bad(absl::StrCat("window ", k, ": ", w.status().message()));
    if (w->size() != window_size && (k + 1 < windows || w->size() > window_size)) {
      return bad(
          absl::StrFormat("window %d expands to %d bytes, not %d", k, w->size(), window_size));
    }
    text += *w;
  }
  return text;
}

absl::StatusOr<std::vector<Verse>> ReadKjv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (install Debian's bible-kjv-text: tools/setup.sh)"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  LS_ASSIGN_OR_RETURN(std::string text, DecodeKjvData(ss.str(), path));
  std::vector<Verse> verses;
  bool title = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (title) {  // "Holy Bible, Authorized (King James) Version.  Textfile 930105."
      title = false;
      continue;
    }
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.find(':') > space) {
      return absl::DataLossError(
          absl::StrCat(path, ": verse line without a reference: '", line.substr(0, 40), "'"));
    }
    verses.push_back({std::string(line.substr(0, space)), std::string(line.substr(space + 1))});
  }
  return verses;
}

bool IsUsableSentence(absl::string_view text, int min_words, int max_words) {
  for (char c : text) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c)) &&
        absl::string_view(" ,;:.?!'-").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  const std::vector<absl::string_view> words = absl::StrSplit(text, ' ', absl::SkipEmpty());
  return static_cast<int>(words.size()) >= min_words && static_cast<int>(words.size()) <= max_words;
}

std::vector<Sentence> ExtractSentences(const std::vector<Verse>& verses, int min_words,
                                       int max_words) {
  std::vector<Sentence> out;
  for (const Verse& v : verses) {
    const absl::string_view t = v.text;
    const std::string id_base = absl::StrCat("kjv_", absl::StrReplaceAll(v.ref, {{":", "_"}}));
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      const char c = t[i];
      if ((c != '.' && c != '?' && c != '!') || (i + 1 < t.size() && t[i + 1] != ' ')) continue;
      const absl::string_view piece = absl::StripAsciiWhitespace(t.substr(start, i + 1 - start));
      start = i + 1;
      if (piece.empty() || !absl::ascii_isupper(static_cast<unsigned char>(piece[0]))) continue;
      if (!IsUsableSentence(piece, min_words, max_words)) continue;
      out.push_back({absl::StrCat(id_base, "_", ++k), std::string(piece)});
    }
  }
  return out;
}

}  // namespace lightspeech::tools
