#ifndef LIGHTSPEECH_PREPROCESS_ESPEAK_SYNTH_H_
#define LIGHTSPEECH_PREPROCESS_ESPEAK_SYNTH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::preprocess {

// Speech and exact phone/word timings from libespeak-ng, the ground truth of generated corpora
// (tools:make_corpus) and the phone inventory of the `espeak:VOICE` phonemizer.
//
// How the timings are obtained: espeak-ng runs in synchronous mode with phoneme events enabled.
// Each espeakEVENT_PHONEME carries the phoneme's eSpeak mnemonic (e.g. "D", "@2", "eI", "_:") and,
// in `sample`, the absolute index of the sample at which that phoneme starts (`audio_position` is
// the same instant rounded to milliseconds; we use the sample index, which is exact). A phone
// lasts from its start sample to the next phone's start sample (the last one to the end of the
// audio), so phones tile [0, n_samples) exactly. Phones whose mnemonic starts with '_' are pauses
// (silence). Each phone event also carries the text position of the word it came from; a word's
// interval runs from its first phone's start to its last phone's end, so word boundaries coincide
// with phone boundaries. espeak-ng reads some word sequences as one unit (dictionary entries such
// as "there be": all their phones carry the first word's position); such a group is one word
// whose label joins the words' labels with a space ("there be"), since no boundary inside it
// exists in the audio. (espeakEVENT_WORD is not used: espeak-ng sometimes emits it at the start
// of a phone that belongs to the previous word, e.g. the ';' closing "the" before a vowel.)
// Zero-length phones (two events at one sample) are dropped.
//
// Reproducibility: espeak-ng carries some synthesis state from one utterance to the next, so the
// same text synthesized after different predecessors may differ by a few samples (same phones);
// the same sequence of calls in a fresh process gives bit-identical audio.
//
// espeak-ng is a process-wide, non-re-entrant library: every call here holds one global mutex.
// Its data come from ESPEAK_DATA_PATH when set, else from the library's compiled-in default
// (Debian: /usr/lib/x86_64-linux-gnu/espeak-ng-data, package espeak-ng-data).

// The sample rate espeak-ng synthesizes at; the project's contract rate (22050 Hz).
inline constexpr int kEspeakSampleRate = 22050;

struct EspeakOptions {
  std::string voice = "en-us";  // an espeak-ng voice name, e.g. "en-us", "en-gb", "de"
  int rate_wpm = 175;           // speaking rate, words per minute, 80..450
  bool keep_audio = true;       // false: timings only (samples left empty)
};

struct EspeakPhone {
  std::string symbol;  // eSpeak mnemonic; a pause when it starts with '_'
  int64_t start_sample = 0;
  int64_t end_sample = 0;
  int word = -1;  // index into EspeakUtterance::words; -1 for pauses
};

struct EspeakWord {
  // preprocess/words.h WordLabel() of the text token; of several, space-separated, when espeak-ng
  // spoke them as one unit (see above).
  std::string label;
  int64_t start_sample = 0;
  int64_t end_sample = 0;
};

struct EspeakUtterance {
  int sample_rate = kEspeakSampleRate;
  int64_t num_samples = 0;
  std::vector<int16_t> samples;     // mono, num_samples long unless keep_audio was false
  std::vector<EspeakPhone> phones;  // contiguous, covering [0, num_samples)
  std::vector<EspeakWord> words;    // the text's words (preprocess/words.h) in order, grouped
};

// True for eSpeak pause mnemonics ("_", "_:", "_!", ...).
bool IsEspeakPause(absl::string_view symbol);

// Synthesizes `text` (UTF-8, plain text, no SSML). With an English voice ("en*"), espeak-ng reads
// every token as preprocess::SpokenEnglishToken spells it out ("$5" as "five dollars", "Jan." as
// "January"); the phones of such a token belong to the token's own word, so `words` are still the
// text's words. Fails with InvalidArgument for an unknown voice
// or a rate outside 80..450, for text with no words, and when the phone events cannot be mapped
// onto the text's words (a non-pause phone outside every word, words out of order): such text is
// not usable as ground truth. Fails with Internal when espeak-ng cannot be initialized or
// synthesizes at a rate other than kEspeakSampleRate. Thread-safe.
absl::StatusOr<EspeakUtterance> EspeakSynthesize(absl::string_view text,
                                                 const EspeakOptions& options);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_ESPEAK_SYNTH_H_
