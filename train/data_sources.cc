#include "train/data_sources.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "records/manifest.pb.h"
#include "train/dataset.h"

namespace lightspeech::train {
namespace {

DatasetOptions OptionsFor(const TrainConfig& config, records::Split split, const DataShare& share) {
  DatasetOptions options;
  options.split = split;
  options.rank = share.rank;
  options.world_size = share.world_size;
  options.seed = static_cast<uint64_t>(config.seed());
  const DataConfig& data = config.data();
  if (data.batch_max_frames() > 0) options.max_batch_frames = data.batch_max_frames();
  if (data.batch_max_size() > 0) options.max_batch_size = data.batch_max_size();
  if (data.prefetch() > 0) options.prefetch_batches = data.prefetch();
  if (data.loader_threads() > 0) options.num_threads = data.loader_threads();
  options.strict = data.strict();
  return options;
}

// Validation passes, one after another: the dataset is reopened after each OutOfRange. Reopening
// re-indexes the (small) validation split, which keeps every pass identical and the loader simple.
class RepeatingValidation : public BatchSource {
 public:
  RepeatingValidation(std::string dir, DatasetOptions options, std::unique_ptr<Dataset> first)
      : dir_(std::move(dir)), options_(std::move(options)), current_(std::move(first)) {}

  absl::StatusOr<HostBatch> Next() override {
    if (current_ == nullptr) {
      LS_ASSIGN_OR_RETURN(current_, Dataset::Create(dir_, options_));
    }
    absl::StatusOr<HostBatch> batch = current_->Next();
    if (absl::IsOutOfRange(batch.status())) current_.reset();
    return batch;
  }

  DataPosition Position() const override { return current_ == nullptr ? DataPosition() : current_->Position(); }

 private:
  std::string dir_;
  DatasetOptions options_;
  std::unique_ptr<Dataset> current_;
};

}  // namespace

absl::StatusOr<DataSources> OpenDataSources(const TrainConfig& config, const DataPosition& start,
                                            const DataShare& share) {
  const std::string& dir = config.data().data_dir();
  DataSources sources;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> train,
                      Dataset::Create(dir, OptionsFor(config, records::TRAIN, share), start));
  const bool has_validation = [&] {
    for (const records::ShardInfo& shard : train->manifest().shards()) {
      if (shard.split() == records::VALIDATION && shard.num_records() > 0) return true;
    }
    return false;
  }();
  sources.train = std::move(train);
  if (has_validation) {
    DatasetOptions options = OptionsFor(config, records::VALIDATION, share);
    options.num_threads = 1;
    LS_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> validation, Dataset::Create(dir, options));
    sources.validation = std::make_unique<RepeatingValidation>(dir, options, std::move(validation));
  }
  return sources;
}

}  // namespace lightspeech::train
