#ifndef LIGHTSPEECH_PREPROCESS_PHONEMIZER_H_
#define LIGHTSPEECH_PREPROCESS_PHONEMIZER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// The symbol placed between the phones of consecutive words. No eSpeak mnemonic contains it.
inline constexpr char kWordSeparator[] = "|";

// Normalized text -> phone symbols with word boundaries kept.
//
// `espeak:VOICE` (e.g. "espeak:en-us") runs the same libespeak-ng synthesis as tools:make_corpus
// (preprocess/espeak_synth.h, audio discarded) and returns its phone events, so the inventory and
// the grouping into words are exactly those of make_corpus's TextGrid `phones` tier: for a given
// text, Phonemize() equals that tier's non-empty labels with kWordSeparator between words.
// Pauses (eSpeak '_' phones, the tier's empty intervals) are not symbols. The speaking rate does
// not change the phones (checked in phonemizer_test), so the default 175 wpm is used.
// espeak_TextToPhonemes() is not used: it merges unstressed words ("In the" -> "InD@2") and adds
// stress marks, so its word boundaries and symbols differ from the synthesized phones.
// Thread-safe (calls are serialized by espeak_synth's global mutex).
class Phonemizer {
 public:
  // `spec` is "espeak:VOICE". Fails with InvalidArgument for another scheme or an unknown voice.
  static absl::StatusOr<std::unique_ptr<Phonemizer>> Create(absl::string_view spec);

  // A phonemizer that spells each word of a text with `lexicon` (key: preprocess/words.h WordKey of
  // a word, or the keys of words spoken as one unit joined by single spaces, e.g. "there be"), as
  // //preprocess --phonemizer=alignment stores with the symbols. The longest run of up to 4 words
  // with an entry is taken first. Tokens with an empty key (punctuation) are skipped. A word with no
  // entry fails with InvalidArgument naming every such word of the text; there is no fallback.
  static std::unique_ptr<Phonemizer> FromLexicon(std::map<std::string, std::vector<std::string>> lexicon);

  // Phones of `normalized_text` with kWordSeparator between words (none before the first or after
  // the last). Fails with InvalidArgument when espeak-ng's phones cannot be mapped onto the
  // text's words (see EspeakSynthesize), naming the text.
  absl::StatusOr<std::vector<std::string>> Phonemize(absl::string_view normalized_text) const;

  // The same phones grouped per word (one entry per preprocess/words.h word label).
  absl::StatusOr<std::vector<std::vector<std::string>>> PhonemizeWords(
      absl::string_view normalized_text) const;

  const std::string& voice() const { return voice_; }

 private:
  explicit Phonemizer(std::string voice) : voice_(std::move(voice)) {}
  std::string voice_;                                       // empty for a lexicon
  std::map<std::string, std::vector<std::string>> lexicon_;  // FromLexicon
};

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_PHONEMIZER_H_
