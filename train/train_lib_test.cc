#include "train/train_lib.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "records/synthetic.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/testing/in_memory_source.h"

namespace lightspeech::train {
namespace {

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

// A tiny light ORACLE run on a synthetic corpus folder.
TrainFlags TinyFlags(const std::string& name) {
  TrainFlags f;
  f.config = "train/configs/light_oracle.pbtxt";
  f.sets = {"model.encoder_dim=16", "model.encoder_blocks=1", "model.decoder_dim=16", "model.decoder_blocks=1",
            "model.predictor_hidden=16", "model.policy_hidden=16", "optimizer.warmup_steps=2", "log_every=1",
            "checkpoint_every=2", "validate_every=2", "threads=1", "bf16=false"};
  f.data = FreshDir(name + "_data");
  f.run_dir = FreshDir(name + "_run");
  f.steps = 4;
  f.device = "cpu";
  return f;
}

// What train/main.cc does: resolve once, then run as one process.
absl::Status ResolveAndRun(const TrainFlags& f, const DataOpener& open) {
  absl::StatusOr<TrainConfig> config = ResolveTrainConfig(f);
  if (!config.ok()) return config.status();
  return RunTraining(*config, f, DistributedConfig(), open, nullptr);
}

TEST(TrainLibTest, ResolveAppliesFileThenSetThenNamedFlags) {
  TrainFlags f = TinyFlags("resolve");
  f.sets.push_back("steps=100");
  f.sets.push_back("optimizer.lr=0.5");
  f.lr = 0.25;
  f.aligner = "mas";
  absl::StatusOr<TrainConfig> c = ResolveTrainConfig(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->steps(), 4);                  // --steps beats --set
  EXPECT_DOUBLE_EQ(c->optimizer().lr(), 0.25);
  EXPECT_EQ(c->aligner(), TrainConfig::MAS);
  EXPECT_EQ(c->model().encoder_dim(), 16);   // --set beats the file
  EXPECT_EQ(c->optimizer().grad_clip_norm(), 1.0);  // from the file
  EXPECT_EQ(c->data().data_dir(), f.data);
  // Defaults are filled in: the resolved configuration holds the values the run uses.
  EXPECT_EQ(c->keep_checkpoints(), kDefaultKeepCheckpoints);
  EXPECT_DOUBLE_EQ(c->optimizer().beta2(), 0.98);  // from the file
  EXPECT_DOUBLE_EQ(c->forward_sum_weight(), kDefaultLossWeight);
  EXPECT_EQ(c->data().loader_threads(), kDefaultLoaderThreads);
  EXPECT_FALSE(c->has_rl());  // MAS reads no RlConfig

  f.config.clear();
  EXPECT_EQ(ResolveTrainConfig(f).status().message(), "--config is required (e.g. train/configs/light_rl.pbtxt)");
  f = TinyFlags("resolve_bad");
  f.sets.push_back("optimizer.warmup=3");
  EXPECT_EQ(ResolveTrainConfig(f).status().message(),
            "--set=optimizer.warmup=3: TrainConfig has no field 'optimizer.warmup'");
  f = TinyFlags("resolve_no_data");
  f.data.clear();
  EXPECT_EQ(ResolveTrainConfig(f).status().message(), "no data folder: give --data or data.data_dir");
}

TEST(TrainLibTest, WorkspaceGivesTheFolderDefaults) {
  TrainFlags f = TinyFlags("workspace");
  f.data.clear();
  f.run_dir.clear();
  f.workspace = "/ws";
  absl::StatusOr<TrainConfig> c = ResolveTrainConfig(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data().data_dir(), "/ws/data/corpus_en");
  EXPECT_EQ(c->run_dir(), "/ws/runs/light_oracle");
  f.sets.push_back("run_dir=/elsewhere");  // the config names it: no default
  f.data = "/corpus";
  c = ResolveTrainConfig(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data().data_dir(), "/corpus");
  EXPECT_EQ(c->run_dir(), "/elsewhere");
}

TEST(TrainLibTest, MissingDataFolderIsNamed) {
  TrainFlags f = TinyFlags("missing");
  f.data = "/nonexistent/corpus";
  const absl::Status s = ResolveAndRun(f, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "--data: /nonexistent/corpus is not a folder");
}

TEST(TrainLibTest, TrainsThenResumesFromLatest) {
  TrainFlags f = TinyFlags("run");
  absl::StatusOr<records::Manifest> manifest = records::WriteSyntheticCorpus(f.data, 6, 1, 0.2);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::vector<DataPosition> opened_at;
  DataOpener open = [&](const TrainConfig& config, const DataPosition& start,
                        const DataShare&) -> absl::StatusOr<DataSources> {
    opened_at.push_back(start);
    DataSources d;
    d.train = std::make_unique<testing::InMemoryBatchSource>(testing::SyntheticBatches(3, 2), true, start);
    d.validation = std::make_unique<testing::InMemoryBatchSource>(testing::SyntheticBatches(1, 2, "val"), false);
    return d;
  };
  absl::Status s = ResolveAndRun(f, open);
  ASSERT_TRUE(s.ok()) << s;
  f.steps = 6;
  f.resume = "latest";
  s = ResolveAndRun(f, open);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(opened_at.size(), 2u);
  EXPECT_EQ(opened_at[0].epoch, 0);
  EXPECT_EQ(opened_at[1].epoch, 1);  // 4 of 3 batches per epoch consumed
  EXPECT_EQ(opened_at[1].batch_in_epoch, 1);
  absl::StatusOr<std::string> latest = LatestCheckpoint(f.run_dir + "/checkpoints");
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(absl::EndsWith(*latest, "ckpt-00000006.pb")) << *latest;
  absl::StatusOr<Checkpoint> c = ReadCheckpoint(*latest);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->symbols().symbols(0), "_");  // the manifest's table
  // and the manifest's feature settings
  ASSERT_TRUE(c->has_features());
  EXPECT_GT(c->features().sample_rate(), 0);
  EXPECT_EQ(c->features().SerializeAsString(), manifest->features().SerializeAsString());
  // The run folder shows the configuration the run used, defaults included.
  absl::StatusOr<TrainConfig> written = LoadTrainConfig(f.run_dir + "/config.pbtxt");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->keep_checkpoints(), kDefaultKeepCheckpoints);
  EXPECT_EQ(written->validation_audio_iterations(), kDefaultValidationAudioIterations);
  EXPECT_EQ(FirstDifference(*written, c->config()), "");
}

}  // namespace
}  // namespace lightspeech::train
