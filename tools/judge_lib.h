#ifndef LIGHTSPEECH_TOOLS_JUDGE_LIB_H_
#define LIGHTSPEECH_TOOLS_JUDGE_LIB_H_

// The body of //tools:judge: can the voice be understood? It synthesizes the validation texts with a
// checkpoint (inference/synthesizer.h, Griffin-Lim), runs an English ASR (tools/asr.h) on them, and
// reports word and character error rates against the texts, next to the same ASR on the corpus's
// recordings (the ASR's own floor) and on Griffin-Lim of the recordings' log-mel from the records
// (the vocoder's ceiling), so that the acoustic model's share of the loss shows.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/asr.h"
#include "tools/error_rate.h"

namespace lightspeech::tools {

struct JudgeOptions {
  std::string checkpoint;
  std::string data_dir;                // records + manifest.pbtxt; the validation split is judged
  std::string recordings_dir;          // the corpus (metadata.csv, wavs/); empty: the manifest's corpus
  std::string json_out;                // per-utterance hypotheses and the totals; empty: none
  std::string asr_model_dir = kDefaultAsrModelDir;
  int max_utterances = 0;              // the first N validation records; 0: all
  int griffin_lim_iterations = 32;
  int threads = 1;
};

// What the ASR heard for one utterance, per source (empty when the source was not available).
struct JudgedUtterance {
  std::string id;
  std::string text;         // the record's text as written (the reference)
  std::string synthesized;  // the checkpoint's voice, from the text
  std::string vocoded;      // Griffin-Lim of the record's own log-mel
  std::string recording;    // the corpus's recording
  bool has_recording = false;
};

struct JudgeRow {
  ErrorCount words, chars;
  int utterances = 0;
};

struct JudgeReport {
  std::string checkpoint;
  std::string method;
  JudgeRow synthesized, vocoded, recordings;
  std::vector<JudgedUtterance> utterances;
  double synthesis_seconds = 0;  // acoustic model + Griffin-Lim of the texts
  double vocoder_seconds = 0;    // Griffin-Lim of the records' mel
  double asr_seconds = 0;        // every ASR call
  double audio_seconds = 0;      // synthesized audio judged
};

// Runs the judge. Fails (FailedPrecondition) for a corpus that is not English (its manifest's cleaner
// is not "english" and its phonemizer not an English espeak-ng voice): no ASR model here for it, and
// the judge says so rather than guess; (FailedPrecondition) when the data has no validation records;
// with the synthesizer's, Griffin-Lim's, the ASR's or a reader's error (naming the file or record).
// Recordings that cannot be found are reported on `log` and left out of that row.
absl::StatusOr<JudgeReport> RunJudge(const JudgeOptions& options, std::ostream& log);

// The report as printed by the tool: one line per row (WER, CER, utterances) and the timing.
std::string FormatJudgeReport(const JudgeReport& report);

// The report as JSON (totals and per-utterance hypotheses).
std::string JudgeReportJson(const JudgeReport& report);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_JUDGE_LIB_H_
