// The guard for issue 11's method: on a tiny synthetic corpus whose frames are noisy copies of one
// prototype vector per symbol (so the alignment is learnable and the reference durations are exact),
// a bounded number of CPU steps of the `rl` method (monotonic per-frame policy, alignment-score
// reward, leave-one-out baseline) must bring the actor's greedy durations well below their starting
// error. The same run with the policy gradient disconnected (the actor's learning rate scaled to ~0)
// must not: the improvement comes from the policy gradient, not from the diagonal prior the walk
// starts with.
//
// oneDNN picks kernels by instruction set, so a fixed number of steps follows another path on
// another CPU (issue 26: with one seed and 150 steps the guard failed under AVX2). Single runs also
// vary with the seed: some seeds have not left the diagonal walk after 150 steps. The guard
// therefore trains 300 steps with five seeds, compares ratios (error after / error before) and
// takes their median. Measured (Debian LibTorch 1.13 CPU, AMD EPYC, 2026-12-06), the median ratio
// with the policy gradient / the disconnected run's ratio:
//   default ISA 0.324 / 1.198; ONEDNN_MAX_CPU_ISA=AVX2 0.404 / 1.192; =SSE41 0.463 / 1.186
// (single seeds ranged 0.13-1.25). The thresholds, 0.7 and 0.9, sit between the two with a margin
// of at least 1.5x below and 1.3x above.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "records/utterance.pb.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/tiny_model.h"
#include "train/trainer.h"

namespace lightspeech::train {
namespace {

constexpr int kMels = 80;
constexpr int kSymbols = 26;  // ids 1..26 of testing::SyntheticSymbols()
constexpr int kGuardSteps = 300;
// Greedy durations vs the reference, mean absolute frames per token (durations are 2-9 frames).
constexpr double kStartAtLeast = 2.0;  // the diagonal walk the policy starts from is this far off
// Error after kGuardSteps steps / error before: the median over kSeeds with the policy gradient must
// be below kLearnedRatio, the disconnected run's above kFrozenRatio.
constexpr double kLearnedRatio = 0.7;
constexpr double kFrozenRatio = 0.9;
constexpr int kSeeds[] = {3, 4, 5, 6, 7};

// One utterance: 6-10 symbols (no symbol twice in a row), 2-9 frames each, every frame its symbol's
// prototype plus Gaussian noise (sd 0.3).
records::Utterance MakeUtterance(const std::string& id, std::mt19937& rng, const std::vector<std::vector<float>>& proto) {
  std::uniform_int_distribution<int> n_dist(6, 10), sym_dist(1, kSymbols), dur_dist(2, 9);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  records::Utterance u;
  u.set_id(id);
  u.set_n_mels(kMels);
  u.set_hop_length(256);
  u.set_sample_rate(22050);
  const int n = n_dist(rng);
  int prev = 0, frames = 0;
  auto* a = u.mutable_alignment();
  for (int i = 0; i < n; ++i) {
    int sym = sym_dist(rng);
    while (sym == prev) sym = sym_dist(rng);
    prev = sym;
    const int d = dur_dist(rng);
    u.add_symbol_ids(sym);
    a->add_durations(d);
    for (int t = 0; t < d; ++t) {
      for (int m = 0; m < kMels; ++m) u.add_mel(proto[sym][m] + noise(rng));
    }
    frames += d;
  }
  u.set_n_frames(frames);
  u.set_num_samples(static_cast<int64_t>(frames) * 256);
  return u;
}

std::vector<HostBatch> MakeBatches(int num_batches, int batch_size, const std::string& prefix, std::mt19937& rng,
                                   const std::vector<std::vector<float>>& proto) {
  std::vector<HostBatch> out;
  for (int b = 0; b < num_batches; ++b) {
    std::vector<records::Utterance> utts;
    for (int i = 0; i < batch_size; ++i) utts.push_back(MakeUtterance(absl::StrCat(prefix, b, "_", i), rng, proto));
    out.push_back(testing::MakeHostBatch(utts));
  }
  return out;
}

TrainConfig GuardConfig(const std::string& run_dir, double actor_lr_scale, int seed) {
  TrainConfig c;
  *c.mutable_model() = testing::TinyModel();
  c.mutable_model()->set_use_predictor(true);
  c.set_aligner(TrainConfig::RL);
  RlConfig* rl = c.mutable_rl();
  rl->set_monotonic_frame_policy(true);
  rl->set_reward(RlConfig::ALIGNMENT_SCORE);
  rl->set_baseline(RlConfig::LEAVE_ONE_OUT);
  rl->set_samples_per_utterance(4);
  rl->set_entropy_weight(0.01);
  rl->set_credit_discount(0.9);
  rl->set_decoder_durations(RlConfig::GREEDY);
  rl->set_actor_lr_scale(actor_lr_scale);
  c.mutable_optimizer()->set_lr(1e-2);
  c.mutable_optimizer()->set_warmup_steps(10);
  c.mutable_optimizer()->set_grad_clip_norm(1.0);
  c.set_seed(seed);
  c.set_steps(kGuardSteps);
  c.set_log_every(10);
  c.set_threads(1);
  c.set_run_dir(run_dir);
  return c;
}

struct Outcome {
  double before = -1, after = -1;  // greedy durations vs reference, mean absolute frames per token
};

Outcome TrainAndMeasure(double actor_lr_scale, int seed, const std::string& name) {
  std::mt19937 rng(17);
  std::normal_distribution<float> unit(0.0f, 2.0f);
  std::vector<std::vector<float>> proto(kSymbols + 1, std::vector<float>(kMels));
  for (auto& p : proto) {
    for (float& v : p) v = unit(rng);
  }
  std::vector<HostBatch> train = MakeBatches(8, 8, "train", rng, proto);
  std::vector<HostBatch> validation = MakeBatches(2, 8, "val", rng, proto);
  const std::string dir = ::testing::TempDir() + "/rl_guard_" + name;
  Outcome out;
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(GuardConfig(dir, actor_lr_scale, seed), testing::SyntheticSymbols(), kMels, 16, "cpu", nullptr, "");
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return out;
  testing::InMemoryBatchSource val_source(validation, /*endless=*/false);
  absl::StatusOr<ValidationResult> v0 = (*t)->Validate(val_source);
  EXPECT_TRUE(v0.ok()) << v0.status();
  testing::InMemoryBatchSource train_source(train, /*endless=*/true);
  const absl::Status trained = (*t)->Train(train_source, nullptr);
  EXPECT_TRUE(trained.ok()) << trained;
  testing::InMemoryBatchSource val_again(validation, /*endless=*/false);
  absl::StatusOr<ValidationResult> v1 = (*t)->Validate(val_again);
  EXPECT_TRUE(v1.ok()) << v1.status();
  if (v0.ok() && v1.ok()) {
    out.before = v0->alignment_mae;
    out.after = v1->alignment_mae;
  }
  return out;
}

TEST(RlAlignmentGuardTest, PolicyGradientLearnsTheAlignment) {
  std::vector<double> ratios;
  for (int seed : kSeeds) {
    const Outcome rl = TrainAndMeasure(1.0, seed, absl::StrCat("connected_", seed));
    std::printf("rl guard, seed %d: greedy duration MAE %.3f -> %.3f frames/token with the policy gradient (ratio %.3f)\n",
                seed, rl.before, rl.after, rl.after / rl.before);
    EXPECT_GT(rl.before, kStartAtLeast);
    ratios.push_back(rl.after / rl.before);
  }
  std::sort(ratios.begin(), ratios.end());
  const double median = ratios[ratios.size() / 2];
  const Outcome frozen = TrainAndMeasure(1e-9, kSeeds[0], "disconnected");
  std::printf("rl guard: median ratio %.3f with the policy gradient; %.3f -> %.3f without (ratio %.3f)\n", median,
              frozen.before, frozen.after, frozen.after / frozen.before);
  EXPECT_LT(median, kLearnedRatio);
  EXPECT_GT(frozen.before, kStartAtLeast);
  EXPECT_GT(frozen.after / frozen.before, kFrozenRatio);
}

}  // namespace
}  // namespace lightspeech::train
