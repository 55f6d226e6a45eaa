#include "train/train_lib.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "records/file_util.h"
#include "records/manifest_io.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace lightspeech::train {

absl::StatusOr<TrainConfig> ResolveTrainConfig(const TrainFlags& flags) {
  if (flags.config.empty()) return absl::InvalidArgumentError("--config is required (e.g. train/configs/light_rl.pbtxt)");
  absl::StatusOr<TrainConfig> config = LoadTrainConfig(records::ResolveUserPath(flags.config));
  if (!config.ok()) return config.status();
  if (absl::Status s = ApplyOverrides(flags.sets, &*config); !s.ok()) return s;
  std::vector<std::string> named;
  if (!flags.data.empty()) named.push_back(absl::StrCat("data.data_dir=", flags.data));
  if (!flags.run_dir.empty()) named.push_back(absl::StrCat("run_dir=", flags.run_dir));
  if (!flags.aligner.empty()) named.push_back(absl::StrCat("aligner=", flags.aligner));
  if (flags.steps >= 0) named.push_back(absl::StrCat("steps=", flags.steps));
  if (flags.seed >= 0) named.push_back(absl::StrCat("seed=", flags.seed));
  if (flags.lr >= 0) named.push_back(absl::StrCat("optimizer.lr=", flags.lr));
  if (flags.batch_max_frames >= 0) named.push_back(absl::StrCat("data.batch_max_frames=", flags.batch_max_frames));
  if (absl::Status s = ApplyOverrides(named, &*config); !s.ok()) return s;
  if (!flags.workspace.empty() && config->data().data_dir().empty()) {
    config->mutable_data()->set_data_dir(absl::StrCat(flags.workspace, "/data/corpus_en"));
  }
  if (!flags.workspace.empty() && config->run_dir().empty()) {
    std::string name = flags.config.substr(flags.config.find_last_of('/') + 1);
    name = name.substr(0, name.find('.'));
    config->set_run_dir(absl::StrCat(flags.workspace, "/runs/", name));
  }
  config->mutable_data()->set_data_dir(records::ResolveUserPath(config->data().data_dir()));
  config->set_run_dir(records::ResolveUserPath(config->run_dir()));
  if (config->data().data_dir().empty()) return absl::InvalidArgumentError("no data folder: give --data or data.data_dir");
  if (config->run_dir().empty()) return absl::InvalidArgumentError("no run folder: give --run_dir or run_dir");
  ApplyTrainDefaults(&*config);
  if (absl::Status s = ValidateTrainConfig(*config); !s.ok()) return s;
  return config;
}

absl::Status RunTraining(const TrainConfig& config, const TrainFlags& flags, const DistributedConfig& dist_config,
                         const DataOpener& open_data, MetricsSink* sink) {
  if (!records::IsDirectory(config.data().data_dir())) {
    return absl::NotFoundError(absl::StrCat("--data: ", config.data().data_dir(), " is not a folder"));
  }
  absl::StatusOr<records::Manifest> manifest = records::ReadManifest(config.data().data_dir());
  if (!manifest.ok()) return manifest.status();
  const int n_mels = manifest->features().n_mels();
  const int k = manifest->max_token_frames() > 0 ? manifest->max_token_frames() : 24;
  absl::StatusOr<std::unique_ptr<Distributed>> dist = Distributed::Create(dist_config);
  if (!dist.ok()) return dist.status();
  // Declared after `dist`, so destroyed first.
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(config, manifest->symbols(), n_mels, k, flags.device, (*dist)->is_main() ? sink : nullptr,
                      flags.log_path, dist->get());
  if (!trainer.ok()) return trainer.status();
  if (manifest->has_features()) {
    if (absl::Status s = (*trainer)->SetFeatureSettings(manifest->features()); !s.ok()) {
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
      path = records::ResolveUserPath(path);
    }
    if (!path.empty()) {
      if (absl::Status s = (*trainer)->Restore(path); !s.ok()) return s;
    }
  }
  absl::StatusOr<DataSources> data =
      open_data((*trainer)->config(), (*trainer)->data_position(), DataShare{(*dist)->rank(), (*dist)->world_size()});
  if (!data.ok()) return data.status();
  if (data->train == nullptr) return absl::InternalError("the data opener returned no training stream");
  return (*trainer)->Train(*data->train, data->validation.get());
}

}  // namespace lightspeech::train
