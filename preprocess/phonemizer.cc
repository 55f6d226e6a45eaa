#include "preprocess/phonemizer.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "preprocess/espeak_synth.h"
#include "preprocess/words.h"

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

std::unique_ptr<Phonemizer> Phonemizer::FromLexicon(std::map<std::string, std::vector<std::string>> lexicon) {
  std::unique_ptr<Phonemizer> p(new Phonemizer(""));
  p->lexicon_ = std::move(lexicon);
  return p;
}

absl::StatusOr<std::vector<std::vector<std::string>>> Phonemizer::PhonemizeWords(
    absl::string_view normalized_text) const {
  if (voice_.empty()) {
    std::vector<std::string> words_text, keys;  // the tokens that are words, and their keys
    for (const TextToken& t : Tokenize(normalized_text)) {
      std::string key = WordKey(t.text);
      if (key.empty()) continue;
      words_text.push_back(t.text);
      keys.push_back(std::move(key));
    }
    if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat("no words in text '", normalized_text, "'"));
    std::vector<std::vector<std::string>> words;
    std::vector<std::string> unknown;
    for (size_t i = 0; i < keys.size();) {
      size_t taken = 0;
      for (size_t n = std::min<size_t>(4, keys.size() - i); n >= 1 && taken == 0; --n) {
        const std::string joined = LexiconKey(absl::StrJoin(words_text.begin() + i, words_text.begin() + i + n, " "));
        if (auto it = lexicon_.find(joined); it != lexicon_.end()) {
          words.push_back(it->second);
          taken = n;
        }
      }
      if (taken == 0) {
        if (std::find(unknown.begin(), unknown.end(), keys[i]) == unknown.end()) unknown.push_back(keys[i]);
        taken = 1;
      }
      i += taken;
    }
    if (!unknown.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not in the lexicon of the training alignments (", lexicon_.size(), " words): '",
          absl::StrJoin(unknown, "', '"), "'"));
    }
    return words;
  }
  EspeakOptions options;
  options.voice = voice_;
  options.keep_audio = false;
  LS_ASSIGN_OR_RETURN(EspeakUtterance u, EspeakSynthesize(normalized_text, options));
  std::vector<std::vector<std::string>> words(u.words.size());
  for (EspeakPhone& p : u.phones) {
    if (p.word >= 0) words[p.word].push_back(std::move(p.symbol));
  }
  return words;
}

absl::StatusOr<std::vector<std::string>> Phonemizer::Phonemize(
    absl::string_view normalized_text) const {
  LS_ASSIGN_OR_RETURN(std::vector<std::vector<std::string>> words, PhonemizeWords(normalized_text));
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out.push_back(kWordSeparator);
    for (std::string& p : words[i]) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace lightspeech::preprocess
