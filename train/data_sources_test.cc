#include "train/data_sources.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "records/synthetic.h"
#include "train/config.h"
#include "train/dataset.h"

namespace lightspeech::train {
namespace {

std::string MakeCorpus(const std::string& name, double val_fraction) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name);
  ::mkdir(dir.c_str(), 0755);
  EXPECT_TRUE(records::WriteSyntheticCorpus(dir, 40, 2, val_fraction).ok());
  return dir;
}

TrainConfig ConfigFor(const std::string& dir) {
  TrainConfig config;
  config.set_seed(7);
  config.mutable_data()->set_data_dir(dir);
  config.mutable_data()->set_batch_max_frames(2000);
  return config;
}

std::vector<std::string> Pass(BatchSource& source) {
  std::vector<std::string> ids;
  for (;;) {
    absl::StatusOr<HostBatch> batch = source.Next();
    if (absl::IsOutOfRange(batch.status())) return ids;
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) return ids;
    ids.insert(ids.end(), batch->ids.begin(), batch->ids.end());
  }
}

// The defaults a run's config.pbtxt shows for the loader are the ones the loader has.
TEST(OpenDataSources, ConfigDefaultsAreTheLoaderDefaults) {
  TrainConfig config;
  ApplyTrainDefaults(&config);
  const DatasetOptions loader;
  EXPECT_EQ(config.data().batch_max_frames(), loader.max_batch_frames);
  EXPECT_EQ(config.data().batch_max_size(), loader.max_batch_size);
  EXPECT_EQ(config.data().prefetch(), loader.prefetch_batches);
  EXPECT_EQ(config.data().loader_threads(), loader.num_threads);
}

TEST(OpenDataSources, ValidationPassesRepeatIdentically) {
  const std::string dir = MakeCorpus("repeat", 0.3);
  absl::StatusOr<DataSources> sources = OpenDataSources(ConfigFor(dir), DataPosition());
  ASSERT_TRUE(sources.ok()) << sources.status();
  ASSERT_NE(sources->validation, nullptr);
  const std::vector<std::string> first = Pass(*sources->validation);
  const std::vector<std::string> second = Pass(*sources->validation);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST(OpenDataSources, TrainingStartsAtThePosition) {
  const std::string dir = MakeCorpus("position", 0.3);
  absl::StatusOr<DataSources> a = OpenDataSources(ConfigFor(dir), DataPosition());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->train->Next().ok());
  const DataPosition after_one = a->train->Position();
  absl::StatusOr<HostBatch> second = a->train->Next();
  absl::StatusOr<DataSources> b = OpenDataSources(ConfigFor(dir), after_one);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<HostBatch> resumed = b->train->Next();
  ASSERT_TRUE(second.ok() && resumed.ok());
  EXPECT_EQ(second->ids, resumed->ids);
}

TEST(OpenDataSources, NoValidationSplitGivesNoValidationStream) {
  const std::string dir = MakeCorpus("noval", 0.0);
  absl::StatusOr<DataSources> sources = OpenDataSources(ConfigFor(dir), DataPosition());
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_EQ(sources->validation, nullptr);
}

TEST(OpenDataSources, MissingFolderIsNamed) {
  absl::StatusOr<DataSources> sources = OpenDataSources(ConfigFor("/nonexistent/corpus"), DataPosition());
  ASSERT_FALSE(sources.ok());
  EXPECT_NE(std::string(sources.status().message()).find("/nonexistent/corpus"), std::string::npos)
      << sources.status();
}

}  // namespace
}  // namespace lightspeech::train
