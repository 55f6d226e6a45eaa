#ifndef LIGHTSPEECH_TRAIN_TESTING_TRAINER_FIXTURES_H_
#define LIGHTSPEECH_TRAIN_TESTING_TRAINER_FIXTURES_H_

// What the Trainer's tests share: a metrics sink in memory, a tiny configuration and fresh trainers
// on synthetic batches. Header-only, for tests.

#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "records/manifest.pb.h"
#include "train/metrics_sink.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/tiny_model.h"
#include "train/train_config.pb.h"
#include "train/trainer.h"

namespace lightspeech::train::testing {

// Resumed losses must equal uninterrupted ones to this relative tolerance (on the CPU with one
// thread they are bitwise equal; the tolerance leaves room for nothing else).
constexpr double kResumeTolerance = 1e-6;
constexpr int kMels = 80;  // records::MakeSyntheticUtterance
constexpr int kMaxDuration = 8;

class MemorySink : public MetricsSink {
 public:
  absl::Status AddScalar(const std::string& tag, int64_t step, double value) override {
    scalars[tag][step] = value;
    return absl::OkStatus();
  }
  absl::Status AddImagePng(const std::string& tag, int64_t step, const std::string& png, int width, int height) override {
    images[tag] = {png, width, height};
    return absl::OkStatus();
  }
  absl::Status AddAudioWav(const std::string&, int64_t, const std::string&, int, int64_t) override {
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    return absl::OkStatus();
  }
  struct Image {
    std::string png;
    int width = 0, height = 0;
  };
  std::map<std::string, std::map<int64_t, double>> scalars;
  std::map<std::string, Image> images;
  int flushes = 0;
};

inline std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

// A tiny light model, so each step takes milliseconds.
inline TrainConfig TinyConfig(TrainConfig::Aligner aligner, const std::string& run_dir) {
  TrainConfig c;
  *c.mutable_model() = TinyModel();
  c.mutable_model()->set_dropout(0.1);  // so that resuming must restore the random generator
  c.set_aligner(aligner);
  c.mutable_rl()->set_samples_per_utterance(2);
  c.mutable_rl()->set_entropy_weight(0.01);
  c.mutable_optimizer()->set_lr(3e-3);
  c.mutable_optimizer()->set_warmup_steps(2);
  c.mutable_optimizer()->set_decay(OptimizerConfig::INVERSE_SQRT);
  c.mutable_optimizer()->set_weight_decay(0.01);
  c.mutable_optimizer()->set_grad_clip_norm(1.0);
  c.set_seed(5);
  c.set_steps(6);
  c.set_checkpoint_every(3);
  c.set_keep_checkpoints(3);
  c.set_log_every(1);
  c.set_threads(1);
  c.set_run_dir(run_dir);
  return c;
}

inline std::unique_ptr<Trainer> MakeTrainer(const TrainConfig& c, MemorySink* sink) {
  absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", sink, "");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

// A fresh trainer for c, trained on `batches` endless synthetic batches, logging into sink.
inline absl::Status TrainFresh(const TrainConfig& c, int batches, MemorySink& sink) {
  std::unique_ptr<Trainer> t = MakeTrainer(c, &sink);
  if (t == nullptr) return absl::InternalError("the trainer could not be created");
  InMemoryBatchSource source(SyntheticBatches(batches, 3), true);
  return t->Train(source, nullptr);
}

// The per-frame policy rewarded by the aligner's score, its decoder on the greedy walk.
inline void UsePerFrameScoreRl(TrainConfig& c) {
  c.mutable_rl()->set_monotonic_frame_policy(true);
  c.mutable_rl()->set_reward(RlConfig::ALIGNMENT_SCORE);
  c.mutable_rl()->set_decoder_durations(RlConfig::GREEDY);
}

// Like TrainFresh with another symbol table, on one synthetic batch of 3.
inline absl::Status TrainFreshWithSymbols(const TrainConfig& c, const records::SymbolTable& symbols, MemorySink& sink) {
  absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, symbols, kMels, kMaxDuration, "cpu", &sink, "");
  if (!t.ok()) return t.status();
  InMemoryBatchSource source(SyntheticBatches(1, 3), true);
  return (*t)->Train(source, nullptr);
}

}  // namespace lightspeech::train::testing

#endif  // LIGHTSPEECH_TRAIN_TESTING_TRAINER_FIXTURES_H_
