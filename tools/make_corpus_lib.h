#ifndef LIGHTSPEECH_TOOLS_MAKE_CORPUS_LIB_H_
#define LIGHTSPEECH_TOOLS_MAKE_CORPUS_LIB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/kjv_text.h"

namespace lightspeech::tools {

// Synthesizes an LJSpeech-layout corpus with exact phone and word timings (the ground truth for
// alignment experiments, issue 5):
//   OUT/metadata.csv          "id|text|normalized text" per utterance (normalized == text: the
//                             sentence rule admits no digits or abbreviations)
//   OUT/wavs/ID.flac (.wav)   mono 16-bit PCM at 22050 Hz, as espeak-ng produced it
//   OUT/textgrids/ID.TextGrid Praat long text format, tiers "words" and "phones" covering the
//                             whole file; pauses (eSpeak '_' phones) and the gaps between words
//                             are empty intervals; times are sample index / 22050, exact
// Timings come from preprocess/espeak_synth.h (espeak-ng's phoneme events carry sample indices).
// Sentences come from `sentences_file` (one per line; blank lines and lines starting with '#'
// skipped) or, when it is empty, from the King James Bible (tools/kjv_text.h, its extraction
// rule). Either way a sentence must pass IsUsableSentence(min_words, max_words); others are
// skipped and counted. With max_utterances > 0 a seeded uniform sample of that many sentences is
// taken (Fisher-Yates driven by std::mt19937_64(seed) with draws taken modulo the range, so the
// choice is the same on every platform), kept in text order.
//
// Every file is written under a temporary name (NAME.tmp) and renamed when complete, and
// metadata.csv, written last, is removed first: a directory without metadata.csv is an
// unfinished corpus, one with it is complete.
struct MakeCorpusOptions {
  std::string out_dir;
  std::string sentences_file;  // empty: extract from kjv_path
  std::string kjv_path = kDefaultKjvPath;
  std::string voice = "en-us";
  int rate_wpm = 175;
  int max_utterances = 0;  // 0: every usable sentence
  uint64_t seed = 1;
  std::string audio_format = "flac";  // "flac" or "wav"
  int min_words = 5;
  int max_words = 25;
  // Called after each utterance with (done, total, seconds of audio so far).
  std::function<void(int, int, double)> progress;
};

struct CorpusSummary {
  int utterances = 0;
  int skipped_sentences = 0;          // failed IsUsableSentence (sentences_file only)
  int skipped_synthesis = 0;          // espeak-ng's phones could not be mapped onto the words
  double seconds = 0;                 // total audio
  std::vector<std::string> warnings;  // one line per skipped sentence
};

// Builds the corpus. Fails (and leaves no metadata.csv) when the sentences cannot be read, no
// sentence is usable, an option is invalid (unknown voice, rate outside 80..450, format), or a
// file cannot be written; the error names the file.
absl::StatusOr<CorpusSummary> MakeCorpus(const MakeCorpusOptions& options);

// The seeded sample described above: `k` distinct indices of [0, n) in increasing order (all of
// them when k <= 0 or k >= n).
std::vector<int> SampleIndices(int n, int k, uint64_t seed);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_MAKE_CORPUS_LIB_H_
