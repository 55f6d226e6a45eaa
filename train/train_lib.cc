#include "train/train_lib.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "records/manifest_io.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace lightspeech::train {

absl::StatusOr<TrainConfig> ResolveTrainConfig(const TrainFlags& flags) {
  if (flags.config.empty()) return absl::InvalidArgumentError("--config is required (e.g. train/configs/light_rl.pbtxt)");
  LS_ASSIGN_OR_RETURN(TrainConfig config, LoadTrainConfig(base::ResolveUserPath(flags.config)));
  LS_RETURN_IF_ERROR(ApplyOverrides(flags.sets, &config));
  std::vector<std::string> named;
  if (!flags.data.empty()) named.push_back(absl::StrCat("data.data_dir=", flags.data));
  if (!flags.run_dir.empty()) named.push_back(absl::StrCat("run_dir=", flags.run_dir));
  if (!flags.aligner.empty()) named.push_back(absl::StrCat("aligner=", flags.aligner));
  if (flags.steps >= 0) named.push_back(absl::StrCat("steps=", flags.steps));
  if (flags.seed >= 0) named.push_back(absl::StrCat("seed=", flags.seed));
  if (flags.lr >= 0) named.push_back(absl::StrCat("optimizer.lr=", flags.lr));
  if (flags.batch_max_frames >= 0) named.push_back(absl::StrCat("data.batch_max_frames=", flags.batch_max_frames));
  LS_RETURN_IF_ERROR(ApplyOverrides(named, &config));
  if (!flags.workspace.empty() && config.data().data_dir().empty()) {
    config.mutable_data()->set_data_dir(absl::StrCat(flags.workspace, "/data/corpus_en"));
  }
  if (!flags.workspace.empty() && config.run_dir().empty()) {
    std::string name = flags.config.substr(flags.config.find_last_of('/') + 1);
    name = name.substr(0, name.find('.'));
    config.set_run_dir(absl::StrCat(flags.workspace, "/runs/", name));
  }
  config.mutable_data()->set_data_dir(base::ResolveUserPath(config.data().data_dir()));
  config.set_run_dir(base::ResolveUserPath(config.run_dir()));
  if (config.data().data_dir().empty()) return absl::InvalidArgumentError("no data folder: give --data or data.data_dir");
  if (config.run_dir().empty()) return absl::InvalidArgumentError("no run folder: give --run_dir or run_dir");
  ApplyTrainDefaults(&config);
  LS_RETURN_IF_ERROR(ValidateTrainConfig(config));
  return config;
}

absl::Status RunTraining(const TrainConfig& config, const TrainFlags& flags, const DistributedConfig& dist_config,
                         const DataOpener& open_data, MetricsSink* sink) {
  if (!base::IsDirectory(config.data().data_dir())) {
    return absl::NotFoundError(absl::StrCat("--data: ", config.data().data_dir(), " is not a folder"));
  }
  LS_ASSIGN_OR_RETURN(records::Manifest manifest, records::ReadManifest(config.data().data_dir()));
  const int n_mels = manifest.features().n_mels();
  const int k = manifest.max_token_frames() > 0 ? manifest.max_token_frames() : 24;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Distributed> dist, Distributed::Create(dist_config));
  // Declared after `dist`, so destroyed first.
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer,
                      Trainer::Create(config, manifest.symbols(), n_mels, k, flags.device,
                                      dist->is_main() ? sink : nullptr, flags.log_path, dist.get()));
  if (manifest.has_features()) {
    if (absl::Status s = trainer->SetFeatureSettings(manifest.features()); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(config.data().data_dir(), ": ", s.message()));
    }
  }
  if (!flags.resume.empty()) {
    std::string path = flags.resume;
    if (flags.resume == "latest") {
      absl::StatusOr<std::string> latest = LatestCheckpoint(config.run_dir() + "/checkpoints");
      path = latest.ok() ? *latest : "";
      if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
    } else {
      path = base::ResolveUserPath(path);
    }
    if (!path.empty()) {
      LS_RETURN_IF_ERROR(trainer->Restore(path));
    }
  }
  LS_ASSIGN_OR_RETURN(DataSources data, open_data(trainer->config(), trainer->data_position(),
                                                  DataShare{dist->rank(), dist->world_size()}));
  if (data.train == nullptr) return absl::InternalError("the data opener returned no training stream");
  return trainer->Train(*data.train, data.validation.get());
}

}  // namespace lightspeech::train
