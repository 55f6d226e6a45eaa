// bazel run //train -- [--config=train/configs/light_mas.pbtxt] [--data=DIR] [--run_dir=DIR]
//                      [--set=field.path=value ...] [--resume=latest] [--device=auto]
// Thin binary over train/train_lib.h: shards from train/dataset, TensorBoard events from
// train/event_writer.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "train/data_sources.h"
#include "train/distributed.h"
#include "train/event_writer.h"
#include "train/train_lib.h"

ABSL_FLAG(std::string, config, "",
          "TrainConfig in protobuf text format. Default: train/configs/light_mas.pbtxt in the workspace "
          "(the best method measured so far; presets: light_mas, light_rl, light_oracle, prototype_rl).");
ABSL_FLAG(std::vector<std::string>, set, {},
          "Comma-separated overrides field.path=value applied after the config file, e.g. "
          "--set=optimizer.lr=3e-4,rl.samples_per_utterance=4 (repeatable).");
ABSL_FLAG(std::string, data, "",
          "Folder written by //preprocess. Default: the config's data.data_dir, else data/corpus_en in the "
          "workspace (what `bazel run //preprocess` writes by default).");
ABSL_FLAG(std::string, run_dir, "",
          "Run folder (config.pbtxt, checkpoints/, events/, train.log). Default: the config's run_dir, else "
          "runs/<config name> in the workspace.");
ABSL_FLAG(std::string, aligner, "", "Override the method: rl, mas or oracle.");
ABSL_FLAG(int64_t, steps, -1, "Override the number of optimizer steps.");
ABSL_FLAG(int64_t, seed, -1, "Override the seed.");
ABSL_FLAG(double, lr, -1, "Override the learning rate.");
ABSL_FLAG(int64_t, batch_max_frames, -1, "Override the padded mel frames per batch.");
ABSL_FLAG(std::string, resume, "",
          "'latest' (newest checkpoint in RUN_DIR/checkpoints, or a fresh start when there is none) or a "
          "checkpoint path. Empty: start fresh.");
ABSL_FLAG(std::string, device, "auto", "auto (CUDA when available), cpu, cuda or cuda:N.");
ABSL_FLAG(std::string, log, "", "Plain-text log. Default: RUN_DIR/train.log.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains the acoustic model with learned durations (rl), forward-sum + monotonic alignment search "
      "(mas) or reference durations (oracle).\n"
      "Usage: train [--config=FILE] [--data=DIR] [--run_dir=DIR] [--set=a.b=v,...] [--resume=latest]");
  absl::ParseCommandLine(argc, argv);
  namespace train = lightspeech::train;
  const std::string ws = lightspeech::base::WorkspaceDir();

  train::TrainFlags flags;
  flags.config = absl::GetFlag(FLAGS_config).empty() ? absl::StrCat(ws, "/train/configs/light_mas.pbtxt")
                                                     : absl::GetFlag(FLAGS_config);
  flags.sets = absl::GetFlag(FLAGS_set);
  flags.data = absl::GetFlag(FLAGS_data);
  flags.run_dir = absl::GetFlag(FLAGS_run_dir);
  flags.aligner = absl::GetFlag(FLAGS_aligner);
  flags.steps = absl::GetFlag(FLAGS_steps);
  flags.seed = absl::GetFlag(FLAGS_seed);
  flags.lr = absl::GetFlag(FLAGS_lr);
  flags.batch_max_frames = absl::GetFlag(FLAGS_batch_max_frames);
  flags.resume = absl::GetFlag(FLAGS_resume);
  flags.device = absl::GetFlag(FLAGS_device);
  flags.log_path = absl::GetFlag(FLAGS_log);
  flags.workspace = ws;

  // The configuration is resolved once, here; the run folder's config.pbtxt is this one.
  absl::StatusOr<train::TrainConfig> config = train::ResolveTrainConfig(flags);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << "\n";
    return 1;
  }
  // Data-parallel runs (RANK/WORLD_SIZE/... or Slurm): only rank 0 writes events; RunTraining joins the group.
  absl::StatusOr<train::DistributedConfig> dist = train::DistributedConfigFromEnv();
  if (!dist.ok()) {
    std::cerr << "error: " << dist.status().message() << "\n";
    return 1;
  }
  const std::string who = dist->enabled() ? absl::StrCat("rank ", dist->rank, ": ") : "";
  std::unique_ptr<train::EventWriter> events;
  if (dist->rank == 0) {
    absl::StatusOr<std::unique_ptr<train::EventWriter>> created =
        train::EventWriter::Create(config->run_dir() + "/events");
    if (!created.ok()) {
      std::cerr << "error: " << created.status().message() << "\n";
      return 1;
    }
    events = std::move(*created);
    std::cerr << "train: " << config->data().data_dir() << " -> " << config->run_dir() << " (TensorBoard: "
              << events->path() << ")"
              << (dist->enabled() ? absl::StrCat(", ", dist->world_size, " processes") : "") << "\n";
  }
  const absl::Status status = train::RunTraining(*config, flags, *dist, train::OpenDataSources, events.get());
  if (events != nullptr) {
    if (absl::Status flushed = events->Flush(); status.ok() && !flushed.ok()) {
      std::cerr << "error: " << flushed.message() << "\n";
      return 1;
    }
  }
  if (!status.ok()) {
    std::cerr << "error: " << who << status.message() << "\n";
    return 1;
  }
  return 0;
}
