#include "preprocess/cleaners.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "preprocess/number_words.h"

namespace lightspeech::preprocess {
namespace {

// Common English abbreviations (followed by a period) and their spoken forms.
constexpr std::pair<const char*, const char*> kAbbreviations[] = {
    {"mrs", "missus"}, {"mr", "mister"},   {"dr", "doctor"},     {"st", "saint"},
    {"co", "company"}, {"jr", "junior"},   {"maj", "major"},     {"gen", "general"},
    {"drs", "doctors"}, {"rev", "reverend"}, {"lt", "lieutenant"}, {"hon", "honorable"},
    {"sgt", "sergeant"}, {"capt", "captain"}, {"esq", "esquire"}, {"ltd", "limited"},
    {"col", "colonel"}, {"ft", "fort"},     {"vs", "versus"},     {"etc", "et cetera"},
    {"no", "number"},
    // Months, abbreviated with a period ("Jan. 5"). "may" and "june" need none; "mar." is the month.
    {"jan", "january"}, {"feb", "february"}, {"mar", "march"}, {"apr", "april"}, {"jun", "june"},
    {"jul", "july"}, {"aug", "august"}, {"sep", "september"}, {"sept", "september"},
    {"oct", "october"}, {"nov", "november"}, {"dec", "december"},
};

// Characters the English table keeps besides a-z (see symbols.h).
bool IsKeptPunctuation(char c) {
  switch (c) {
    case ' ': case '!': case '\'': case '(': case ')': case ',': case '-': case '.': case ':':
    case ';': case '?':
      return true;
    default:
      return false;
  }
}

std::string DigitsWords(absl::string_view digits) {
  std::string out;
  for (char c : digits) absl::StrAppend(&out, out.empty() ? "" : " ", CardinalWords(c - '0'));
  return out;
}

// Reads [0-9][0-9,]* starting at i; returns the digits without commas and advances i.
std::string ReadInteger(absl::string_view s, size_t* i) {
  std::string digits;
  while (*i < s.size()) {
    const char c = s[*i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c == ',' && !digits.empty()) {
      // "1,234": a comma followed by exactly three digits groups thousands.
      size_t k = *i + 1;
      while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
      if (k - (*i + 1) != 3) break;
    } else {
      break;
    }
    ++*i;
  }
  return digits;
}

std::string IntegerWords(const std::string& digits, bool as_year) {
  if (digits.size() > 15) return DigitsWords(digits);
  const uint64_t n = std::strtoull(digits.c_str(), nullptr, 10);
  if (digits.size() > 1 && digits[0] == '0') return DigitsWords(digits);  // "007"
  if (as_year && n >= 1000 && n <= 2999) return YearWords(n);
  return CardinalWords(n);
}

}  // namespace

std::string ExpandEnglish(absl::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  size_t i = 0;
  auto prev_is_alnum = [&]() { return !out.empty() && std::isalnum(static_cast<unsigned char>(out.back())); };
  while (i < s.size()) {
    const char c = s[i];
    // Currency: $12.50, $3, £5.
    if ((c == '$' || static_cast<unsigned char>(c) == 0xA3) && i + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      const bool dollars = c == '$';
      ++i;
      const std::string whole = ReadInteger(s, &i);
      std::string cents;
      if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) cents.push_back(s[i++]);
      }
      const uint64_t w = std::strtoull(whole.c_str(), nullptr, 10);
      const uint64_t ct = cents.empty() ? 0 : std::strtoull(cents.substr(0, 2).c_str(), nullptr, 10) *
                                                  (cents.size() == 1 ? 10 : 1);
      const char* unit = dollars ? (w == 1 ? "dollar" : "dollars") : (w == 1 ? "pound" : "pounds");
      const char* sub = dollars ? (ct == 1 ? "cent" : "cents") : "pence";
      if (prev_is_alnum()) out.push_back(' ');
      if (w > 0 || ct == 0) absl::StrAppend(&out, IntegerWords(whole, false), " ", unit);
      if (ct > 0) absl::StrAppend(&out, w > 0 ? ", " : "", CardinalWords(ct), " ", sub);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      const size_t start = i;
      std::string digits = ReadInteger(s, &i);
      const bool grouped = i - start != digits.size();  // "1,234" is a count, never a year
      if (prev_is_alnum()) out.push_back(' ');
      // Decimal: 3.14 -> three point one four.
      if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        ++i;
        std::string frac;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) frac.push_back(s[i++]);
        absl::StrAppend(&out, IntegerWords(digits, false), " point ", DigitsWords(frac));
        continue;
      }
      // Ordinal: 1st, 22nd, 3rd, 4th.
      if (i + 1 < s.size()) {
        const absl::string_view suffix = s.substr(i, 2);
        if ((suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th") &&
            (i + 2 == s.size() || !std::isalpha(static_cast<unsigned char>(s[i + 2]))) && digits.size() <= 15) {
          absl::StrAppend(&out, OrdinalWords(std::strtoull(digits.c_str(), nullptr, 10)));
          i += 2;
          continue;
        }
      }
      absl::StrAppend(&out, IntegerWords(digits, /*as_year=*/digits.size() == 4 && !grouped));
      if (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) out.push_back(' ');
      continue;
    }
    // Abbreviation: a whole word followed by '.'.
    if (std::isalpha(static_cast<unsigned char>(c)) && !prev_is_alnum()) {
      size_t k = i;
      while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
      const absl::string_view word = s.substr(i, k - i);
      if (k < s.size() && s[k] == '.') {
        bool replaced = false;
        for (const auto& [abbr, full] : kAbbreviations) {
          if (word == abbr) {
            out += full;
            i = k + 1;
            replaced = true;
            break;
          }
        }
        if (replaced) continue;
      }
      out.append(word.data(), word.size());
      i = k;
      continue;
    }
    if (c == '&') {
      absl::StrAppend(&out, prev_is_alnum() ? " and" : "and");
      ++i;
      continue;
    }
    if (c == '%') {
      absl::StrAppend(&out, " percent");
      ++i;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

namespace {

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// "ninety" -> "nineties", "hundred" -> "hundreds": the plural of a number's last word.
std::string PluralOfLastWord(std::string words) {
  if (!words.empty() && words.back() == 'y') {
    words.pop_back();
    return words + "ies";
  }
  return words + "s";
}

}  // namespace

std::string SpokenEnglishToken(absl::string_view token, absl::string_view next) {
  // Split off the punctuation around the core: leading "(\"'" and trailing ",;:!?)\"'" (a period
  // stays on the core, where it marks an abbreviation or ends a currency amount).
  size_t b = 0, e = token.size();
  while (b < e && (token[b] == '(' || token[b] == '"' || token[b] == '\'')) ++b;
  while (e > b && (token[e - 1] == ',' || token[e - 1] == ';' || token[e - 1] == ':' || token[e - 1] == '!' ||
                   token[e - 1] == '?' || token[e - 1] == ')' || token[e - 1] == '"' || token[e - 1] == '\'')) {
    --e;
  }
  const absl::string_view before = token.substr(0, b), after = token.substr(e);
  absl::string_view core = token.substr(b, e - b);
  if (core.empty()) return "";
  std::string spoken;
  std::string trailing_period;
  // Currency: ExpandEnglish reads "$" and the Latin-1 pound byte; "£" comes as UTF-8.
  const bool dollar = core[0] == '$';
  const bool pound = absl::StartsWith(core, "\xC2\xA3");
  const size_t sign = dollar ? 1 : (pound ? 2 : 0);
  if (sign > 0 && core.size() > sign && IsAsciiDigit(core[sign])) {
    absl::string_view amount = core.substr(sign);
    if (absl::EndsWith(amount, ".")) {
      amount.remove_suffix(1);
      trailing_period = ".";
    }
    for (char c : amount) {
      if (!IsAsciiDigit(c) && c != '.' && c != ',') return "";  // "$5m", "$5-$10": left as they are
    }
    spoken = ExpandEnglish(absl::StrCat(dollar ? "$" : "\xA3", amount));
  } else if (core.size() == 5 && core[4] == 's' && IsAsciiDigit(core[0]) && core[0] != '0' && IsAsciiDigit(core[1]) &&
             IsAsciiDigit(core[2]) && core[3] == '0') {
    // A decade: "1990s", "1800s".
    spoken = PluralOfLastWord(YearWords(std::strtoull(std::string(core.substr(0, 4)).c_str(), nullptr, 10)));
  } else if (core.size() >= 3 && core.back() == '.') {
    const absl::string_view word = core.substr(0, core.size() - 1);
    for (char c : word) {
      if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return "";
    }
    const std::string lower = absl::AsciiStrToLower(word);
    if (lower == "no" && (next.empty() || !IsAsciiDigit(next[0]))) return "";  // "I said no."
    for (const auto& [abbr, full] : kAbbreviations) {
      if (lower != abbr) continue;
      spoken = full;
      if (absl::ascii_isupper(static_cast<unsigned char>(word[0]))) spoken[0] = absl::ascii_toupper(spoken[0]);
      break;
    }
  }
  if (spoken.empty()) return "";
  return absl::StrCat(before, spoken, trailing_period, after);
}

struct TextCleaner::Icu {
  std::unique_ptr<icu::Transliterator> to_ascii;  // English only
  const icu::Normalizer2* nfkc = nullptr;         // Unicode only
};

TextCleaner::TextCleaner(CleanerKind kind, std::unique_ptr<Icu> icu) : kind_(kind), icu_(std::move(icu)) {}
TextCleaner::~TextCleaner() = default;

absl::StatusOr<CleanerKind> ParseCleanerKind(absl::string_view name) {
  if (name == "english") return CleanerKind::kEnglish;
  if (name == "unicode") return CleanerKind::kUnicode;
  return absl::InvalidArgumentError(absl::StrCat("unknown cleaner '", name, "' (choices: english, unicode)"));
}

absl::string_view CleanerName(CleanerKind kind) {
  return kind == CleanerKind::kEnglish ? "english" : "unicode";
}

bool IsValidUtf8(absl::string_view s) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t needed = 0;
  u_strFromUTF8(nullptr, 0, &needed, s.data(), static_cast<int32_t>(s.size()), &status);
  return status == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(status) || (s.empty() && status == U_STRING_NOT_TERMINATED_WARNING);
}

absl::StatusOr<std::unique_ptr<TextCleaner>> TextCleaner::Create(CleanerKind kind) {
  auto icu = std::make_unique<Icu>();
  UErrorCode status = U_ZERO_ERROR;
  if (kind == CleanerKind::kEnglish) {
    // ICU's transforms: any script to Latin, then Latin to ASCII (e.g. "é" -> "e", curly quotes ->
    // straight ones).
    icu->to_ascii.reset(icu::Transliterator::createInstance("Any-Latin; Latin-ASCII", UTRANS_FORWARD, status));
  } else {
    icu->nfkc = icu::Normalizer2::getNFKCInstance(status);
  }
  if (U_FAILURE(status)) {
    return absl::InternalError(absl::StrCat("ICU cannot build the ", CleanerName(kind), " cleaner: ", u_errorName(status)));
  }
  return std::unique_ptr<TextCleaner>(new TextCleaner(kind, std::move(icu)));
}

namespace {

// Collapses runs of whitespace (Unicode White_Space) to one ASCII space and trims the ends.
icu::UnicodeString CollapseWhitespace(const icu::UnicodeString& in) {
  icu::UnicodeString out;
  bool pending_space = false;
  for (int32_t i = 0; i < in.length();) {
    const UChar32 c = in.char32At(i);
    i += U16_LENGTH(c);
    if (u_isUWhiteSpace(c) || c == 0x200B) {
      pending_space = !out.isEmpty();
      continue;
    }
    if (pending_space) out.append(static_cast<UChar>(' '));
    pending_space = false;
    out.append(c);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> TextCleaner::Clean(absl::string_view text) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("invalid UTF-8");
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  std::string out;
  if (kind_ == CleanerKind::kEnglish) {
    icu_->to_ascii->transliterate(u);
    std::string ascii;
    u.toUTF8String(ascii);
    absl::AsciiStrToLower(&ascii);
    const std::string expanded = ExpandEnglish(ascii);
    // Keep only the English table's characters; other punctuation becomes a space.
    std::string kept;
    for (char c : expanded) {
      if ((c >= 'a' && c <= 'z') || IsKeptPunctuation(c)) {
        kept.push_back(c);
      } else if (c == '"' || c == '`') {
        // quotes carry no sound: dropped
      } else {
        kept.push_back(' ');
      }
    }
    icu::UnicodeString collapsed = CollapseWhitespace(icu::UnicodeString::fromUTF8(kept));
    collapsed.toUTF8String(out);
  } else {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString normalized = icu_->nfkc->normalize(u, status);
    if (U_FAILURE(status)) return absl::InvalidArgumentError(absl::StrCat("cannot normalize: ", u_errorName(status)));
    normalized.toLower(icu::Locale::getRoot());
    CollapseWhitespace(normalized).toUTF8String(out);
  }
  if (out.empty()) return absl::InvalidArgumentError("empty text after cleaning");
  return out;
}

}  // namespace lightspeech::preprocess
