#include "preprocess/number_words.h"

#include "absl/strings/str_cat.h"

namespace lightspeech::preprocess {
namespace {

constexpr const char* kOnes[] = {"zero",    "one",     "two",       "three",    "four",
                                 "five",    "six",     "seven",     "eight",    "nine",
                                 "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                 "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr const char* kTens[] = {"",      "",      "twenty",  "thirty", "forty",
                                 "fifty", "sixty", "seventy", "eighty", "ninety"};
constexpr const char* kScales[] = {"", "thousand", "million", "billion", "trillion"};

// 1..999
std::string Below1000(int n) {
  std::string out;
  if (n >= 100) {
    out = absl::StrCat(kOnes[n / 100], " hundred");
    n %= 100;
    if (n == 0) return out;
    out += " ";
  }
  if (n < 20) return out + kOnes[n];
  out += kTens[n / 10];
  if (n % 10) absl::StrAppend(&out, " ", kOnes[n % 10]);
  return out;
}

}  // namespace

std::string CardinalWords(uint64_t n) {
  if (n == 0) return "zero";
  if (n >= 1000000000000000ull) {
    std::string digits = std::to_string(n), out;
    for (char c : digits) absl::StrAppend(&out, out.empty() ? "" : " ", kOnes[c - '0']);
    return out;
  }
  std::string out;
  for (int scale = 4; scale >= 0; --scale) {
    uint64_t unit = 1;
    for (int i = 0; i < scale; ++i) unit *= 1000;
    const int chunk = static_cast<int>((n / unit) % 1000);
    if (chunk == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", Below1000(chunk));
    if (scale > 0) absl::StrAppend(&out, " ", kScales[scale]);
  }
  return out;
}

std::string OrdinalWords(uint64_t n) {
  std::string words = CardinalWords(n);
  const size_t space = words.rfind(' ');
  const std::string last = space == std::string::npos ? words : words.substr(space + 1);
  const std::string head = space == std::string::npos ? "" : words.substr(0, space + 1);
  static const struct {
    const char* cardinal;
    const char* ordinal;
  } kIrregular[] = {{"one", "first"}, {"two", "second"},  {"three", "third"}, {"five", "fifth"},
                    {"eight", "eighth"}, {"nine", "ninth"}, {"twelve", "twelfth"}};
  for (const auto& x : kIrregular) {
    if (last == x.cardinal) return head + x.ordinal;
  }
  if (!last.empty() && last.back() == 'y') return head + last.substr(0, last.size() - 1) + "ieth";
  return words + "th";
}

std::string YearWords(uint64_t year) {
  if (year < 1000 || year > 2999) return CardinalWords(year);
  if (year % 1000 < 10 || (year >= 2000 && year < 2010)) return CardinalWords(year);  // 2005, 1003
  const int hi = static_cast<int>(year / 100), lo = static_cast<int>(year % 100);
  if (lo == 0) return absl::StrCat(Below1000(hi), " hundred");
  if (lo < 10) return absl::StrCat(Below1000(hi), " oh ", kOnes[lo]);
  return absl::StrCat(Below1000(hi), " ", Below1000(lo));
}

}  // namespace lightspeech::preprocess
