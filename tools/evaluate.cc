// bazel run //tools:evaluate -- --checkpoint=CKPT --data=DIR [--json_out=FILE] [--plot=ID [--plot_out=PNG]]
// Thin binary over tools/evaluate_lib.h; the metrics are defined in docs/EVALUATION.md.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "base/file_util.h"
#include "tools/evaluate_lib.h"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint file (RUN_DIR/checkpoints/ckpt-<step>.pb).");
ABSL_FLAG(std::string, data, "", "A //preprocess output folder whose records carry reference alignments "
          "(--alignments); its validation split is evaluated.");
ABSL_FLAG(std::string, json_out, "", "Also write the report as JSON to this file.");
ABSL_FLAG(std::string, plot, "", "Utterance id: write a PNG of its mel with reference and predicted word boundaries.");
ABSL_FLAG(std::string, plot_out, "", "Where the --plot picture goes (default: ID.png).");
ABSL_FLAG(bool, plot_inference, false, "Mark the text-only durations (scaled to the true length) instead of "
          "the training-time durations in the --plot picture.");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N.");
ABSL_FLAG(int32_t, threads, 1, "Intra-op threads.");
ABSL_FLAG(std::vector<std::string>, set, {},
          "Evaluate with another hard-alignment prior than the checkpoint's: comma-separated "
          "separator_frame_penalty=X and/or separator_penalty_covers_punctuation=true|false.");
ABSL_FLAG(int64_t, batch_max_frames, 6000, "Padded mel frames per evaluation batch.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Evaluates a checkpoint's durations against the reference alignments of a corpus's validation split.\n"
      "Usage: evaluate --checkpoint=CKPT --data=DIR [--json_out=FILE] [--plot=ID [--plot_out=PNG]] [--set=separator_frame_penalty=X]");
  absl::ParseCommandLine(argc, argv);
  using lightspeech::base::ResolveUserPath;
  lightspeech::tools::EvaluateOptions o;
  o.checkpoint = ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  o.data_dir = ResolveUserPath(absl::GetFlag(FLAGS_data));
  o.device = absl::GetFlag(FLAGS_device);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.batch_max_frames = absl::GetFlag(FLAGS_batch_max_frames);
  o.plot_id = absl::GetFlag(FLAGS_plot);
  if (!o.plot_id.empty()) {
    const std::string out = absl::GetFlag(FLAGS_plot_out);
    o.plot_path = ResolveUserPath(out.empty() ? o.plot_id + ".png" : out);
  }
  o.plot_inference = absl::GetFlag(FLAGS_plot_inference);
  o.alignment_overrides = absl::GetFlag(FLAGS_set);
  absl::StatusOr<lightspeech::tools::EvaluationReport> report = lightspeech::tools::Evaluate(o);
  if (!report.ok()) {
    std::cerr << "evaluate: " << report.status() << "\n";
    return 1;
  }
  std::cout << lightspeech::tools::FormatReport(*report);
  const std::string json_out = absl::GetFlag(FLAGS_json_out);
  if (!json_out.empty()) {
    const std::string path = ResolveUserPath(json_out);
    if (absl::Status s = lightspeech::base::WriteFileAtomically(path, lightspeech::tools::ReportToJson(*report));
        !s.ok()) {
      std::cerr << "evaluate: " << s << "\n";
      return 1;
    }
    std::cout << "JSON: " << path << "\n";
  }
  return 0;
}
