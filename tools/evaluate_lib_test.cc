#include "tools/evaluate_lib.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/synthetic.h"
#include "records/utterance_io.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/testing/tiny_model.h"
#include "train/trainer.h"

namespace lightspeech::tools {
namespace {

constexpr int kUtterances = 40;
constexpr double kValFraction = 0.25;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

// A tiny light model trained for two steps with `aligner` on the synthetic corpus in `data`.
std::string TrainTiny(const std::string& data, const std::string& run_dir,
                      train::TrainConfig::Aligner aligner = train::TrainConfig::ORACLE) {
  absl::StatusOr<records::Manifest> manifest = records::ReadManifest(data);
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  if (!manifest.ok()) return "";
  train::TrainConfig c;
  *c.mutable_model() = train::testing::TinyModel();
  c.mutable_model()->set_use_predictor(true);
  c.set_aligner(aligner);
  c.mutable_rl()->set_samples_per_utterance(2);
  c.mutable_rl()->set_actor_observes_mel(true);
  c.mutable_optimizer()->set_lr(3e-3);
  c.set_seed(3);
  c.set_steps(2);
  c.set_threads(1);
  c.set_run_dir(run_dir);
  absl::StatusOr<std::unique_ptr<train::Trainer>> t =
      train::Trainer::Create(c, manifest->symbols(), 80, 24, "cpu", nullptr, "");
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return "";
  train::DatasetOptions o;
  o.max_batch_frames = 2000;
  o.num_threads = 0;
  absl::StatusOr<std::unique_ptr<train::Dataset>> source = train::Dataset::Create(data, o);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return "";
  absl::Status s = (*t)->Train(**source, nullptr);
  EXPECT_TRUE(s.ok()) << s;
  return train::CheckpointPath(run_dir + "/checkpoints", 2);
}

class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new std::string(FreshDir("corpus"));
    absl::StatusOr<records::Manifest> m = records::WriteSyntheticCorpus(*data_, kUtterances, 1, kValFraction);
    ASSERT_TRUE(m.ok()) << m.status();
    validation_ = 0;
    for (const records::ShardInfo& s : m->shards()) {
      if (s.split() == records::VALIDATION) validation_ += s.num_records();
    }
    checkpoint_ = new std::string(TrainTiny(*data_, FreshDir("oracle_run")));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete checkpoint_;
  }
  static std::string* data_;
  static std::string* checkpoint_;
  static int64_t validation_;
};
std::string* EvaluateTest::data_ = nullptr;
std::string* EvaluateTest::checkpoint_ = nullptr;
int64_t EvaluateTest::validation_ = 0;

TEST_F(EvaluateTest, OracleTrainingDurationsMatchTheReferenceExactly) {
  ASSERT_GT(validation_, 0);
  EvaluateOptions o;
  o.checkpoint = *checkpoint_;
  o.data_dir = *data_;
  absl::StatusOr<EvaluationReport> r = Evaluate(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "ORACLE");
  EXPECT_EQ(r->step, 2);
  EXPECT_EQ(r->utterances, validation_);
  EXPECT_NEAR(r->ms_per_frame, 1000.0 * 256 / 22050, 1e-9);
  // (a): ORACLE trains on the reference durations, so every boundary and duration matches.
  ASSERT_TRUE(r->training.available);
  EXPECT_EQ(r->training.words.utterances, validation_);
  EXPECT_EQ(r->training.words.skipped, 0);
  EXPECT_EQ(r->training.words.boundaries, 2 * validation_);  // one word per synthetic utterance
  EXPECT_EQ(r->training.words.MaeMs(r->ms_per_frame), 0.0);
  EXPECT_EQ(r->training.words.ShareWithin20ms(), 1.0);
  ASSERT_TRUE(r->training.has_phones);
  EXPECT_GT(r->training.phones.boundaries.boundaries, 0);
  EXPECT_EQ(r->training.phones.boundaries.MaeMs(r->ms_per_frame), 0.0);
  EXPECT_EQ(r->training.phones.boundaries.ShareWithin20ms(), 1.0);
  EXPECT_EQ(r->training.phones.DurationMaeFrames(), 0.0);
  // (b): a predictor after two steps does not reproduce the synthetic durations.
  ASSERT_TRUE(r->inference.available);
  EXPECT_EQ(r->inference.words.utterances, validation_);
  EXPECT_EQ(r->inference.phones.boundaries.boundaries, r->training.phones.boundaries.boundaries);
  EXPECT_GT(r->inference.phones.boundaries.MaeMs(r->ms_per_frame), 0.0);
  ASSERT_TRUE(r->uniform.available);
  EXPECT_EQ(r->uniform.words.utterances, validation_);
  EXPECT_EQ(r->uniform.phones.boundaries.boundaries, r->training.phones.boundaries.boundaries);
  EXPECT_GT(r->mel_l1_training, 0.0);
  EXPECT_GT(r->mel_l1_inference, 0.0);
  // The oracle's training durations are the reference ones: one decode, the same figure.
  EXPECT_EQ(r->mel_l1_reference, r->mel_l1_training);

  ASSERT_EQ(r->training_per_utterance.size(), static_cast<size_t>(validation_));
  for (const UtteranceError& u : r->training_per_utterance) {
    EXPECT_EQ(u.boundaries, 2) << u.id;
    EXPECT_EQ(u.abs_error_frames, 0.0) << u.id;
  }
  EXPECT_EQ(WorstShareOfError(r->training_per_utterance, 0.1), 0.0);  // no error at all

  const std::string json = ReportToJson(*r);
  for (const char* key :
       {"\"checkpoint\"", "\"method\": \"ORACLE\"", "\"step\": 2", "\"utterances\"", "\"ms_per_frame\"",
        "\"training_durations\": {", "\"inference_durations\": {", "\"uniform_durations\": {", "\"word_boundary_mae_ms\": 0,",
        "\"word_boundaries_within_20ms\": 1,", "\"word_boundaries_within_50ms\"", "\"word_start_bias_ms\": 0,", "\"word_end_bias_ms\": 0,", "\"run_on_junctions\": ",
        "\"paused_gap_frames\": ",
        "\"phone_boundary_mae_ms\"",
        "\"phone_duration_mae_frames\": 0", "\"mel_l1_training_durations\"", "\"mel_l1_from_text\"", "\"mel_l1_reference_durations\": ",
        "\"training_error_share_worst_tenth\": 0,", "\"training_per_utterance\": [{\"id\": "}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " missing in " << json;
  }
  const std::string text = FormatReport(*r);
  EXPECT_NE(text.find("MAE 0.00 ms, within 20 ms 100.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("starts +0.00 ms, ends +0.00 ms"), std::string::npos) << text;
}

TEST_F(EvaluateTest, MasAndRlCheckpoints) {
  for (train::TrainConfig::Aligner aligner : {train::TrainConfig::MAS, train::TrainConfig::RL}) {
    SCOPED_TRACE(train::TrainConfig::Aligner_Name(aligner));
    EvaluateOptions o;
    o.checkpoint = TrainTiny(*data_, FreshDir(train::TrainConfig::Aligner_Name(aligner)), aligner);
    o.data_dir = *data_;
    absl::StatusOr<EvaluationReport> r = Evaluate(o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->method, train::TrainConfig::Aligner_Name(aligner));
    EXPECT_EQ(r->training.words.utterances, validation_);
    EXPECT_EQ(r->training.phones.boundaries.boundaries, r->uniform.phones.boundaries.boundaries);
    ASSERT_TRUE(r->inference.available);  // the duration predictor
    EXPECT_EQ(r->inference.words.utterances, validation_);
    EXPECT_GT(r->mel_l1_inference, 0.0);
    // The records carry reference durations; decoded with them the figure differs from the method's
    // own durations (which are not exactly the reference after two steps).
    EXPECT_GT(r->mel_l1_reference, 0.0);
    EXPECT_NE(r->mel_l1_reference, r->mel_l1_training);
    // The per-utterance errors add up to the totals, worst first.
    ASSERT_EQ(r->training_per_utterance.size(), static_cast<size_t>(r->training.words.utterances));
    double sum = 0;
    int64_t boundaries = 0;
    for (size_t i = 0; i < r->training_per_utterance.size(); ++i) {
      sum += r->training_per_utterance[i].abs_error_frames;
      boundaries += r->training_per_utterance[i].boundaries;
      if (i > 0) {
        EXPECT_GE(r->training_per_utterance[i - 1].abs_error_frames, r->training_per_utterance[i].abs_error_frames);
      }
    }
    EXPECT_NEAR(sum, r->training.words.abs_error_frames, 1e-9);
    EXPECT_EQ(boundaries, r->training.words.boundaries);
  }
}

// --set changes the hard-alignment prior of the evaluation only (its effect on MAS:
// train:trainer_separators_test); the report says so, a bad value is named, other fields are refused.
TEST_F(EvaluateTest, AlignmentOverridesAreReportedAndLimitedToTheSeparatorPrior) {
  EvaluateOptions o;
  o.checkpoint = TrainTiny(*data_, FreshDir("mas_overrides"), train::TrainConfig::MAS);
  o.data_dir = *data_;
  o.alignment_overrides = {"separator_frame_penalty=3", "separator_penalty_covers_punctuation=true"};
  absl::StatusOr<EvaluationReport> r = Evaluate(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->alignment_overrides, o.alignment_overrides);
  EXPECT_TRUE(absl::StrContains(FormatReport(*r), "hard alignments evaluated with separator_frame_penalty=3,"
                                                   "separator_penalty_covers_punctuation=true instead of the "
                                                   "checkpoint's own setting"));
  EXPECT_TRUE(absl::StrContains(ReportToJson(*r), "\"alignment_overrides\": \"separator_frame_penalty=3,"));
  o.alignment_overrides = {"separator_frame_penalty=-1"};
  EXPECT_EQ(Evaluate(o).status().message(), "TrainConfig: separator_frame_penalty must be finite and >= 0");
  o.alignment_overrides = {"seed=2"};
  EXPECT_EQ(Evaluate(o).status().message(),
            "--set: only separator_frame_penalty and separator_penalty_covers_punctuation may be changed, got 'seed=2'");
}

TEST(WorstShareOfErrorTest, ShareOfTheWorstFraction) {
  const std::vector<UtteranceError> errors = {{"a", 2, 6.0}, {"b", 2, 3.0}, {"c", 2, 1.0}};
  EXPECT_DOUBLE_EQ(WorstShareOfError(errors, 0.1), 0.6);  // at least one utterance
  EXPECT_DOUBLE_EQ(WorstShareOfError(errors, 0.5), 0.9);  // ceil(1.5) = 2 utterances
  EXPECT_DOUBLE_EQ(WorstShareOfError(errors, 1.0), 1.0);
  EXPECT_EQ(WorstShareOfError({}, 0.1), 0.0);
}

TEST_F(EvaluateTest, PlotWritesAPng) {
  train::DatasetOptions d;
  d.split = records::VALIDATION;
  d.num_threads = 0;
  absl::StatusOr<std::unique_ptr<train::Dataset>> data = train::Dataset::Create(*data_, d);
  ASSERT_TRUE(data.ok()) << data.status();
  absl::StatusOr<train::HostBatch> first = (*data)->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  EvaluateOptions o;
  o.checkpoint = *checkpoint_;
  o.data_dir = *data_;
  o.plot_id = first->ids[0];
  o.plot_path = ::testing::TempDir() + "/plot.png";
  absl::StatusOr<EvaluationReport> r = Evaluate(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->plot_path, o.plot_path);
  struct stat st;
  ASSERT_EQ(::stat(o.plot_path.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 100);

  o.plot_id = "no-such-utterance";
  EXPECT_EQ(Evaluate(o).status().message(),
            "--plot: 'no-such-utterance' is not a validation utterance of " + *data_);
}

TEST_F(EvaluateTest, MissingCheckpoint) {
  EvaluateOptions o;
  o.checkpoint = ::testing::TempDir() + "/nope/ckpt-1.pb";
  o.data_dir = *data_;
  const absl::Status s = Evaluate(o).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_EQ(s.message(), "--checkpoint: " + o.checkpoint + " does not exist");
  o.checkpoint = *data_;
  EXPECT_EQ(Evaluate(o).status().message(),
            "--checkpoint: " + *data_ + " is a folder; give a checkpoint file (RUN_DIR/checkpoints/ckpt-<step>.pb)");
}

TEST_F(EvaluateTest, RecordsWithoutAlignments) {
  // The same corpus with the alignment removed from every validation record.
  const std::string dir = FreshDir("no_alignments");
  absl::StatusOr<records::Manifest> m = records::WriteSyntheticCorpus(dir, kUtterances, 1, kValFraction);
  ASSERT_TRUE(m.ok()) << m.status();
  std::string first_id;
  for (records::ShardInfo& shard : *m->mutable_shards()) {
    if (shard.split() != records::VALIDATION) continue;
    const std::string path = dir + "/" + shard.path();
    std::vector<std::string> payloads;
    {
      absl::StatusOr<std::unique_ptr<records::RecordReader>> reader = records::RecordReader::Open(path);
      ASSERT_TRUE(reader.ok()) << reader.status();
      std::string payload;
      while (true) {
        absl::StatusOr<bool> more = (*reader)->Next(&payload);
        ASSERT_TRUE(more.ok()) << more.status();
        if (!*more) break;
        records::Utterance u;
        ASSERT_TRUE(records::DecodeUtterance(payload, path, &u).ok());
        u.clear_alignment();
        std::string out;
        ASSERT_TRUE(records::EncodeUtterance(u, &out).ok());
        payloads.push_back(out);
      }
    }
    absl::StatusOr<std::unique_ptr<records::ShardWriter>> writer = records::ShardWriter::Create(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const std::string& p : payloads) ASSERT_TRUE((*writer)->Write(p).ok());
    shard.set_num_bytes((*writer)->num_bytes());
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  ASSERT_TRUE(records::WriteManifest(dir, *m).ok());
  // The validation pass is sorted by length, so the first record reported is its shortest.
  train::DatasetOptions d;
  d.split = records::VALIDATION;
  d.num_threads = 0;
  absl::StatusOr<std::unique_ptr<train::Dataset>> data = train::Dataset::Create(dir, d);
  ASSERT_TRUE(data.ok()) << data.status();
  absl::StatusOr<train::HostBatch> batch = (*data)->Next();
  ASSERT_TRUE(batch.ok()) << batch.status();

  EvaluateOptions o;
  o.checkpoint = *checkpoint_;
  o.data_dir = dir;
  const absl::Status s = Evaluate(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(s.message(), dir + ": validation record '" + batch->ids[0] +
                             "' has no reference alignment (preprocess with --alignments)");
}

}  // namespace
}  // namespace lightspeech::tools
