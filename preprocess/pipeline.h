#ifndef LIGHTSPEECH_PREPROCESS_PIPELINE_H_
#define LIGHTSPEECH_PREPROCESS_PIPELINE_H_

// The preprocessing job: LJSpeech-layout corpus (metadata.csv + wavs/) -> cleaned text and symbol ids,
// log-mel -> Utterance records in shards + manifest (records/).

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace lightspeech::preprocess {

struct PipelineOptions {
  std::string dataset;            // folder with metadata.csv and wavs/
  std::string out;                // output folder (created)
  std::string cleaner = "english";
  int num_shards = 0;             // training shards; 0 = about one per 500 utterances (>= threads)
  double val_fraction = 0.05;
  int threads = 2;
  int worker_index = 0;           // this worker writes shards with index % num_workers == worker_index
  int num_workers = 1;
  double max_seconds = 20.0;      // longer clips are skipped
  bool strict = false;            // any skipped utterance makes the job fail
  bool progress = true;           // a progress line on stderr when it is a terminal
  // Reference alignments: a folder with ID.TextGrid or ID.lab per utterance (empty: none). When set,
  // every written record carries one; an utterance whose alignment is missing or disagrees with its
  // audio length, words (checked against the metadata's normalized text, the transcript an aligner
  // saw) or phones is skipped ("missing_alignment", "bad_alignment").
  std::string alignments;
  int alignment_tolerance_frames = 2;  // allowed |alignment end - n_frames|, in frames
  // Cut leading and trailing silence: audio quieter than the clip's loudest frame by more than this
  // many dB (features/trim.h), before the log-mel; 0: keep the clips whole. With reference
  // alignments the cut never reaches into the first or last non-silent interval, and the alignment is
  // shifted to the kept audio. Real recordings carry 0.3-0.5 s of silence at the edges, which
  // teacher-free aligners must otherwise give to the first and last symbols.
  double trim_silence_db = 0;
  // "espeak:VOICE": the symbols are espeak-ng phones (preprocess/phonemizer.h) of the metadata's
  // normalized text as written (espeak-ng reads case and punctuation; the cleaner only rejects empty
  // texts) with "|" between words, and the table is derived from the whole metadata. Empty: the
  // cleaner's characters. "alignment" (needs `alignments` with a words tier): the symbols are the
  // reference alignments' own phone labels (e.g. the Montreal Forced Aligner's ARPAbet or MFA
  // phones), "|" between words; the manifest's symbol table then carries the lexicon of the
  // alignments' words (preprocess/phonemizer.h FromLexicon), so synthesis can spell new text.
  std::string phonemizer;
  int sample_rate = 22050, n_fft = 1024, hop_length = 256, win_length = 1024, n_mels = 80;
  float fmin = 0.0f, fmax = 8000.0f;

  // InvalidArgument naming the first bad option.
  absl::Status Validate() const;
};

struct PipelineSummary {
  int64_t utterances = 0;     // written by this run (not counting resumed shards)
  int64_t resumed_utterances = 0;
  double seconds_of_audio = 0;
  double seconds_skipped = 0;  // audio of skipped clips that could be read (missing/unreadable: unknown)
  int64_t max_token_frames = 0;  // longest symbol duration written by this run (phonemizer + alignments)
  std::map<std::string, int64_t> skipped;  // reason -> count (metadata problems included)
  int shards_written = 0;
  int shards_resumed = 0;
  double wall_seconds = 0;
  bool manifest_written = false;  // false when other workers' shards are still missing
};

// Runs the job, printing each skipped utterance ("FILE: problem") and the progress line to `log`.
// Skip reasons: the metadata's (see metadata.h), "empty_text", "phonemizer", "missing_audio",
// "unreadable_audio", "empty_audio", "truncated_audio", "non_finite_audio", "too_long",
// "silent_audio", "missing_alignment", "bad_alignment".
// Fails when the dataset or output folder cannot be used, on an I/O error while writing (the partial
// shard is discarded, completed shards are kept), or with --strict when anything was skipped.
// Re-running resumes: a shard whose file and stats sidecar both exist is not redone.
absl::StatusOr<PipelineSummary> RunPipeline(const PipelineOptions& options, std::ostream& log);

// The recording of utterance `id` in an LJSpeech-style `dataset`: dataset/wavs/ID with the first of
// .wav, .flac, .ogg, .WAV, .FLAC that is a regular file; empty when there is none.
std::string FindAudio(const std::string& dataset, const std::string& id);

// Merges the per-shard stats of a folder written by several workers into manifest.pbtxt; fails naming
// any shard that is missing or incomplete.
absl::Status MergeManifests(const std::string& out, std::ostream& log);

// Keeps freed audio and mel buffers in the heap instead of returning them to the kernel (glibc
// mallopt: mmap threshold 32 MiB, trim threshold 1 GiB). Each utterance allocates several buffers of
// a few hundred KB, which glibc would otherwise mmap and unmap every time; the page faults cost
// about a quarter of the job's CPU time. Process-wide, so the binary (not the library) calls it.
void KeepLargeBuffersInHeap();

// The table printed at the end of a run.
std::string FormatSummary(const PipelineSummary& s);

}  // namespace lightspeech::preprocess

#endif  // LIGHTSPEECH_PREPROCESS_PIPELINE_H_
