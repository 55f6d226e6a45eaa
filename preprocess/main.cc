// bazel run //preprocess -- --dataset=DIR --out=DIR [--cleaner=english|unicode] [--threads=N] ...
// Thin binary over preprocess/pipeline.h.
#include <sys/stat.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "preprocess/pipeline.h"

ABSL_FLAG(std::string, dataset, "", "LJSpeech-layout corpus folder (metadata.csv + wavs/). Default: the "
          "embedded corpus, testdata/corpus_en in the workspace.");
ABSL_FLAG(std::string, out, "", "Output folder for shards and manifest.pbtxt. Default: data/corpus_en in "
          "the workspace (what //train reads by default).");
ABSL_FLAG(std::string, cleaner, "english", "Text cleaner: english (fixed character table) or unicode "
          "(ICU normalization; table derived from the whole metadata file).");
ABSL_FLAG(int, num_shards, 0, "Training shards (0: one per ~500 utterances, at least --threads).");
ABSL_FLAG(double, val_fraction, 0.05, "Fraction of utterances (by id hash) in the validation split.");
ABSL_FLAG(int, threads, 2, "Worker threads on this machine.");
ABSL_FLAG(int, worker_index, 0, "This worker's index when several machines split the corpus.");
ABSL_FLAG(int, num_workers, 1, "Number of workers (machines); each writes its own shards.");
ABSL_FLAG(bool, merge_manifests, false, "Only merge the workers' shard stats into manifest.pbtxt.");
ABSL_FLAG(double, max_seconds, 20.0, "Skip clips longer than this.");
ABSL_FLAG(bool, strict, false, "Exit non-zero if any utterance is skipped.");
ABSL_FLAG(bool, progress, true, "Show a progress line on a terminal.");
ABSL_FLAG(std::string, alignments, "", "Folder of reference alignments, DIR/ID.TextGrid (Praat long or short "
          "text format, tiers 'words' and 'phones') or DIR/ID.lab (HTK or festival). Stored in each record as "
          "phone and word intervals in frames (plus per-symbol durations with --phonemizer). An utterance "
          "whose alignment is missing (missing_alignment), unreadable, longer or shorter than its audio by "
          "more than --alignment_tolerance_frames, or whose words or phones differ from its text "
          "(bad_alignment) is reported with the file and the problem and skipped, never repaired.");
ABSL_FLAG(int, alignment_tolerance_frames, 2, "Allowed difference between an alignment's end and the "
          "audio's frame count; the last boundary is then moved to the audio's end.");
ABSL_FLAG(std::string, phonemizer, "", "espeak:VOICE (e.g. espeak:en-us): symbols are espeak-ng phones of "
          "the cleaned text with '|' between words (the inventory of tools:make_corpus TextGrids); the table "
          "is <pad>, '|', then every phone of the whole metadata. Empty: the cleaner's characters.");
ABSL_FLAG(int, sample_rate, 22050, "Feature sample rate (audio is resampled to it).");
ABSL_FLAG(int, n_mels, 80, "Mel bins.");
ABSL_FLAG(double, fmin, 0.0, "Lowest mel frequency (Hz).");
ABSL_FLAG(double, fmax, 8000.0, "Highest mel frequency (Hz).");
ABSL_FLAG(double, trim_silence_db, 0.0,
          "Cut leading and trailing silence: audio more than this many dB below the clip's loudest frame "
          "(frame RMS, the log-mel's framing), before the log-mel; recorded in the manifest. With --alignments "
          "the cut never reaches into the first or last labelled speech, and the reference is shifted to match. "
          "40 suits read speech recorded in a quiet room (festvox-ru: about 0.4 s cut per clip); 0: off.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Preprocesses an LJSpeech-style corpus into sharded Utterance records + manifest.pbtxt.\n"
      "Usage: preprocess [--dataset=DIR] [--out=DIR] [flags]. Re-running resumes (completed shards are\n"
      "kept); bad lines and clips are reported one per line and skipped.");
  absl::ParseCommandLine(argc, argv);
  lightspeech::preprocess::KeepLargeBuffersInHeap();
  using lightspeech::base::ResolveUserPath;
  const std::string ws = lightspeech::base::WorkspaceDir();
  lightspeech::preprocess::PipelineOptions o;
  o.dataset = absl::GetFlag(FLAGS_dataset).empty() ? absl::StrCat(ws, "/testdata/corpus_en")
                                                   : ResolveUserPath(absl::GetFlag(FLAGS_dataset));
  o.out = absl::GetFlag(FLAGS_out).empty() ? absl::StrCat(ws, "/data/corpus_en") : ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (absl::GetFlag(FLAGS_out).empty()) {
    const std::string data = absl::StrCat(ws, "/data");
    lightspeech::base::IsDirectory(data) || ::mkdir(data.c_str(), 0755) == 0;
  }
  if (absl::GetFlag(FLAGS_merge_manifests)) {
    const absl::Status s = lightspeech::preprocess::MergeManifests(o.out, std::cerr);
    if (!s.ok()) std::cerr << "error: " << s.message() << "\n";
    return s.ok() ? 0 : 1;
  }
  o.cleaner = absl::GetFlag(FLAGS_cleaner);
  o.num_shards = absl::GetFlag(FLAGS_num_shards);
  o.val_fraction = absl::GetFlag(FLAGS_val_fraction);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.worker_index = absl::GetFlag(FLAGS_worker_index);
  o.num_workers = absl::GetFlag(FLAGS_num_workers);
  o.max_seconds = absl::GetFlag(FLAGS_max_seconds);
  o.strict = absl::GetFlag(FLAGS_strict);
  o.progress = absl::GetFlag(FLAGS_progress);
  o.alignments = absl::GetFlag(FLAGS_alignments).empty() ? "" : ResolveUserPath(absl::GetFlag(FLAGS_alignments));
  o.alignment_tolerance_frames = absl::GetFlag(FLAGS_alignment_tolerance_frames);
  o.phonemizer = absl::GetFlag(FLAGS_phonemizer);
  o.sample_rate = absl::GetFlag(FLAGS_sample_rate);
  o.n_mels = absl::GetFlag(FLAGS_n_mels);
  o.fmin = static_cast<float>(absl::GetFlag(FLAGS_fmin));
  o.fmax = static_cast<float>(absl::GetFlag(FLAGS_fmax));
  o.trim_silence_db = absl::GetFlag(FLAGS_trim_silence_db);
  std::cerr << "preprocess: " << o.dataset << " -> " << o.out << "\n";
  absl::StatusOr<lightspeech::preprocess::PipelineSummary> s = lightspeech::preprocess::RunPipeline(o, std::cerr);
  if (!s.ok()) {
    std::cerr << "error: " << s.status().message() << "\n";
    return 1;
  }
  std::cout << lightspeech::preprocess::FormatSummary(*s);
  return 0;
}
