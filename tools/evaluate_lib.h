#ifndef LIGHTSPEECH_TOOLS_EVALUATE_LIB_H_
#define LIGHTSPEECH_TOOLS_EVALUATE_LIB_H_

// The body of //tools:evaluate: a checkpoint against the reference timings of a corpus's validation
// split (docs/EVALUATION.md): (a) the durations the method uses while training, (b) the text-only
// durations scaled to the true length, and the mel L1. No LibTorch in this header.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "train/alignment_metrics.h"

namespace lightspeech::tools {

struct EvaluateOptions {
  std::string checkpoint;  // a checkpoint file (ckpt-<step>.pb)
  std::string data_dir;    // a //preprocess output folder whose records carry reference alignments
  std::string device = "cpu";
  int threads = 1;                  // intra-op threads
  int64_t batch_max_frames = 6000;  // padded mel frames per evaluation batch
  // Optional picture: the validation utterance `plot_id`'s target mel with reference word boundaries
  // and the predicted ones (from the training-time durations, or the scaled inference durations
  // when plot_inference), written as PNG to plot_path.
  std::string plot_id;
  std::string plot_path;
  bool plot_inference = false;
  // The hard-alignment prior to evaluate with instead of the checkpoint's own (TrainConfig fields
  // separator_frame_penalty and separator_penalty_covers_punctuation), e.g.
  // {"separator_frame_penalty=3"}: what the prior alone does to a trained model. Other fields are
  // refused, since they would not describe the checkpoint.
  std::vector<std::string> alignment_overrides;
};

// Boundary and duration errors of one set of durations.
struct DurationMetrics {
  bool available = false;  // false when the model has no durations of this kind
  train::BoundaryStats words;
  train::GapStats gaps;  // what lies between consecutive words
  bool has_phones = false;  // phone metrics (the records carry per-symbol durations)
  train::PhoneStats phones;
};

// One utterance's word-boundary error under the training-time durations (a).
struct UtteranceError {
  std::string id;
  int64_t boundaries = 0;
  double abs_error_frames = 0;  // summed over its boundaries

  double MaeMs(double ms_per_frame) const { return boundaries == 0 ? 0.0 : abs_error_frames / boundaries * ms_per_frame; }
};

struct EvaluationReport {
  std::string checkpoint;
  std::string method;  // RL, MAS or ORACLE
  std::vector<std::string> alignment_overrides;  // EvaluateOptions::alignment_overrides applied
  int64_t step = 0;
  std::string data_dir;
  int64_t utterances = 0;
  double ms_per_frame = 0;
  DurationMetrics training;   // (a)
  DurationMetrics inference;  // (b)
  // A reference point needing no model: every symbol gets the same share of the true length
  // (rounded cumulative sums, so the total is exact).
  DurationMetrics uniform;
  // Mean over utterances of the mean absolute log-mel difference: decoded with the training-time
  // durations (same length as the target), and decoded from text alone (DTW when the lengths
  // differ; -1 when the model has no text-only durations).
  double mel_l1_training = 0;
  double mel_l1_inference = -1;
  // The same decoder given the records' reference durations (-1 when they have none). For a
  // teacher-free method a stress test rather than a clean split of its gap to `oracle`: the reference
  // gives separators no frames where words run on (docs/EVALUATION.md).
  double mel_l1_reference = -1;
  int64_t inference_length_differs = 0;  // utterances whose text-only mel length differs from the target's
  std::string plot_path;                 // written picture, or empty
  // (a) per compared utterance, worst (largest summed error) first: where an average hides a few
  // utterances whose alignment went wrong.
  std::vector<UtteranceError> training_per_utterance;
};

// The share of (a)'s summed boundary error held by the worst `fraction` of utterances (at least one),
// in [0, 1]; 0 when nothing was compared.
double WorstShareOfError(const std::vector<UtteranceError>& sorted_worst_first, double fraction);

// Loads the checkpoint (its configuration, symbol table and K) and evaluates every validation
// utterance of options.data_dir. Fails with NotFound when the checkpoint file or data folder does not
// exist ("--checkpoint: PATH does not exist"), InvalidArgument when the checkpoint is a folder, FailedPrecondition when the corpus's symbol table or
// n_mels differs from the checkpoint's, when the validation split is empty, or when a validation
// record has no reference word alignment ("DIR: validation record 'ID' has no reference alignment
// (preprocess with --alignments)"); NotFound when plot_id is not a validation utterance; otherwise
// the error of the library that failed.
absl::StatusOr<EvaluationReport> Evaluate(const EvaluateOptions& options);

// The report as lines of text for a terminal.
std::string FormatReport(const EvaluationReport& report);

// The report as a JSON object (keys documented in docs/EVALUATION.md).
std::string ReportToJson(const EvaluationReport& report);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_EVALUATE_LIB_H_
