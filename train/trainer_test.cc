#include "train/trainer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gtest/gtest.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/tiny_model.h"
#include "train/testing/trainer_fixtures.h"

namespace lightspeech::train {
namespace {

using testing::FreshDir;
using testing::InMemoryBatchSource;
using testing::kMaxDuration;
using testing::kMels;
using testing::kResumeTolerance;
using testing::MakeTrainer;
using testing::MemorySink;
using testing::SyntheticBatches;
using testing::SyntheticSymbols;
using testing::TinyConfig;
using testing::TrainFresh;
using testing::UsePerFrameScoreRl;

TEST(LearningRateTest, WarmupThenDecay) {
  OptimizerConfig o;
  o.set_lr(1.0);
  o.set_warmup_steps(4);
  EXPECT_DOUBLE_EQ(LearningRate(o, 1, 100), 0.25);
  EXPECT_DOUBLE_EQ(LearningRate(o, 4, 100), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(o, 50, 100), 1.0);  // constant
  o.set_decay(OptimizerConfig::INVERSE_SQRT);
  EXPECT_DOUBLE_EQ(LearningRate(o, 16, 100), 0.5);
  o.set_decay(OptimizerConfig::COSINE);
  o.set_min_lr_ratio(0.1);
  EXPECT_DOUBLE_EQ(LearningRate(o, 100, 100), 0.1);
  EXPECT_NEAR(LearningRate(o, 52, 100), 0.55, 1e-12);
  o.set_decay(OptimizerConfig::EXPONENTIAL);
  o.set_decay_rate(0.5);
  o.set_decay_steps(10);
  EXPECT_DOUBLE_EQ(LearningRate(o, 24, 100), 0.25);
}

TEST(TrainerTest, CreateRejectsBadInput) {
  TrainConfig c = TinyConfig(TrainConfig::ORACLE, FreshDir("bad_input"));
  c.set_steps(0);
  EXPECT_EQ(Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "").status().message(),
            "TrainConfig: steps must be > 0");
  c = TinyConfig(TrainConfig::ORACLE, "");
  EXPECT_EQ(Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "").status().message(),
            "TrainConfig: run_dir is empty");
  c = TinyConfig(TrainConfig::ORACLE, FreshDir("bad_device"));
  EXPECT_EQ(Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "tpu", nullptr, "").status().message(),
            "--device=tpu: expected auto, cpu, cuda or cuda:N");
}

// Trains `steps` steps from scratch in `dir` and returns the sink.
struct RunResult {
  MemorySink sink;
  std::string dir;
};

void TrainFromScratch(const TrainConfig& c, RunResult* run) {
  std::unique_ptr<Trainer> t = MakeTrainer(c, &run->sink);
  ASSERT_NE(t, nullptr);
  InMemoryBatchSource source(SyntheticBatches(4, 3), /*endless=*/true);
  const absl::Status s = t->Train(source, nullptr);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(t->step(), c.steps());
}

// A run of 6 steps equals a run of 3 steps, a checkpoint, and a new trainer resumed from it for 3
// more steps (the process boundary is simulated by a fresh Trainer reading the file).
void ExpectExactResume(TrainConfig c, const std::string& name, const std::vector<std::string>& terms) {
  RunResult full;
  c.set_run_dir(FreshDir(name + "_full"));
  TrainFromScratch(c, &full);
  for (const std::string& term : terms) {
    ASSERT_EQ(full.sink.scalars["train/" + term].size(), 6u) << term;
  }
  const std::string checkpoint = CheckpointPath(c.run_dir() + "/checkpoints", 3);

  MemorySink resumed_sink;
  TrainConfig c2 = c;
  c2.set_run_dir(FreshDir(name + "_resumed"));
  std::unique_ptr<Trainer> t = MakeTrainer(c2, &resumed_sink);
  ASSERT_NE(t, nullptr);
  const absl::Status restored = t->Restore(checkpoint);
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(t->step(), 3);
  // 3 steps of 1 batch (x accumulation) from 4 batches per epoch.
  const int64_t consumed = 3 * std::max(1, c.optimizer().grad_accumulation());
  EXPECT_EQ(t->data_position().epoch, consumed / 4);
  EXPECT_EQ(t->data_position().batch_in_epoch, consumed % 4);
  InMemoryBatchSource source(SyntheticBatches(4, 3), /*endless=*/true, t->data_position());
  const absl::Status trained = t->Train(source, nullptr);
  ASSERT_TRUE(trained.ok()) << trained;
  for (const std::string& term : terms) {
    const auto& a = full.sink.scalars["train/" + term];
    const auto& b = resumed_sink.scalars["train/" + term];
    ASSERT_EQ(b.size(), 3u) << term;
    for (int64_t step = 4; step <= 6; ++step) {
      ASSERT_TRUE(b.count(step)) << term << " " << step;
      EXPECT_NEAR(b.at(step), a.at(step), kResumeTolerance * std::max(1.0, std::fabs(a.at(step))))
          << name << ": " << term << " at step " << step;
    }
  }
  // The final checkpoints hold the same parameters.
  absl::StatusOr<Checkpoint> x = ReadCheckpoint(CheckpointPath(c.run_dir() + "/checkpoints", 6));
  absl::StatusOr<Checkpoint> y = ReadCheckpoint(CheckpointPath(c2.run_dir() + "/checkpoints", 6));
  ASSERT_TRUE(x.ok() && y.ok());
  ASSERT_EQ(x->tensors_size(), y->tensors_size());
  for (int i = 0; i < x->tensors_size(); ++i) {
    absl::StatusOr<torch::Tensor> a = TensorFromProto(x->tensors(i)), b = TensorFromProto(y->tensors(i));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(torch::allclose(*a, *b, kResumeTolerance, 1e-9)) << name << ": " << x->tensors(i).name();
  }
}

TEST(TrainerTest, OracleResumesExactly) {
  ExpectExactResume(TinyConfig(TrainConfig::ORACLE, ""), "oracle", {"mel_loss", "duration_loss", "grad_norm"});
}

TEST(TrainerTest, MasResumesExactlyWithAccumulation) {
  TrainConfig c = TinyConfig(TrainConfig::MAS, "");
  c.mutable_optimizer()->set_grad_accumulation(2);
  c.set_binarization_weight(0.5);
  ExpectExactResume(c, "mas", {"mel_loss", "duration_loss", "forward_sum_loss", "binarization_loss", "mean_duration"});
}

// The binarization loss is logged (and so trained) from binarization_start_step on, for MAS and for the
// per-frame policy, and is minus a mean of log-probabilities (> 0).
TEST(TrainerTest, BinarizationLossStartsAtItsStep) {
  for (TrainConfig::Aligner aligner : {TrainConfig::MAS, TrainConfig::RL}) {
    TrainConfig c = TinyConfig(aligner, FreshDir(absl::StrCat("binarization_", aligner)));
    c.set_steps(3);
    c.set_binarization_weight(1.0);
    c.set_binarization_start_step(2);
    if (aligner == TrainConfig::RL) UsePerFrameScoreRl(c);
    MemorySink sink;
    const absl::Status s = TrainFresh(c, 1, sink);
    ASSERT_TRUE(s.ok()) << s;
    const auto& loss = sink.scalars["train/binarization_loss"];
    EXPECT_EQ(loss.count(1), 0u) << TrainConfig::Aligner_Name(aligner);
    for (int64_t step : {2, 3}) {
      ASSERT_EQ(loss.count(step), 1u) << TrainConfig::Aligner_Name(aligner) << " step " << step;
      EXPECT_GT(loss.at(step), 0.0);
      EXPECT_TRUE(std::isfinite(loss.at(step)));
    }
  }
}

TEST(TrainerTest, RlResumesExactly) {
  TrainConfig c = TinyConfig(TrainConfig::RL, "");
  c.mutable_model()->set_use_predictor(true);
  c.mutable_rl()->set_reward(RlConfig::PER_TOKEN_MSE);
  c.mutable_rl()->set_baseline(RlConfig::MOVING_AVERAGE);  // trainer state in the checkpoint
  c.mutable_rl()->set_actor_observes_mel(true);
  ExpectExactResume(c, "rl", {"mel_loss", "policy_loss", "entropy", "reward", "duration_loss", "actor_grad_norm"});
}

TEST(TrainerTest, MonotonicAlignmentScoreRlResumesExactly) {
  TrainConfig c = TinyConfig(TrainConfig::RL, "");
  c.mutable_model()->set_use_predictor(true);
  c.mutable_rl()->set_monotonic_frame_policy(true);
  c.mutable_rl()->set_reward(RlConfig::ALIGNMENT_SCORE);
  c.mutable_rl()->set_baseline(RlConfig::LEAVE_ONE_OUT);
  c.mutable_rl()->set_samples_per_utterance(3);
  c.mutable_rl()->set_credit_discount(0.9);
  c.mutable_rl()->set_decoder_durations(RlConfig::GREEDY);
  c.mutable_rl()->set_actor_observes_alignment_score(true);
  c.mutable_rl()->set_actor_observes_value_to_go(true);  // as the preset
  c.mutable_rl()->set_alignment_score_weight_init(1.0);
  c.set_binarization_weight(0.5);
  ExpectExactResume(c, "rl_monotonic", {"mel_loss", "policy_loss", "entropy", "reward", "forward_sum_loss", "binarization_loss",
                                        "duration_loss", "actor_grad_norm"});
}

// A sanity check that each method trains: the mel loss falls within 20 steps on two batches.
TEST(TrainerTest, EveryMethodReducesTheMelLoss) {
  for (TrainConfig::Aligner aligner : {TrainConfig::ORACLE, TrainConfig::MAS, TrainConfig::RL}) {
    TrainConfig c = TinyConfig(aligner, FreshDir(absl::StrCat("learns_", aligner)));
    c.set_steps(20);
    c.set_checkpoint_every(0);
    c.mutable_optimizer()->set_lr(1e-2);
    c.mutable_optimizer()->set_decay(OptimizerConfig::CONSTANT);
    MemorySink sink;
    const absl::Status s = TrainFresh(c, 2, sink);
    ASSERT_TRUE(s.ok()) << s;
    const auto& mel = sink.scalars["train/mel_loss"];
    const double first = (mel.at(1) + mel.at(2)) / 2, last = (mel.at(19) + mel.at(20)) / 2;
    EXPECT_LT(last, 0.5 * first) << TrainConfig::Aligner_Name(aligner) << ": " << first << " -> " << last;
  }
}

TEST(TrainerTest, RlBaselinesAndRewardsRun) {
  for (RlConfig::Baseline baseline : {RlConfig::BATCH_NORMALIZED, RlConfig::LEAVE_ONE_OUT, RlConfig::SELF_CRITICAL,
                                      RlConfig::NO_BASELINE}) {
    for (RlConfig::Reward reward : {RlConfig::PROTOTYPE, RlConfig::NEGATIVE_L1, RlConfig::PER_TOKEN_L1}) {
      TrainConfig c = TinyConfig(TrainConfig::RL, FreshDir(absl::StrCat("rl_", baseline, "_", reward)));
      c.set_steps(1);
      c.mutable_rl()->set_baseline(baseline);
      c.mutable_rl()->set_reward(reward);
      MemorySink sink;
      const absl::Status s = TrainFresh(c, 1, sink);
      EXPECT_TRUE(s.ok()) << RlConfig::Baseline_Name(baseline) << " " << RlConfig::Reward_Name(reward) << ": " << s;
      EXPECT_TRUE(std::isfinite(sink.scalars["train/policy_loss"][1]));
    }
  }
}

// Every combination of policy form, reward family, credit and decoder durations trains a step with
// finite losses and a non-zero policy gradient.
TEST(TrainerTest, RlPolicyFormsRewardsAndCreditRun) {
  for (bool monotonic : {false, true}) {
    for (RlConfig::Reward reward : {RlConfig::ALIGNMENT_SCORE, RlConfig::PER_TOKEN_MSE}) {
      for (RlConfig::Baseline baseline : {RlConfig::LEAVE_ONE_OUT, RlConfig::SELF_CRITICAL, RlConfig::MOVING_AVERAGE}) {
        for (RlConfig::DecoderDurations decode : {RlConfig::SAMPLES, RlConfig::GREEDY}) {
          const std::string name = absl::StrCat("rl_form_", monotonic, "_", reward, "_", baseline, "_", decode);
          TrainConfig c = TinyConfig(TrainConfig::RL, FreshDir(name));
          c.set_steps(2);
          c.mutable_rl()->set_monotonic_frame_policy(monotonic);
          c.mutable_rl()->set_reward(reward);
          c.mutable_rl()->set_baseline(baseline);
          c.mutable_rl()->set_samples_per_utterance(2);
          c.mutable_rl()->set_credit_discount(0.5);
          c.mutable_rl()->set_decoder_durations(decode);
          if (monotonic && reward == RlConfig::ALIGNMENT_SCORE && baseline == RlConfig::SELF_CRITICAL) {
            c.mutable_rl()->set_actor_observes_alignment_score(true);  // through its value-to-go
            c.mutable_rl()->set_actor_observes_value_to_go(true);
            c.mutable_rl()->set_alignment_score_weight_init(1.0);
          }
          MemorySink sink;
          const absl::Status st = TrainFresh(c, 1, sink);
          ASSERT_TRUE(st.ok()) << name << ": " << st;
          for (const char* term : {"policy_loss", "mel_loss", "reward"}) {
            EXPECT_TRUE(std::isfinite(sink.scalars[absl::StrCat("train/", term)][2])) << name << " " << term;
          }
          EXPECT_GT(sink.scalars["train/actor_grad_norm"][2], 0.0) << name;
          EXPECT_EQ(sink.scalars.count("train/forward_sum_loss") == 1, reward == RlConfig::ALIGNMENT_SCORE) << name;
        }
      }
    }
  }
}

TEST(TrainerTest, LogsScalarsTextAndConfig) {
  TrainConfig c = TinyConfig(TrainConfig::RL, FreshDir("logs"));
  c.set_steps(2);
  c.set_validate_every(2);
  MemorySink sink;
  std::unique_ptr<Trainer> t = MakeTrainer(c, &sink);
  ASSERT_NE(t, nullptr);
  InMemoryBatchSource train(SyntheticBatches(2, 3), true);
  InMemoryBatchSource validation(SyntheticBatches(2, 2, "val"), false);
  ASSERT_TRUE(t->Train(train, &validation).ok());
  for (const char* tag : {"train/mel_loss", "train/policy_loss", "train/entropy", "train/reward", "train/mean_duration",
                          "train/lr", "train/steps_per_second", "train/frames_per_second", "train/loader_wait_share",
                          "train/grad_norm", "train/actor_grad_norm", "val/mel_loss", "val/alignment_mae_frames",
                          "val/duration_mae_frames"}) {
    EXPECT_EQ(sink.scalars.count(tag), 1u) << tag;
  }
  EXPECT_DOUBLE_EQ(sink.scalars["train/lr"][1], 1.5e-3);  // warm-up: 3e-3 * 1/2
  for (const char* tag : {"val/mel_predicted", "val/mel_target"}) {
    ASSERT_EQ(sink.images.count(tag), 1u) << tag;
    EXPECT_EQ(sink.images[tag].png.substr(1, 3), "PNG") << tag;
    EXPECT_EQ(sink.images[tag].height, 2 * kMels) << tag;
    EXPECT_GT(sink.images[tag].width, 0) << tag;
  }
  EXPECT_GE(sink.flushes, 1);
  absl::StatusOr<TrainConfig> saved = LoadTrainConfig(c.run_dir() + "/config.pbtxt");
  ASSERT_TRUE(saved.ok()) << saved.status();
  TrainConfig expected = c;
  expected.mutable_model()->set_max_duration(kMaxDuration);  // resolved
  ApplyTrainDefaults(&expected);                             // and the defaults filled in
  EXPECT_EQ(FirstDifference(*saved, expected), "");
  absl::StatusOr<std::string> log = base::ReadFile(c.run_dir() + "/train.log");
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(absl::StrContains(*log, "step 2 ")) << *log;
  EXPECT_TRUE(absl::StrContains(*log, "step 2 validation: 2 batches, mel_loss=")) << *log;
}

TEST(TrainerTest, ValidationPassesRestartAndMeasureDurations) {
  TrainConfig c = TinyConfig(TrainConfig::MAS, FreshDir("validate"));
  std::unique_ptr<Trainer> t = MakeTrainer(c, nullptr);
  ASSERT_NE(t, nullptr);
  InMemoryBatchSource validation(SyntheticBatches(3, 2, "val"), false);
  for (int pass = 0; pass < 2; ++pass) {
    absl::StatusOr<ValidationResult> v = t->Validate(validation);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->batches, 3);
    EXPECT_TRUE(v->has_durations);
    EXPECT_GT(v->mel_loss, 0);
    EXPECT_GE(v->alignment_mae, 0);
    EXPECT_GE(v->duration_mae, 0);
    EXPECT_GT(v->example_frames, 0);
    EXPECT_EQ(static_cast<int64_t>(v->example_prediction.size()), v->example_frames * kMels);
    EXPECT_EQ(v->example_target.size(), v->example_prediction.size());
    EXPECT_EQ(v->example_method_marks.size(), v->example_reference_marks.size());
    EXPECT_FALSE(v->example_method_marks.empty());
  }
}

TEST(TrainerTest, RestoreRejectsAnotherConfigOrSymbolTable) {
  RunResult run;
  TrainConfig c = TinyConfig(TrainConfig::ORACLE, FreshDir("mismatch"));
  c.set_steps(1);
  TrainFromScratch(c, &run);
  const std::string checkpoint = CheckpointPath(c.run_dir() + "/checkpoints", 1);

  TrainConfig wider = c;
  wider.set_run_dir(FreshDir("mismatch_wider"));
  wider.mutable_model()->set_encoder_dim(24);
  std::unique_ptr<Trainer> t = MakeTrainer(wider, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Restore(checkpoint).message(), checkpoint + ": checkpoint config differs: model.encoder_dim: 16 vs 24");
  EXPECT_EQ(t->step(), 0);

  TrainConfig mas = c;
  mas.set_run_dir(FreshDir("mismatch_mas"));
  mas.set_aligner(TrainConfig::MAS);
  t = MakeTrainer(mas, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Restore(checkpoint).message(), checkpoint + ": checkpoint config differs: aligner: ORACLE vs MAS");

  records::SymbolTable symbols = SyntheticSymbols();
  symbols.set_symbols(3, "C");
  TrainConfig same = c;
  same.set_run_dir(FreshDir("mismatch_symbols"));
  absl::StatusOr<std::unique_ptr<Trainer>> other = Trainer::Create(same, symbols, kMels, kMaxDuration, "cpu", nullptr, "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Restore(checkpoint).message(),
            checkpoint + ": checkpoint symbol table differs: symbols[3]: \"c\" vs \"C\"");

  // A checkpoint whose tensor was tampered with names the tensor.
  absl::StatusOr<Checkpoint> ck = ReadCheckpoint(checkpoint);
  ASSERT_TRUE(ck.ok());
  TensorProto* first = ck->mutable_tensors(0);
  first->set_shape(0, first->shape(0) + 1);
  const std::string tampered = c.run_dir() + "/tampered.pb";
  ASSERT_TRUE(WriteCheckpoint(*ck, tampered).ok());
  t = MakeTrainer(same, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(absl::StartsWith(t->Restore(tampered).message(),
                               absl::StrCat(tampered, ": checkpoint tensor '", first->name(), "': ")))
      << t->Restore(tampered);
}

TEST(TrainerTest, NonFiniteLossStopsWithoutCheckpoint) {
  TrainConfig c = TinyConfig(TrainConfig::ORACLE, FreshDir("nan"));
  std::vector<HostBatch> batches = SyntheticBatches(2, 2);
  batches[1].mel[5] = std::nanf("");
  MemorySink sink;
  std::unique_ptr<Trainer> t = MakeTrainer(c, &sink);
  ASSERT_NE(t, nullptr);
  InMemoryBatchSource source(batches, true);
  const absl::Status s = t->Train(source, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "step 2: non-finite loss (mel_loss=nan, duration_loss=")) << s;
  EXPECT_TRUE(absl::EndsWith(s.message(), "); stopping without a checkpoint of this state")) << s;
  EXPECT_EQ(t->step(), 1);
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> left = ListCheckpoints(c.run_dir() + "/checkpoints");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST(TrainerTest, OracleNeedsReferenceDurations) {
  TrainConfig c = TinyConfig(TrainConfig::ORACLE, FreshDir("no_durations"));
  std::vector<HostBatch> batches = SyntheticBatches(1, 2);
  batches[0].durations.clear();
  std::unique_ptr<Trainer> t = MakeTrainer(c, nullptr);
  ASSERT_NE(t, nullptr);
  InMemoryBatchSource source(batches, true);
  EXPECT_EQ(t->Train(source, nullptr).message(),
            "step 1: aligner ORACLE needs reference durations, and this batch has none");
}

}  // namespace
}  // namespace lightspeech::train
