#ifndef LIGHTSPEECH_TRAIN_DATA_SOURCES_H_
#define LIGHTSPEECH_TRAIN_DATA_SOURCES_H_

// The //train binary's DataOpener: train/dataset streams over a preprocess output folder, set up
// from a TrainConfig. No LibTorch here.

#include "absl/status/statusor.h"
#include "train/batch.h"
#include "train/train_config.pb.h"
#include "train/train_lib.h"

namespace lightspeech::train {

// Opens config.data.data_dir: the training stream (seeded by config.seed, starting at `start`; the
// share of process share.rank of share.world_size, see DatasetOptions::rank) and,
// when the corpus has a validation split, a validation stream that begins a new identical pass
// after each OutOfRange (what Trainer::Validate expects). Errors are the loader's (a missing or
// empty folder, a missing manifest or shard, a bad record with data.strict), unchanged.
absl::StatusOr<DataSources> OpenDataSources(const TrainConfig& config, const DataPosition& start,
                                            const DataShare& share = DataShare());

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_DATA_SOURCES_H_
