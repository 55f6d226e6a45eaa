#include "preprocess/phonemizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "preprocess/espeak_synth.h"

namespace lightspeech::preprocess {

absl::StatusOr<std::unique_ptr<Phonemizer>> Phonemizer::Create(absl::string_view spec) {
  constexpr absl::string_view kScheme = "espeak:";
  if (!absl::StartsWith(spec, kScheme) || spec.size() == kScheme.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("phonemizer: expected 'espeak:VOICE', got '", spec, "'"));
  }
  std::string voice(spec.substr(kScheme.size()));
  // Check the voice now, so a bad flag fails before any data is read.
  EspeakOptions options;
  options.voice = voice;
  options.keep_audio = false;
  if (absl::StatusOr<EspeakUtterance> u = EspeakSynthesize("test", options); !u.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("phonemizer '", spec, "': ", u.status().message()));
  }
  return std::unique_ptr<Phonemizer>(new Phonemizer(std::move(voice)));
}

absl::StatusOr<std::vector<std::vector<std::string>>> Phonemizer::PhonemizeWords(
    absl::string_view normalized_text) const {
  EspeakOptions options;
  options.voice = voice_;
  options.keep_audio = false;
  absl::StatusOr<EspeakUtterance> u = EspeakSynthesize(normalized_text, options);
  if (!u.ok()) return u.status();
  std::vector<std::vector<std::string>> words(u->words.size());
  for (EspeakPhone& p : u->phones) {
    if (p.word >= 0) words[p.word].push_back(std::move(p.symbol));
  }
  return words;
}

absl::StatusOr<std::vector<std::string>> Phonemizer::Phonemize(
    absl::string_view normalized_text) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> words = PhonemizeWords(normalized_text);
  if (!words.ok()) return words.status();
  std::vector<std::string> out;
  for (size_t i = 0; i < words->size(); ++i) {
    if (i > 0) out.push_back(kWordSeparator);
    for (std::string& p : (*words)[i]) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace lightspeech::preprocess
