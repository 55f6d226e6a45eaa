#include "rl/reinforce.h"

#include <cstdio>

#include "gtest/gtest.h"
#include "rl/baselines.h"
#include "rl/categorical.h"

namespace lightspeech::rl {
namespace {

constexpr double kTolerance = 1e-5;

TEST(ReinforceLossTest, MaskedPerTokenAndPerSequence) {
  torch::Tensor log_prob = torch::tensor({-1.0f, -2.0f, -3.0f, -0.5f}).view({2, 2});  // [B, N]
  torch::Tensor mask = torch::tensor({true, true, true, false}).view({2, 2});
  torch::Tensor per_token = torch::tensor({1.0f, 2.0f, -1.0f, 100.0f}).view({2, 2});
  auto t = ReinforceLoss(log_prob, per_token, mask);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_NEAR(t->loss.item<double>(), -(-1.0 - 4.0 + 3.0) / 3.0, kTolerance);
  ReinforceOptions per_seq;
  per_seq.normalization = ReinforceOptions::Normalization::kPerSequence;
  auto s = ReinforceLoss(log_prob, torch::tensor({2.0f, -1.0f}), mask, {}, per_seq);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->loss.item<double>(), -(2.0 * -3.0 + -1.0 * -3.0) / 2.0, kTolerance);
}

TEST(ReinforceLossTest, AdvantagesAreDetachedAndEntropyBonusRaisesEntropy) {
  torch::manual_seed(1);
  torch::Tensor logits = torch::randn({2, 3, 5}).requires_grad_(true);
  torch::Tensor mask = torch::ones({2, 3}, torch::kBool);
  auto policy = CategoricalPolicy::Create(logits, mask);
  ASSERT_TRUE(policy.ok());
  SampledActions s = policy->Sample(2);
  torch::Tensor adv = torch::zeros({2, 2}).requires_grad_(true);
  ReinforceOptions o;
  o.entropy_coef = 1.0;
  auto t = ReinforceLoss(s.log_prob, adv, mask, policy->Entropy(), o);
  ASSERT_TRUE(t.ok()) << t.status();
  t->loss.backward();
  EXPECT_FALSE(adv.grad().defined());
  // With zero advantages only the entropy bonus acts: a gradient step must raise the entropy.
  torch::Tensor stepped = logits.detach() - 0.1 * logits.grad();
  auto after = CategoricalPolicy::Create(stepped, mask);
  EXPECT_GT(after->Entropy().sum().item<double>(), policy->Entropy().sum().item<double>());
}

TEST(ReinforceLossTest, RejectsBadShapes) {
  auto t = ReinforceLoss(torch::zeros({2, 3}), torch::zeros({3}), torch::ones({2, 3}, torch::kBool));
  EXPECT_EQ(t.status().message(), "ReinforceLoss: advantages [3] match neither log_prob [2, 3] nor its shape without N");
}

// A contextual bandit: each token id c in 0..7 has a right duration d*(c) = 1 + (5c + 2) mod 12
// (K = 12). A table of logits per id is the policy; batches of 16 utterances x 10 tokens, 4 samples
// each, per-token reward -|d - d*|, leave-one-out advantages, entropy bonus 0.01, Adam (lr 0.1).
// Within kSteps steps the greedy duration must be right for > 95% of tokens of a held-out batch.
TEST(ReinforceLossTest, ContextualBanditReachesAccuracy) {
  constexpr int64_t kIds = 8, kDurations = 12, kBatch = 16, kTokens = 10, kSamples = 4, kSteps = 150;
  constexpr double kRequiredAccuracy = 0.95;
  torch::manual_seed(11);
  torch::Tensor table = torch::zeros({kIds, kDurations}, torch::requires_grad());
  torch::optim::Adam optimizer({table}, torch::optim::AdamOptions(0.1));
  torch::Tensor right = 1 + (5 * torch::arange(kIds) + 2).remainder(kDurations);  // [ids]
  auto make_batch = [&](torch::Tensor* ids, torch::Tensor* mask) {
    *ids = torch::randint(kIds, {kBatch, kTokens});
    torch::Tensor lengths = torch::randint(3, kTokens + 1, {kBatch});
    *mask = torch::arange(kTokens).unsqueeze(0) < lengths.unsqueeze(1);
  };
  ReinforceOptions o;
  o.entropy_coef = 0.01;
  double accuracy = 0.0;
  int64_t steps_taken = 0;
  for (int64_t step = 0; step < kSteps; ++step) {
    torch::Tensor ids, mask;
    make_batch(&ids, &mask);
    auto policy = CategoricalPolicy::Create(table.index({ids}), mask);
    ASSERT_TRUE(policy.ok());
    SampledActions s = policy->Sample(kSamples);
    torch::Tensor reward = -(s.durations - right.index({ids}).unsqueeze(0)).abs().to(torch::kFloat);
    auto adv = LeaveOneOutAdvantage(reward);
    ASSERT_TRUE(adv.ok());
    auto loss = ReinforceLoss(s.log_prob, *adv, mask, policy->Entropy(), o);
    ASSERT_TRUE(loss.ok()) << loss.status();
    optimizer.zero_grad();
    loss->loss.backward();
    optimizer.step();
    steps_taken = step + 1;
    if (step % 10 == 9) {
      torch::NoGradGuard no_grad;
      torch::Tensor eval_ids, eval_mask;
      make_batch(&eval_ids, &eval_mask);
      auto greedy = CategoricalPolicy::Create(table.index({eval_ids}), eval_mask)->Greedy();
      torch::Tensor hit = (greedy == right.index({eval_ids})) & eval_mask;
      accuracy = hit.sum().item<double>() / eval_mask.sum().item<double>();
      if (accuracy > kRequiredAccuracy) break;
    }
  }
  std::printf("bandit: greedy accuracy %.3f after %lld steps\n", accuracy, static_cast<long long>(steps_taken));
  EXPECT_GT(accuracy, kRequiredAccuracy);
}

}  // namespace
}  // namespace lightspeech::rl
