// Synthesizes an LJSpeech-layout corpus with exact phone and word timings (Praat TextGrids) using
// libespeak-ng. See tools/make_corpus_lib.h for the layout and the rules.
//
//   # 100 sentences from Debian's bible-kjv-text:
//   bazel run //tools:make_corpus -- --out=/tmp/corpus --rate=175 --max_utterances=100 --seed=1
//   # sentences of your own, one per line:
//   bazel run //tools:make_corpus -- --out=/tmp/corpus --sentences=/path/sentences.txt

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/make_corpus_lib.h"

ABSL_FLAG(std::string, out, "", "Output directory (created; metadata.csv there is replaced).");
ABSL_FLAG(std::string, sentences, "",
          "Text file, one sentence per line. Empty: sentences extracted from --kjv.");
ABSL_FLAG(std::string, kjv, lightspeech::tools::kDefaultKjvPath,
          "Debian bible-kjv-text data file, used when --sentences is empty.");
ABSL_FLAG(std::string, voice, "en-us", "espeak-ng voice.");
ABSL_FLAG(int, rate, 175, "Speaking rate in words per minute (80..450).");
ABSL_FLAG(int, max_utterances, 0, "Seeded sample of this many sentences; 0 = all.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the sentence sample.");
ABSL_FLAG(std::string, format, "flac", "Audio format: flac or wav.");
ABSL_FLAG(int, min_words, 5, "Fewest words per sentence.");
ABSL_FLAG(int, max_words, 25, "Most words per sentence.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Synthesizes an LJSpeech-layout corpus (metadata.csv, wavs/, textgrids/) with exact phone "
      "and word timings from libespeak-ng.\nUsage: make_corpus --out=DIR [--sentences=FILE] "
      "[--voice=en-us] [--rate=WPM] [--max_utterances=N --seed=S] [--format=flac|wav]");
  absl::ParseCommandLine(argc, argv);
  lightspeech::tools::MakeCorpusOptions o;
  o.out_dir = absl::GetFlag(FLAGS_out);
  o.sentences_file = absl::GetFlag(FLAGS_sentences);
  o.kjv_path = absl::GetFlag(FLAGS_kjv);
  o.voice = absl::GetFlag(FLAGS_voice);
  o.rate_wpm = absl::GetFlag(FLAGS_rate);
  o.max_utterances = absl::GetFlag(FLAGS_max_utterances);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.audio_format = absl::GetFlag(FLAGS_format);
  o.min_words = absl::GetFlag(FLAGS_min_words);
  o.max_words = absl::GetFlag(FLAGS_max_words);
  // On a terminal one line is rewritten in place; in a log, a line every 10% keeps it readable.
  const bool tty = ::isatty(::fileno(stderr)) != 0;
  o.progress = [tty](int done, int total, double seconds) {
    const int every = tty ? 10 : std::max(1, total / 10);
    if (done == total || done % every == 0) {
      std::fprintf(stderr, tty ? "\rmake_corpus: %d/%d sentences, %.1f s of audio" : "make_corpus: %d/%d sentences, %.1f s of audio\n",
                   done, total, seconds);
      if (tty && done == total) std::fputc('\n', stderr);
      std::fflush(stderr);
    }
  };
  const absl::StatusOr<lightspeech::tools::CorpusSummary> s = lightspeech::tools::MakeCorpus(o);
  if (!s.ok()) {
    std::fprintf(stderr, "\nmake_corpus: %s\n", std::string(s.status().message()).c_str());
    return 1;
  }
  for (const std::string& w : s->warnings) std::fprintf(stderr, "make_corpus: %s\n", w.c_str());
  std::fprintf(stderr,
               "make_corpus: wrote %d utterances (%.1f s of audio) to %s; skipped %d unusable "
               "sentences and %d that espeak-ng could not align to words\n",
               s->utterances, s->seconds, o.out_dir.c_str(), s->skipped_sentences,
               s->skipped_synthesis);
  return 0;
}
