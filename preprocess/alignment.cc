#include "preprocess/alignment.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "preprocess/words.h"

namespace lightspeech::preprocess {
namespace {

// Boundaries closer than this (seconds) are the same instant: text formats round times.
constexpr double kTimeEpsilon = 1e-6;

absl::Status Error(absl::string_view source, int line, absl::string_view message) {
  if (line > 0) return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", message));
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Returns the contents as UTF-8: strips a UTF-8 BOM, decodes UTF-16 with a BOM.
absl::StatusOr<std::string> ToUtf8(absl::string_view in, absl::string_view source) {
  if (absl::StartsWith(in, "\xEF\xBB\xBF")) return std::string(in.substr(3));
  const bool le = absl::StartsWith(in, "\xFF\xFE");
  const bool be = absl::StartsWith(in, "\xFE\xFF");
  if (!le && !be) return std::string(in);
  if (in.size() % 2 != 0) return Error(source, 0, "UTF-16 text with an odd number of bytes");
  std::string out;
  out.reserve(in.size() / 2);
  auto unit = [&](size_t i) -> uint32_t {
    const auto a = static_cast<unsigned char>(in[i]), b = static_cast<unsigned char>(in[i + 1]);
    return le ? (b << 8 | a) : (a << 8 | b);
  };
  for (size_t i = 2; i < in.size(); i += 2) {
    uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp < 0xDC00) {
      if (i + 4 > in.size() || unit(i + 2) < 0xDC00 || unit(i + 2) >= 0xE000) {
        return Error(source, 0, absl::StrCat("unpaired UTF-16 surrogate at byte ", i));
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
      i += 2;
    } else if (cp >= 0xDC00 && cp < 0xE000) {
      return Error(source, 0, absl::StrCat("unpaired UTF-16 surrogate at byte ", i));
    }
    AppendUtf8(cp, &out);
  }
  return out;
}

// Praat text files (long and short formats) read as a sequence of values: numbers, "strings"
// ("" inside is a quote) and <flags>. Everything else (keys such as `xmin =`, `item [1]:`,
// `! comments`) is skipped, as Praat's own reader does.
struct Token {
  enum Kind { kNumber, kString, kFlag, kEnd } kind;
  std::string text;
  int line;
};

absl::StatusOr<std::vector<Token>> TokenizePraat(absl::string_view s, absl::string_view source) {
  std::vector<Token> tokens;
  int line = 1;
  size_t i = 0;
  auto is_number_char = [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.' ||
           c == 'e' || c == 'E';
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"') {
      const int start_line = line;
      std::string text;
      ++i;
      while (true) {
        if (i >= s.size()) return Error(source, start_line, "unterminated string");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            text.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (s[i] == '\n') ++line;
        text.push_back(s[i++]);
      }
      tokens.push_back({Token::kString, std::move(text), start_line});
    } else if (c == '<') {
      const size_t end = s.find('>', i);
      if (end == absl::string_view::npos) return Error(source, line, "unterminated <flag>");
      tokens.push_back({Token::kFlag, std::string(s.substr(i + 1, end - i - 1)), line});
      i = end + 1;
    } else if (c == '[') {
      const size_t end = s.find(']', i);
      if (end == absl::string_view::npos) return Error(source, line, "unterminated [index]");
      i = end + 1;
    } else if (c == '!') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
               c == '.') {
      const size_t start = i;
      while (i < s.size() && is_number_char(s[i])) ++i;
      tokens.push_back({Token::kNumber, std::string(s.substr(start, i - start)), line});
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      while (i < s.size() && (absl::ascii_isalnum(static_cast<unsigned char>(s[i])) ||
                              s[i] == '_' || s[i] == '?' || s[i] == ':')) {
        ++i;
      }
    } else {
      ++i;  // '=', ':' and other punctuation of keys
    }
  }
  tokens.push_back({Token::kEnd, "", line});
  return tokens;
}

class TokenReader {
 public:
  TokenReader(std::vector<Token> tokens, absl::string_view source)
      : tokens_(std::move(tokens)), source_(source) {}

  int line() const { return tokens_[pos_].line; }

  absl::StatusOr<double> Number() {
    const Token& t = tokens_[pos_];
    double v;
    if (t.kind != Token::kNumber || !absl::SimpleAtod(t.text, &v) || !std::isfinite(v)) {
      return Error(source_, t.line, absl::StrCat("expected a number, found ", Describe(t)));
    }
    ++pos_;
    return v;
  }
  absl::StatusOr<std::string> String() {
    const Token& t = tokens_[pos_];
    if (t.kind != Token::kString) {
      return Error(source_, t.line, absl::StrCat("expected a string, found ", Describe(t)));
    }
    ++pos_;
    return t.text;
  }
  absl::StatusOr<std::string> Flag() {
    const Token& t = tokens_[pos_];
    if (t.kind != Token::kFlag) {
      return Error(source_, t.line, absl::StrCat("expected <exists>, found ", Describe(t)));
    }
    ++pos_;
    return t.text;
  }

 private:
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Token::kNumber:
        return absl::StrCat("'", t.text, "'");
      case Token::kString:
        return absl::StrCat("'\"", t.text, "\"'");
      case Token::kFlag:
        return absl::StrCat("'<", t.text, ">'");
      case Token::kEnd:
        return "the end of the file";
    }
    return "";
  }
  std::vector<Token> tokens_;
  absl::string_view source_;
  size_t pos_ = 0;
};

struct Tier {
  std::string name;
  bool interval = true;
  int line = 0;
  double xmin = 0, xmax = 0;
  std::vector<Interval> intervals;
};

absl::Status CheckTier(const Tier& tier, absl::string_view source) {
  double prev = tier.xmin;
  int prev_line = tier.line;
  for (size_t k = 0; k < tier.intervals.size(); ++k) {
    const Interval& iv = tier.intervals[k];
    if (std::fabs(iv.start - prev) > kTimeEpsilon) {
      return Error(
          source, iv.line,
          absl::StrFormat("interval %d of tier '%s' starts at %.9g s but %s at %.9g s", k + 1,
                          tier.name, iv.start,
                          k == 0 ? "the tier starts" : "the previous interval ends", prev));
    }
    if (iv.end < iv.start) {
      return Error(source, iv.line,
                   absl::StrFormat("interval %d of tier '%s' ends at %.9g s before it starts at "
                                   "%.9g s",
                                   k + 1, tier.name, iv.end, iv.start));
    }
    prev = iv.end;
    prev_line = iv.line;
  }
  if (std::fabs(prev - tier.xmax) > kTimeEpsilon) {
    return Error(source, prev_line,
                 absl::StrFormat("tier '%s' ends at %.9g s but its xmax is %.9g s", tier.name, prev,
                                 tier.xmax));
  }
  if (std::fabs(tier.xmin) > kTimeEpsilon) {
    return Error(source, tier.line,
                 absl::StrFormat("tier '%s' starts at %.9g s, not 0", tier.name, tier.xmin));
  }
  return absl::OkStatus();
}

bool TierNameMatches(absl::string_view name, absl::string_view wanted) {
  return name == wanted || absl::EndsWith(name, absl::StrCat(" - ", wanted));
}

std::string Canonical(std::string label) {
  if (IsSilenceLabel(label)) label.clear();
  return label;
}

}  // namespace

bool IsSilenceLabel(absl::string_view label) {
  return label.empty() || label == "sil" || label == "SIL" || label == "sp" || label == "pau" ||
         label == "<eps>" || label == "h#";
}

absl::StatusOr<Alignment> ParseTextGrid(absl::string_view contents, absl::string_view source,
                                        absl::string_view words_tier,
                                        absl::string_view phones_tier) {
  LS_ASSIGN_OR_RETURN(auto utf8, ToUtf8(contents, source));
  LS_ASSIGN_OR_RETURN(auto tokens, TokenizePraat(utf8, source));
  TokenReader r(std::move(tokens), source);
  {
    const int line = r.line();
    LS_ASSIGN_OR_RETURN(auto file_type, r.String());
    if (file_type != "ooTextFile") {
      return Error(source, line,
                   absl::StrCat("not a Praat text file (file type '", file_type, "')"));
    }
  }
  {
    const int line = r.line();
    LS_ASSIGN_OR_RETURN(auto object_class, r.String());
    if (object_class != "TextGrid") {
      return Error(source, line,
                   absl::StrCat("object class is '", object_class, "', not 'TextGrid'"));
    }
  }
  LS_ASSIGN_OR_RETURN(auto xmin, r.Number());
  LS_ASSIGN_OR_RETURN(auto xmax, r.Number());
  (void)xmin;
  const int flag_line = r.line();
  LS_ASSIGN_OR_RETURN(auto flag, r.Flag());
  std::vector<Tier> tiers;
  if (flag == "exists") {
    const int line = r.line();
    LS_ASSIGN_OR_RETURN(auto n_tiers, r.Number());
    // A count beyond the file's size is corrupt and would overflow the loop counter (tools/fuzz).
    if (n_tiers < 0 || n_tiers != std::floor(n_tiers) || n_tiers > static_cast<double>(contents.size())) {
      return Error(source, line, absl::StrCat("bad tier count ", n_tiers));
    }
    for (int t = 0; t < static_cast<int>(n_tiers); ++t) {
      Tier tier;
      tier.line = r.line();
      LS_ASSIGN_OR_RETURN(auto tier_class, r.String());
      if (tier_class != "IntervalTier" && tier_class != "TextTier") {
        return Error(source, tier.line, absl::StrCat("unknown tier class '", tier_class, "'"));
      }
      tier.interval = tier_class == "IntervalTier";
      LS_ASSIGN_OR_RETURN(auto name, r.String());
      tier.name = name;
      LS_ASSIGN_OR_RETURN(auto tmin, r.Number());
      LS_ASSIGN_OR_RETURN(auto tmax, r.Number());
      tier.xmin = tmin;
      tier.xmax = tmax;
      const int count_line = r.line();
      LS_ASSIGN_OR_RETURN(auto count, r.Number());
      // Each interval takes at least a few bytes of the file, so a count beyond its size is corrupt
      // (and would overflow the loop counter: found by tools/fuzz:fuzz_alignment).
      if (count < 0 || count != std::floor(count) || count > static_cast<double>(contents.size())) {
        return Error(source, count_line, absl::StrCat("bad interval count ", count));
      }
      for (int k = 0; k < static_cast<int>(count); ++k) {
        Interval iv;
        iv.line = r.line();
        LS_ASSIGN_OR_RETURN(auto a, r.Number());
        iv.start = a;
        if (tier.interval) {
          LS_ASSIGN_OR_RETURN(auto b, r.Number());
          iv.end = b;
        } else {
          iv.end = a;
        }
        LS_ASSIGN_OR_RETURN(auto text, r.String());
        iv.label = Canonical(std::move(text));
        tier.intervals.push_back(std::move(iv));
      }
      tiers.push_back(std::move(tier));
    }
  } else if (flag != "absent") {
    return Error(source, flag_line,
                 absl::StrCat("expected <exists> or <absent>, found <", flag, ">"));
  }

  auto find = [&](absl::string_view wanted) -> const Tier* {
    for (const Tier& t : tiers) {
      if (t.interval && TierNameMatches(t.name, wanted)) return &t;
    }
    return nullptr;
  };
  auto missing = [&](absl::string_view wanted) {
    std::vector<std::string> names;
    for (const Tier& t : tiers) names.push_back(absl::StrCat("'", t.name, "'"));
    return Error(source, 0,
                 absl::StrCat("no interval tier named '", wanted, "' (tiers: ",
                              names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
  };
  Alignment out;
  out.source = std::string(source);
  out.duration = xmax;
  const Tier* phones = find(phones_tier);
  if (phones == nullptr) return missing(phones_tier);
  LS_RETURN_IF_ERROR(CheckTier(*phones, source));
  out.phones = phones->intervals;
  if (!words_tier.empty()) {
    const Tier* words = find(words_tier);
    if (words == nullptr) return missing(words_tier);
    LS_RETURN_IF_ERROR(CheckTier(*words, source));
    out.words = words->intervals;
  }
  if (std::fabs(phones->xmax - xmax) > kTimeEpsilon) {
    return Error(source, phones->line,
                 absl::StrFormat("tier '%s' ends at %.9g s but the TextGrid ends at %.9g s",
                                 phones->name, phones->xmax, xmax));
  }
  return out;
}

absl::StatusOr<Alignment> ParseLab(absl::string_view contents, absl::string_view source) {
  LS_ASSIGN_OR_RETURN(auto utf8, ToUtf8(contents, source));
  const std::vector<absl::string_view> lines = absl::StrSplit(utf8, '\n');
  bool festival = false;
  size_t first = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (absl::StripAsciiWhitespace(lines[i]) == "#") {
      festival = true;
      first = i + 1;
      break;
    }
  }
  Alignment out;
  out.source = std::string(source);
  double prev_end = 0;
  for (size_t i = first; i < lines.size(); ++i) {
    const int line = static_cast<int>(i) + 1;
    const std::vector<absl::string_view> f =
        absl::StrSplit(lines[i], absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (f.empty()) continue;
    Interval iv;
    iv.line = line;
    if (festival) {
      double end;
      if (f.size() < 2 || !absl::SimpleAtod(f[0], &end) || !std::isfinite(end)) {
        return Error(source, line,
                     absl::StrCat("expected 'end_time colour label', found '",
                                  absl::StripAsciiWhitespace(lines[i]), "'"));
      }
      iv.start = prev_end;
      iv.end = end;
      iv.label = Canonical(f.size() >= 3 ? std::string(f[2]) : "");
      if (end < prev_end) {
        return Error(source, line,
                     absl::StrFormat("interval ends at %.9g s before it starts at "
                                     "%.9g s",
                                     end, prev_end));
      }
    } else {
      int64_t a, b;
      if (f.size() < 3 || !absl::SimpleAtoi(f[0], &a) || !absl::SimpleAtoi(f[1], &b)) {
        return Error(source, line,
                     absl::StrCat("expected 'start end label' with integer times in 100 ns "
                                  "units, found '",
                                  absl::StripAsciiWhitespace(lines[i]), "'"));
      }
      if (a < 0 || b < 0) {  // found by tools/fuzz:fuzz_alignment
        return Error(source, line, absl::StrCat("negative time in '", absl::StripAsciiWhitespace(lines[i]), "'"));
      }
      iv.start = a * 1e-7;
      iv.end = b * 1e-7;
      iv.label = Canonical(std::string(f[2]));
      if (std::fabs(iv.start - prev_end) > kTimeEpsilon) {
        return Error(
            source, line,
            absl::StrFormat("interval starts at %.9g s but %s at %.9g s", iv.start,
                            out.phones.empty() ? "the file starts" : "the previous one ends",
                            prev_end));
      }
      if (iv.end < iv.start) {
        return Error(source, line,
                     absl::StrFormat("interval ends at %.9g s before it starts at "
                                     "%.9g s",
                                     iv.end, iv.start));
      }
    }
    prev_end = iv.end;
    out.phones.push_back(std::move(iv));
  }
  if (out.phones.empty()) return Error(source, 0, "no intervals");
  out.duration = prev_end;
  return out;
}

absl::StatusOr<Alignment> ReadAlignmentFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".textgrid")) return ParseTextGrid(ss.str(), path);
  if (absl::EndsWith(lower, ".lab")) return ParseLab(ss.str(), path);
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": unknown alignment format (expected .TextGrid or .lab)"));
}

std::optional<std::pair<double, double>> SpeechSpan(const Alignment& alignment) {
  std::optional<std::pair<double, double>> span;
  for (const std::vector<Interval>* tier : {&alignment.words, &alignment.phones}) {
    for (const Interval& iv : *tier) {
      if (iv.label.empty() || IsSilenceLabel(iv.label)) continue;
      if (!span) span = std::make_pair(iv.start, iv.end);
      span->first = std::min(span->first, iv.start);
      span->second = std::max(span->second, iv.end);
    }
  }
  return span;
}

Alignment ShiftAlignment(const Alignment& alignment, double offset, double duration) {
  Alignment out;
  out.source = alignment.source;
  out.duration = std::clamp(alignment.duration - offset, 0.0, duration);
  auto shift = [&](const std::vector<Interval>& in, std::vector<Interval>* tier) {
    for (Interval iv : in) {
      iv.start = std::clamp(iv.start - offset, 0.0, duration);
      iv.end = std::clamp(iv.end - offset, 0.0, duration);
      if (iv.end > iv.start) tier->push_back(std::move(iv));
    }
  };
  shift(alignment.words, &out.words);
  shift(alignment.phones, &out.phones);
  return out;
}

absl::Status CheckWords(const Alignment& alignment, absl::string_view normalized_text) {
  if (alignment.words.empty()) return absl::OkStatus();
  std::vector<std::string> expected, expected_keys;
  for (std::string& label : WordLabels(normalized_text)) {
    std::string key = WordKey(label);
    if (key.empty()) continue;
    expected.push_back(std::move(label));
    expected_keys.push_back(std::move(key));
  }
  size_t e = 0;         // the text word being matched
  std::string partial;  // keys of the labels matched so far into expected_keys[e]
  int n = 0;            // label words seen
  bool extra = false;   // a label word beyond the text's last word
  // The label that began `partial`: a mismatch inside a joined word is reported there.
  int partial_n = 0, partial_line = 0;
  std::string partial_word;
  auto mismatch = [&](int n, absl::string_view word, int line) {
    return Error(alignment.source, line,
                 absl::StrFormat("word %d is '%s' but the text has '%s'", n, word, expected[e]));
  };
  for (const Interval& iv : alignment.words) {
    // A label may hold several words ("there be": spoken as one unit, one interval), and several
    // labels may make one text word ("GPL" as "g" "p" "l"; "servant's" as "servant" "s").
    for (absl::string_view word : absl::StrSplit(iv.label, ' ', absl::SkipEmpty())) {
      ++n;
      const std::string key = WordKey(word);
      if (key.empty()) continue;
      if (e >= expected.size()) {
        extra = true;
        continue;
      }
      const std::string joined = partial + key;
      if (joined == expected_keys[e]) {
        ++e;
        partial.clear();
      } else if (absl::StartsWith(expected_keys[e], joined)) {
        if (partial.empty()) {
          partial_n = n;
          partial_line = iv.line;
          partial_word = std::string(word);
        }
        partial = joined;
      } else {
        return partial.empty() ? mismatch(n, word, iv.line) : mismatch(partial_n, partial_word, partial_line);
      }
    }
  }
  if (!partial.empty()) return mismatch(partial_n, partial_word, partial_line);
  if (e != expected.size() || extra) {
    return Error(alignment.source, 0, absl::StrFormat("%d words but the text has %d", n, expected.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<FrameAlignment> ToFrames(const Alignment& alignment, int64_t n_frames,
                                        const FrameOptions& options) {
  if (options.sample_rate <= 0 || options.hop <= 0 || options.tolerance_frames < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("frame options: sample rate %d, hop %d and tolerance %d must be positive",
                        options.sample_rate, options.hop, options.tolerance_frames));
  }
  // Times beyond ~115 days would overflow the frame arithmetic (found by tools/fuzz:fuzz_alignment).
  constexpr double kMaxSeconds = 1e7;
  auto bad_time = [&](double t) { return !std::isfinite(t) || t < 0 || t > kMaxSeconds; };
  bool bad = bad_time(alignment.duration);
  for (const auto* tier : {&alignment.words, &alignment.phones}) {
    for (const Interval& iv : *tier) bad = bad || bad_time(iv.start) || bad_time(iv.end);
  }
  if (bad) {
    return Error(alignment.source, 0, absl::StrFormat("a time is negative, not finite or beyond %.0f s", kMaxSeconds));
  }
  const double frames_per_second = static_cast<double>(options.sample_rate) / options.hop;
  auto frame = [&](double t) { return static_cast<int64_t>(std::llround(t * frames_per_second)); };
  const int64_t end = frame(alignment.duration);
  if (std::llabs(end - n_frames) > options.tolerance_frames) {
    return Error(alignment.source, 0,
                 absl::StrFormat("alignment ends at %.9g s = frame %d but the audio has %d frames "
                                 "(tolerance %d)",
                                 alignment.duration, end, n_frames, options.tolerance_frames));
  }
  auto convert = [&](const std::vector<Interval>& in) {
    std::vector<FrameInterval> out;
    for (const Interval& iv : in) {
      out.push_back(
          {std::min(frame(iv.start), n_frames), std::min(frame(iv.end), n_frames), iv.label});
    }
    if (!out.empty()) out.back().end = n_frames;
    return out;
  };
  FrameAlignment fa;
  fa.n_frames = n_frames;
  fa.phones = convert(alignment.phones);
  fa.words = convert(alignment.words);
  return fa;
}

absl::StatusOr<std::vector<WordPhones>> AlignmentWordPhones(const Alignment& alignment,
                                                            absl::string_view word_separator) {
  if (alignment.words.empty()) {
    return Error(alignment.source, 0, "no words tier: the phones cannot be grouped into words");
  }
  std::vector<WordPhones> out;
  std::vector<int> word_line;
  size_t w = 0;  // the first word interval that may hold the next phone
  for (const Interval& p : alignment.phones) {
    if (p.label.empty()) continue;
    if (p.label == word_separator || absl::StrContains(p.label, ' ') || absl::StrContains(p.label, '\t')) {
      return Error(alignment.source, p.line, absl::StrCat("phone label '", p.label, "' cannot be a symbol"));
    }
    const double mid = 0.5 * (p.start + p.end);
    while (w < alignment.words.size() && alignment.words[w].end <= mid) ++w;
    if (w == alignment.words.size() || alignment.words[w].start > mid || alignment.words[w].label.empty()) {
      return Error(alignment.source, p.line, absl::StrCat("phone '", p.label, "' lies outside every word"));
    }
    if (word_line.empty() || word_line.back() != static_cast<int>(w)) {
      out.push_back({alignment.words[w].label, {}});
      word_line.push_back(static_cast<int>(w));
    }
    out.back().phones.push_back(p.label);
  }
  size_t k = 0;
  for (size_t i = 0; i < alignment.words.size(); ++i) {
    if (alignment.words[i].label.empty()) continue;
    if (k < word_line.size() && word_line[k] == static_cast<int>(i)) {
      ++k;
      continue;
    }
    return Error(alignment.source, alignment.words[i].line,
                 absl::StrCat("word '", alignment.words[i].label, "' has no phones"));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> SymbolDurations(const FrameAlignment& frames,
                                                     const std::vector<std::string>& symbols,
                                                     absl::string_view word_separator,
                                                     absl::string_view source) {
  std::vector<int64_t> d(symbols.size(), 0);
  size_t next = 0;      // next symbol to match
  int64_t last = -1;    // last matched symbol
  int64_t pending = 0;  // leading silence, before any symbol is matched
  int phone_no = 0;
  for (const FrameInterval& iv : frames.phones) {
    const int64_t len = iv.end - iv.start;
    if (iv.label.empty()) {
      if (next < symbols.size() && symbols[next] == word_separator && last >= 0) {
        d[next] += len;
      } else if (last >= 0) {
        d[last] += len;
      } else {
        pending += len;
      }
      continue;
    }
    ++phone_no;
    if (next < symbols.size() && symbols[next] == word_separator) ++next;
    if (next >= symbols.size()) {
      return Error(source, 0,
                   absl::StrFormat("phone %d '%s' has no symbol left (%d symbols)", phone_no,
                                   iv.label, symbols.size()));
    }
    if (symbols[next] != iv.label) {
      return Error(source, 0,
                   absl::StrFormat("phone %d is '%s' but symbol %d is '%s'", phone_no, iv.label,
                                   next + 1, symbols[next]));
    }
    d[next] += len;
    last = static_cast<int64_t>(next++);
  }
  if (next != symbols.size()) {
    return Error(source, 0,
                 absl::StrFormat("%d phones but %d symbols; symbol %d ('%s') and after "
                                 "are unmatched",
                                 phone_no, symbols.size(), next + 1, symbols[next]));
  }
  if (last < 0) return Error(source, 0, "no phones");
  d[0] += pending;
  return d;
}

std::string FormatTextGridLong(const Alignment& alignment) {
  auto num = [](double v) { return absl::StrFormat("%.17g", v); };
  auto quote = [](absl::string_view s) {
    return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
  };
  auto fill = [&](const std::vector<Interval>& in) {
    std::vector<Interval> out;
    double t = 0;
    for (const Interval& iv : in) {
      if (iv.start > t) out.push_back({t, iv.start, "", 0});
      out.push_back(iv);
      t = iv.end;
    }
    if (t < alignment.duration || out.empty()) out.push_back({t, alignment.duration, "", 0});
    return out;
  };
  std::string s = absl::StrCat(
      "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\nxmin = 0 \n",
      "xmax = ", num(alignment.duration), " \ntiers? <exists> \nsize = 2 \n", "item []: \n");
  const std::pair<const char*, const std::vector<Interval>*> tiers[] = {
      {"words", &alignment.words}, {"phones", &alignment.phones}};
  int t = 0;
  for (const auto& [name, intervals] : tiers) {
    const std::vector<Interval> full = fill(*intervals);
    absl::StrAppend(&s, "    item [", ++t, "]:\n", "        class = \"IntervalTier\" \n",
                    "        name = ", quote(name), " \n", "        xmin = 0 \n",
                    "        xmax = ", num(alignment.duration), " \n",
                    "        intervals: size = ", full.size(), " \n");
    for (size_t k = 0; k < full.size(); ++k) {
      absl::StrAppend(&s, "        intervals [", k + 1, "]:\n",
                      "            xmin = ", num(full[k].start), " \n",
                      "            xmax = ", num(full[k].end), " \n",
                      "            text = ", quote(full[k].label), " \n");
    }
  }
  return s;
}

}  // namespace lightspeech::preprocess
