#include "train/inference_model.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "train/checkpoint.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/trainer_fixtures.h"
#include "train/trainer.h"

namespace lightspeech::train {
namespace {

using testing::FreshDir;
using testing::kMaxDuration;
using testing::kMels;
using testing::SyntheticBatches;
using testing::SyntheticSymbols;
using testing::TinyConfig;

// Trains `c` (its run folder fresh) for 3 steps on synthetic batches, so that the checkpoint differs
// from a fresh model, and returns the checkpoint path (empty on failure) and the trainer.
std::string TrainAndSave(const TrainConfig& c, const records::SymbolTable& symbols, std::unique_ptr<Trainer>* out) {
  absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, symbols, kMels, kMaxDuration, "cpu", nullptr, "");
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return "";
  testing::InMemoryBatchSource source(SyntheticBatches(2, 3), true);
  const absl::Status s = (*t)->Train(source, nullptr);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return "";
  *out = *std::move(t);
  return CheckpointPath(c.run_dir() + "/checkpoints", c.steps());
}

void ExpectSame(const std::vector<EvalDurations>& a, const std::vector<EvalDurations>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].frames, b[i].frames);
    EXPECT_EQ(a[i].training, b[i].training) << a[i].id;
    EXPECT_EQ(a[i].inference, b[i].inference) << a[i].id;
    EXPECT_EQ(a[i].inference_frames, b[i].inference_frames) << a[i].id;
    EXPECT_EQ(a[i].inference_mel, b[i].inference_mel) << a[i].id;
    EXPECT_EQ(a[i].training_mel, b[i].training_mel) << a[i].id;
    EXPECT_EQ(a[i].reference_mel, b[i].reference_mel) << a[i].id;
  }
}

// Every method: the model loaded without a Trainer evaluates a batch exactly as the trainer that
// wrote the checkpoint does (one implementation, same weights, eval mode, one CPU thread).
TEST(InferenceModelTest, EvaluatesLikeTheTrainerThatWroteTheCheckpoint) {
  const HostBatch batch = SyntheticBatches(1, 3, "held_out")[0];
  for (const std::string variant : {"oracle", "mas", "rl", "rl_per_frame"}) {
    SCOPED_TRACE(variant);
    const TrainConfig::Aligner aligner =
        variant == "oracle" ? TrainConfig::ORACLE : variant == "mas" ? TrainConfig::MAS : TrainConfig::RL;
    TrainConfig c = TinyConfig(aligner, FreshDir(absl::StrCat("inference_", variant)));
    c.set_steps(3);
    if (variant == "rl_per_frame") testing::UsePerFrameScoreRl(c);
    std::unique_ptr<Trainer> trainer;
    const std::string path = TrainAndSave(c, SyntheticSymbols(), &trainer);
    ASSERT_FALSE(path.empty());
    absl::StatusOr<std::unique_ptr<InferenceModel>> m = InferenceModel::Create(path);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ((*m)->step(), 3);
    EXPECT_EQ((*m)->n_mels(), kMels);
    EXPECT_EQ((*m)->max_duration(), kMaxDuration);
    EXPECT_EQ((*m)->device(), "cpu");
    EXPECT_EQ((*m)->config().aligner(), aligner);
    EXPECT_EQ((*m)->symbol_table().symbols_size(), SyntheticSymbols().symbols_size());
    EXPECT_EQ((*m)->num_parameters(), trainer->num_parameters());
    absl::StatusOr<std::vector<EvalDurations>> expected = trainer->EvaluationDurations(batch);
    ASSERT_TRUE(expected.ok()) << expected.status();
    absl::StatusOr<std::vector<EvalDurations>> got = (*m)->EvaluationDurations(batch);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSame(*expected, *got);
    // No random numbers, eval mode kept: the same batch again gives the same result.
    absl::StatusOr<std::vector<EvalDurations>> again = (*m)->EvaluationDurations(batch);
    ASSERT_TRUE(again.ok()) << again.status();
    ExpectSame(*got, *again);
  }
}

// The alignment options replace the checkpoint's prior: the same as a trainer configured with it.
TEST(InferenceModelTest, AlignmentOptionsReplaceTheCheckpointsPrior) {
  records::SymbolTable with_separator = SyntheticSymbols();
  for (int i = 1; i <= 8; ++i) with_separator.set_symbols(i, "|");
  TrainConfig c = TinyConfig(TrainConfig::MAS, FreshDir("inference_prior"));
  c.set_steps(3);
  std::unique_ptr<Trainer> trainer;
  const std::string path = TrainAndSave(c, with_separator, &trainer);
  ASSERT_FALSE(path.empty());

  TrainConfig penalized = TinyConfig(TrainConfig::MAS, FreshDir("inference_prior_penalized"));
  penalized.set_separator_frame_penalty(50);
  penalized.set_separator_penalty_covers_punctuation(true);
  absl::StatusOr<std::unique_ptr<Trainer>> reference =
      Trainer::Create(penalized, with_separator, kMels, kMaxDuration, "cpu", nullptr, "");
  ASSERT_TRUE(reference.ok()) << reference.status();
  ASSERT_TRUE((*reference)->Restore(path).ok());

  InferenceModelOptions o;
  o.separator_frame_penalty = 50;
  o.separator_penalty_covers_punctuation = true;
  absl::StatusOr<std::unique_ptr<InferenceModel>> m = InferenceModel::Create(path, o);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->config().separator_frame_penalty(), 50);
  const HostBatch batch = SyntheticBatches(1, 3)[0];
  absl::StatusOr<std::vector<EvalDurations>> expected = (*reference)->EvaluationDurations(batch);
  absl::StatusOr<std::vector<EvalDurations>> got = (*m)->EvaluationDurations(batch);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*expected, *got);
  absl::StatusOr<std::vector<EvalDurations>> own = trainer->EvaluationDurations(batch);
  ASSERT_TRUE(own.ok()) << own.status();
  bool differs = false;
  for (size_t i = 0; i < own->size(); ++i) differs |= (*own)[i].training != (*got)[i].training;
  EXPECT_TRUE(differs) << "the penalty should move some boundary of the untrained aligner";

  o.separator_frame_penalty = -1;
  EXPECT_EQ(InferenceModel::Create(path, o).status().message(),
            "TrainConfig: separator_frame_penalty must be finite and >= 0");
  o.separator_frame_penalty = 0;
  EXPECT_EQ(InferenceModel::Create(path, o).status().message(),
            "TrainConfig: separator_penalty_covers_punctuation needs separator_frame_penalty > 0");
}

TEST(InferenceModelTest, BadInputs) {
  TrainConfig c = TinyConfig(TrainConfig::MAS, FreshDir("inference_bad"));
  c.set_steps(3);
  std::unique_ptr<Trainer> trainer;
  const std::string path = TrainAndSave(c, SyntheticSymbols(), &trainer);
  ASSERT_FALSE(path.empty());

  InferenceModelOptions o;
  o.device = "tpu";
  EXPECT_EQ(InferenceModel::Create("missing.pb", o).status().message(),
            "--device=tpu: expected auto, cpu, cuda or cuda:N");
  o = InferenceModelOptions();
  o.threads = -1;
  EXPECT_EQ(InferenceModel::Create(path, o).status().message(), "InferenceModel: threads must be >= 0");
  EXPECT_FALSE(InferenceModel::Create(::testing::TempDir() + "/missing.pb").ok());

  absl::StatusOr<std::unique_ptr<InferenceModel>> m = InferenceModel::Create(path);
  ASSERT_TRUE(m.ok()) << m.status();
  HostBatch other = SyntheticBatches(1, 3)[0];
  other.n_mels = 40;
  EXPECT_EQ((*m)->EvaluationDurations(other).status().message(), "evaluation batch has 40 mel bins, the model 80");

  // The same tensors under a config that describes a wider encoder.
  absl::StatusOr<Checkpoint> checkpoint = ReadCheckpoint(path);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  checkpoint->mutable_config()->mutable_model()->set_encoder_dim(32);
  absl::StatusOr<std::unique_ptr<InferenceModel>> wrong = InferenceModel::Create(*checkpoint, "wrong.pb");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(wrong.status().message().rfind("wrong.pb: checkpoint tensor '", 0), 0u) << wrong.status();
}

}  // namespace
}  // namespace lightspeech::train
