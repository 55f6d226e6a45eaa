#ifndef LIGHTSPEECH_TOOLS_JSON_UTIL_H_
#define LIGHTSPEECH_TOOLS_JSON_UTIL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace lightspeech::tools {

// `s` as a JSON string literal: quotes and backslashes escaped, control characters as \u00XX,
// other bytes (UTF-8 included) as they are. Shared by the JSON reports of tools:evaluate and tools:judge.
std::string JsonString(absl::string_view s);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_JSON_UTIL_H_
