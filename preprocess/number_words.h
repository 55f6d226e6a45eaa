#ifndef LIGHTSPEECH_PREPROCESS_NUMBER_WORDS_H_
#define LIGHTSPEECH_PREPROCESS_NUMBER_WORDS_H_

#include <cstdint>
#include <string>

namespace lightspeech::preprocess {

// English words for a non-negative integer below 10^15: 1234 -> "one thousand two hundred thirty four".
// Larger values are spelled digit by digit.
std::string CardinalWords(uint64_t n);

// Ordinal words: 1 -> "first", 22 -> "twenty second", 100 -> "one hundredth".
std::string OrdinalWords(uint64_t n);

// A year read the usual way: 1885 -> "eighteen eighty five", 1900 -> "nineteen hundred",
// 2005 -> "two thousand five", 2019 -> "twenty nineteen". Only for 1000..2999; other values fall back
// to CardinalWords.
std::string YearWords(uint64_t year);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_NUMBER_WORDS_H_
