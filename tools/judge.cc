// bazel run -c opt //tools:judge -- --checkpoint=CKPT --data=RECORDS [--json_out=judge.json]
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/judge_lib.h"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint to judge (RUN_DIR/checkpoints/ckpt-NNNNNNNN.pb).");
ABSL_FLAG(std::string, data, "", "Records folder (manifest.pbtxt); its validation texts are spoken.");
ABSL_FLAG(std::string, recordings, "", "The corpus (metadata.csv, wavs/); empty: the manifest's corpus path.");
ABSL_FLAG(std::string, json_out, "", "Write the totals and per-utterance hypotheses here (JSON).");
ABSL_FLAG(std::string, asr_model, lightspeech::tools::kDefaultAsrModelDir, "PocketSphinx English model folder.");
ABSL_FLAG(int, max_utterances, 0, "Judge the first N validation utterances; 0: all.");
ABSL_FLAG(int, griffin_lim_iterations, 32, "Griffin-Lim iterations for synthesized and vocoded speech.");
ABSL_FLAG(int, threads, 1, "Intra-op threads for the acoustic model.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Can the voice be understood? Speaks the validation texts of --data with --checkpoint (Griffin-Lim), "
      "runs an English ASR (PocketSphinx) on them and prints word and character error rates against the "
      "texts, next to the same ASR on the corpus's recordings (its floor) and on Griffin-Lim of the "
      "recordings' log-mel (the vocoder's ceiling). English corpora only.");
  absl::ParseCommandLine(argc, argv);
  lightspeech::tools::JudgeOptions o;
  o.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  o.data_dir = absl::GetFlag(FLAGS_data);
  o.recordings_dir = absl::GetFlag(FLAGS_recordings);
  o.json_out = absl::GetFlag(FLAGS_json_out);
  o.asr_model_dir = absl::GetFlag(FLAGS_asr_model);
  o.max_utterances = absl::GetFlag(FLAGS_max_utterances);
  o.griffin_lim_iterations = absl::GetFlag(FLAGS_griffin_lim_iterations);
  o.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<lightspeech::tools::JudgeReport> r = lightspeech::tools::RunJudge(o, std::cerr);
  if (!r.ok()) {
    std::cerr << "judge: " << r.status().message() << "\n";
    return 1;
  }
  std::cout << lightspeech::tools::FormatJudgeReport(*r);
  if (!o.json_out.empty()) std::cout << "JSON: " << o.json_out << "\n";
  return 0;
}
