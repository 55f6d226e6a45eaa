#ifndef LIGHTSPEECH_TOOLS_ERROR_RATE_H_
#define LIGHTSPEECH_TOOLS_ERROR_RATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace lightspeech::tools {

// Text as an English ASR scores it: ASCII letters lower-cased, digits and apostrophes inside words
// kept, everything else a word break; words joined by single spaces. "The LORD's, 2 sons!" ->
// "the lord's 2 sons".
std::string NormalizeForScoring(absl::string_view text);

// Edit distance (substitutions + deletions + insertions) of `hypothesis` against `reference`, and the
// reference's length: the numerator and denominator of an error rate.
struct ErrorCount {
  int64_t errors = 0;
  int64_t reference_length = 0;
  double Rate() const { return reference_length > 0 ? double(errors) / reference_length : 0.0; }
  ErrorCount& operator+=(const ErrorCount& o) {
    errors += o.errors;
    reference_length += o.reference_length;
    return *this;
  }
};

// Word errors of NormalizeForScoring(hypothesis) against NormalizeForScoring(reference).
ErrorCount WordErrors(absl::string_view reference, absl::string_view hypothesis);
// Character errors (spaces included) of the same normalized texts.
ErrorCount CharErrors(absl::string_view reference, absl::string_view hypothesis);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_ERROR_RATE_H_
