#ifndef LIGHTSPEECH_TRAIN_TRAIN_LIB_H_
#define LIGHTSPEECH_TRAIN_TRAIN_LIB_H_

// The body of the //train binary, as a library with its own test: resolve the configuration once
// from a preset, --set assignments, named flags and defaults (ResolveTrainConfig); then read the
// corpus manifest, create (or resume) a Trainer, open the data at the trainer's position and train
// (RunTraining). The data loader is passed in (DataOpener), so
// this library does not depend on train/dataset. No LibTorch in this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/batch.h"
#include "train/distributed.h"
#include "train/metrics_sink.h"
#include "train/train_config.pb.h"

namespace lightspeech::train {

// What the command line says. Empty strings and negative numbers mean "not given".
struct TrainFlags {
  std::string config;               // --config: a TrainConfig in text format (e.g. train/configs/light_rl.pbtxt)
  std::vector<std::string> sets;    // --set=field.path=value, applied in order after the file
  // Named flags, applied after --set (so they win): each is the --set of the field named beside it.
  std::string data;                 // --data -> data.data_dir
  std::string run_dir;              // --run_dir -> run_dir
  std::string aligner;              // --aligner -> aligner (rl, mas, oracle)
  int64_t steps = -1;               // --steps -> steps
  int64_t seed = -1;                // --seed -> seed
  double lr = -1;                   // --lr -> optimizer.lr
  int64_t batch_max_frames = -1;    // --batch_max_frames -> data.batch_max_frames
  // --resume: "" (start fresh), "latest" (the newest checkpoint in RUN_DIR/checkpoints; fresh when
  // there is none) or a checkpoint path.
  std::string resume;
  std::string device = "auto";      // --device: auto, cpu, cuda, cuda:N
  std::string log_path;             // --log: the text log ("" = RUN_DIR/train.log)
  // The workspace of `bazel run` (base::WorkspaceDir), or "" for none. When neither a flag nor
  // the config names them, the data folder is WORKSPACE/data/corpus_en (what `bazel run
  // //preprocess` writes by default) and the run folder WORKSPACE/runs/<config file name without
  // extension>.
  std::string workspace;
};

// Loads flags.config (required), applies flags.sets then the named flags, then the folder defaults
// of flags.workspace, resolves relative paths (base::ResolveUserPath), fills in the defaults
// (ApplyTrainDefaults) and validates: the configuration the run uses and writes to its folder.
// Fails naming the file:line, the assignment or the field.
absl::StatusOr<TrainConfig> ResolveTrainConfig(const TrainFlags& flags);

// The streams a run reads: training (endless, starting at the given position) and validation
// (finite passes; may be null).
struct DataSources {
  std::unique_ptr<BatchSource> train;
  std::unique_ptr<BatchSource> validation;
};
// Which share of the data a process reads in a data-parallel run (DatasetOptions::rank).
struct DataShare {
  int rank = 0;
  int world_size = 1;
};
using DataOpener = std::function<absl::StatusOr<DataSources>(const TrainConfig& config, const DataPosition& start,
                                                             const DataShare& share)>;

// Trains with `config` (from ResolveTrainConfig; of `flags` only resume, device and log_path are
// read): reads DATA/manifest.pbtxt (symbol table, n_mels, K from the longest reference duration,
// else 24, and the feature settings that checkpoints record), joins the data-parallel group `dist`
// (DistributedConfigFromEnv: RANK, WORLD_SIZE, ...; train/distributed.h), creates the trainer,
// resumes when asked, opens this process's share of the data at the trainer's position and trains
// to config.steps. `sink` may be null and is used by rank 0 only. Fails on any of those steps with
// the underlying error (a missing data folder names it; a rank that does not arrive or dies makes
// the others fail after LIGHTSPEECH_DIST_TIMEOUT_S, see docs/DISTRIBUTED.md).
absl::Status RunTraining(const TrainConfig& config, const TrainFlags& flags, const DistributedConfig& dist,
                         const DataOpener& open_data, MetricsSink* sink);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_TRAIN_LIB_H_
