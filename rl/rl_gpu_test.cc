// CUDA checks of rl/: policies, rewards, baselines and the loss on the GPU. Skips without CUDA.
#include "gtest/gtest.h"
#include "rl/baselines.h"
#include "rl/categorical.h"
#include "rl/reinforce.h"
#include "rl/rewards.h"

namespace lightspeech::rl {
namespace {

constexpr double kDeviceTolerance = 1e-5;

TEST(RlGpuTest, PipelineRunsOnCudaAndMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(1);
  torch::Tensor logits = torch::randn({2, 3, 5}).to(cuda).requires_grad_(true);
  torch::Tensor mask = torch::tensor({1, 1, 1, 1, 0, 0}, torch::kBool).view({2, 3}).to(cuda);
  auto policy = CategoricalPolicy::Create(logits, mask);
  ASSERT_TRUE(policy.ok()) << policy.status();
  SampledActions s = policy->Sample(4);
  ASSERT_TRUE(s.durations.is_cuda());
  auto cpu_policy = CategoricalPolicy::Create(logits.detach().cpu(), mask.cpu());
  auto cpu_lp = cpu_policy->LogProb(s.durations.cpu());
  ASSERT_TRUE(cpu_lp.ok());
  EXPECT_TRUE(torch::allclose(s.log_prob.detach().cpu(), *cpu_lp, kDeviceTolerance, kDeviceTolerance));

  torch::Tensor pred = torch::randn({2, 6, 4}, torch::TensorOptions().device(cuda));
  torch::Tensor target = torch::randn({2, 6, 4}, torch::TensorOptions().device(cuda));
  torch::Tensor frame_mask = torch::ones({2, 6}, torch::TensorOptions().dtype(torch::kBool).device(cuda));
  torch::Tensor f2t = torch::tensor({0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1}, torch::kLong).view({2, 6}).to(cuda);
  auto token_reward = PerTokenReward(pred, target, f2t, frame_mask, 3);
  ASSERT_TRUE(token_reward.ok());
  auto adv = LeaveOneOutAdvantage(token_reward->unsqueeze(0).expand({4, 2, 3}) + torch::randn({4, 2, 3}, pred.options()));
  ASSERT_TRUE(adv.ok());
  auto loss = ReinforceLoss(s.log_prob, *adv, mask, policy->Entropy());
  ASSERT_TRUE(loss.ok()) << loss.status();
  loss->loss.backward();
  EXPECT_TRUE(logits.grad().is_cuda());
  auto normalized = BatchNormalizedAdvantage(token_reward->sum(1));
  ASSERT_TRUE(normalized.ok());
  EXPECT_TRUE(normalized->is_cuda());
}

}  // namespace
}  // namespace lightspeech::rl
