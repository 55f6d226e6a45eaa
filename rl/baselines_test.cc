#include "rl/baselines.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::rl {
namespace {

constexpr double kTolerance = 1e-5;

TEST(BatchNormalizedAdvantageTest, ZeroMeanUnitStdOverRealEntries) {
  torch::Tensor r = torch::tensor({1.0f, 2.0f, 3.0f, 100.0f});
  torch::Tensor mask = torch::tensor({true, true, true, false});
  auto a = BatchNormalizedAdvantage(r, mask, /*eps=*/0.0);
  ASSERT_TRUE(a.ok()) << a.status();
  const double sd = std::sqrt(2.0 / 3.0);
  EXPECT_NEAR((*a)[0].item<double>(), -1.0 / sd, kTolerance);
  EXPECT_NEAR((*a)[1].item<double>(), 0.0, kTolerance);
  EXPECT_NEAR((*a)[2].item<double>(), 1.0 / sd, kTolerance);
  EXPECT_EQ((*a)[3].item<double>(), 0.0);
}

// Two simulated processes: each one's hook adds the other's (count, sum, sumsq), as an all-reduce
// would; each half must come out normalized by the statistics of the whole batch.
TEST(BatchNormalizedAdvantageTest, ReductionHookGivesGlobalStatistics) {
  torch::manual_seed(1);
  torch::Tensor all = torch::randn({8}) * 3 + 1;
  auto whole = BatchNormalizedAdvantage(all);
  ASSERT_TRUE(whole.ok());
  for (int half = 0; half < 2; ++half) {
    torch::Tensor mine = all.narrow(0, 4 * half, 4), other = all.narrow(0, 4 * (1 - half), 4);
    ReduceFn add_other = [&](torch::Tensor& stats) {
      stats += torch::stack({torch::full({}, 4.0), other.sum(), other.square().sum()}).to(stats.scalar_type());
    };
    auto part = BatchNormalizedAdvantage(mine, {}, 1e-5, add_other);
    ASSERT_TRUE(part.ok());
    EXPECT_TRUE(torch::allclose(*part, whole->narrow(0, 4 * half, 4), 1e-4, 1e-5)) << "half " << half;
  }
}

TEST(BatchNormalizedAdvantageTest, RejectsMaskOfAnotherShape) {
  EXPECT_EQ(BatchNormalizedAdvantage(torch::zeros({3}), torch::ones({4}, torch::kBool)).status().message(),
            "mask shape [4] differs from rewards shape [3]");
}

TEST(MovingAverageBaselineTest, TracksMeanWithDecay) {
  MovingAverageBaseline baseline(0.5);
  auto a1 = baseline.Advantage(torch::tensor({2.0f, 4.0f}));  // b = 3 (first batch's mean) -> 3
  ASSERT_TRUE(a1.ok());
  EXPECT_NEAR((*a1)[0].item<double>(), -1.0, kTolerance);
  EXPECT_NEAR(baseline.value().item<double>(), 3.0, kTolerance);
  auto a2 = baseline.Advantage(torch::tensor({7.0f, 7.0f}));  // uses b = 3, then b = 5
  ASSERT_TRUE(a2.ok());
  EXPECT_NEAR((*a2)[1].item<double>(), 4.0, kTolerance);
  EXPECT_NEAR(baseline.value().item<double>(), 5.0, kTolerance);
  MovingAverageBaseline bad(1.0);
  EXPECT_EQ(bad.Advantage(torch::zeros({2})).status().message(), "MovingAverageBaseline: decay must be in [0, 1), got 1");
}

TEST(MovingAverageBaselineTest, RestoredValueContinuesLikeTheOriginal) {
  MovingAverageBaseline original(0.8);
  ASSERT_TRUE(original.Advantage(torch::tensor({1.0f, 5.0f})).ok());
  ASSERT_TRUE(original.Advantage(torch::tensor({2.0f, 2.0f})).ok());
  MovingAverageBaseline restored(0.8);
  restored.set_value(original.value());
  auto a = original.Advantage(torch::tensor({9.0f, -1.0f}));
  auto b = restored.Advantage(torch::tensor({9.0f, -1.0f}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(torch::allclose(*a, *b));
  EXPECT_NEAR(restored.value().item<double>(), original.value().item<double>(), kTolerance);
  restored.set_value(torch::Tensor());  // reset: the next batch's own mean is the baseline
  auto c = restored.Advantage(torch::tensor({4.0f, 6.0f}));
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR((*c)[0].item<double>(), -1.0, kTolerance);
}

TEST(LeaveOneOutAdvantageTest, SubtractsMeanOfOtherSamples) {
  torch::Tensor r = torch::tensor({1.0f, 2.0f, 6.0f}).view({3, 1});
  auto a = LeaveOneOutAdvantage(r);
  ASSERT_TRUE(a.ok());
  EXPECT_NEAR((*a)[0][0].item<double>(), 1.0 - 4.0, kTolerance);
  EXPECT_NEAR((*a)[1][0].item<double>(), 2.0 - 3.5, kTolerance);
  EXPECT_NEAR((*a)[2][0].item<double>(), 6.0 - 1.5, kTolerance);
  EXPECT_EQ(LeaveOneOutAdvantage(torch::zeros({1, 4})).status().message(),
            "LeaveOneOutAdvantage: needs rewards [S, ...] with S >= 2 samples");
}

TEST(SelfCriticalAdvantageTest, SubtractsGreedyReward) {
  auto a = SelfCriticalAdvantage(torch::tensor({1.0f, 5.0f, 2.0f, 2.0f}).view({2, 2}), torch::tensor({1.0f, 3.0f}));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(torch::allclose(*a, torch::tensor({0.0f, 2.0f, 1.0f, -1.0f}).view({2, 2})));
}

// Variance reduction, measured: a 6-armed bandit whose rewards sit around +5, so that the plain
// REINFORCE estimate (A = R) has a large variance. For each advantage we draw kBatches batches of
// kSamples actions, form the batch gradient estimate g = mean_i A_i (onehot(a_i) - p) (the exact
// score of a softmax), and compare the relative variance E|g - mean g|^2 / |mean g|^2 (scale-free,
// so batch normalization's rescaling does not count). Each baseline must cut it at least in half.
TEST(BaselinesTest, EachBaselineReducesGradientVariance) {
  constexpr int64_t kArms = 6, kSamples = 16, kBatches = 400;
  constexpr double kRequiredReduction = 0.5;
  torch::manual_seed(7);
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor logits = torch::tensor({0.2, -0.3, 0.8, 0.0, -1.0, 0.5}, opts);
  torch::Tensor p = torch::softmax(logits, 0);
  torch::Tensor arm_reward = torch::tensor({5.0, 4.0, 6.0, 5.5, 3.0, 4.5}, opts);
  torch::Tensor actions = torch::multinomial(p, kSamples * kBatches, /*replacement=*/true).view({kBatches, kSamples});
  torch::Tensor rewards = arm_reward.index({actions}) + 0.5 * torch::randn({kBatches, kSamples}, opts);
  torch::Tensor score = torch::one_hot(actions, kArms).to(torch::kDouble) - p;  // [M, S, K]
  const double greedy_reward = arm_reward[logits.argmax().item<int64_t>()].item<double>();

  auto relative_variance = [&](const torch::Tensor& adv) {  // adv [M, S]
    torch::Tensor g = (adv.unsqueeze(-1) * score).mean(1);  // [M, K]
    torch::Tensor mean = g.mean(0);
    return ((g - mean).square().sum(1).mean() / mean.square().sum()).item<double>();
  };
  const double none = relative_variance(rewards);

  std::vector<torch::Tensor> normalized, moving;
  MovingAverageBaseline baseline(0.9);
  for (int64_t m = 0; m < kBatches; ++m) {
    auto n = BatchNormalizedAdvantage(rewards[m]);
    auto a = baseline.Advantage(rewards[m]);
    ASSERT_TRUE(n.ok() && a.ok());
    normalized.push_back(*n);
    moving.push_back(*a);
  }
  auto loo = LeaveOneOutAdvantage(rewards.t());  // [S, M]
  auto sc = SelfCriticalAdvantage(rewards.t(), torch::full({kBatches}, greedy_reward, opts));
  ASSERT_TRUE(loo.ok() && sc.ok());
  const double batch_norm = relative_variance(torch::stack(normalized));
  const double moving_average = relative_variance(torch::stack(moving));
  const double leave_one_out = relative_variance(loo->t());
  const double self_critical = relative_variance(sc->t());
  RecordProperty("relvar_none", std::to_string(none));
  std::printf("relative gradient variance: none %.3f batch-norm %.3f moving-average %.3f leave-one-out %.3f "
              "self-critical %.3f\n", none, batch_norm, moving_average, leave_one_out, self_critical);
  EXPECT_LT(batch_norm, kRequiredReduction * none);
  EXPECT_LT(moving_average, kRequiredReduction * none);
  EXPECT_LT(leave_one_out, kRequiredReduction * none);
  EXPECT_LT(self_critical, kRequiredReduction * none);
}

}  // namespace
}  // namespace lightspeech::rl
