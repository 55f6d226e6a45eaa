#include "rl/categorical.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::rl {
namespace {

constexpr double kExactTolerance = 1e-6;       // float32 round-off on log-softmax values
constexpr double kFiniteDiffTolerance = 1e-6;  // float64 central differences with step 1e-6
constexpr double kFrequencyTolerance = 0.015;  // ~4 standard errors of a frequency from 20000 draws

TEST(CategoricalPolicyTest, LogProbIsOfTheSampledActions) {
  torch::manual_seed(1);
  torch::Tensor logits = torch::randn({2, 3, 5});
  torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1, 0}, torch::kBool).view({2, 3});
  auto policy = CategoricalPolicy::Create(logits, mask);
  ASSERT_TRUE(policy.ok()) << policy.status();
  SampledActions s = policy->Sample(/*num_samples=*/4);
  ASSERT_EQ(s.durations.sizes(), (std::vector<int64_t>{4, 2, 3}));
  torch::Tensor reference = torch::log_softmax(logits, -1);
  for (int64_t k = 0; k < 4; ++k) {
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t n = 0; n < 3; ++n) {
        const int64_t d = s.durations[k][b][n].item<int64_t>();
        if (!mask[b][n].item<bool>()) {
          EXPECT_EQ(d, 0);
          EXPECT_EQ(s.log_prob[k][b][n].item<float>(), 0.0f);
          continue;
        }
        ASSERT_GE(d, 1);
        ASSERT_LE(d, 5);
        EXPECT_NEAR(s.log_prob[k][b][n].item<float>(), reference[b][n][d - 1].item<float>(), kExactTolerance);
      }
    }
  }
}

// The prototype's bug: it reinforced log pi of an independent second sample. The gradient of
// log pi(a) w.r.t. the logits is onehot(a) - p, so it must follow the actions actually returned.
TEST(CategoricalPolicyTest, LogProbGradientFollowsSampledActions) {
  torch::manual_seed(2);
  torch::Tensor logits = torch::randn({1, 4, 6}).requires_grad_(true);
  auto policy = CategoricalPolicy::Create(logits, torch::ones({1, 4}, torch::kBool));
  ASSERT_TRUE(policy.ok());
  SampledActions s = policy->Sample();
  s.log_prob.sum().backward();
  torch::Tensor onehot = torch::one_hot(s.durations[0] - 1, 6).to(torch::kFloat);
  torch::Tensor expected = onehot - torch::softmax(logits.detach(), -1);
  EXPECT_TRUE(torch::allclose(logits.grad(), expected, 1e-5, 1e-6));
}

// Central finite differences in float64 of a weighted sum of LogProb, Entropy and Expected.
TEST(CategoricalPolicyTest, GradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor logits = torch::randn({2, 3, 4}, opts);
  torch::Tensor mask = torch::tensor({1, 1, 0, 1, 1, 1}, torch::kBool).view({2, 3});
  torch::Tensor durations = torch::tensor({2, 4, 0, 1, 3, 3}, torch::kLong).view({2, 3});
  torch::Tensor w1 = torch::randn({2, 3}, opts), w2 = torch::randn({2, 3}, opts), w3 = torch::randn({2, 3}, opts);
  CategoricalOptions options;
  options.temperature = 0.7;
  auto f = [&](const torch::Tensor& x) {
    auto p = CategoricalPolicy::Create(x, mask, options);
    EXPECT_TRUE(p.ok());
    auto lp = p->LogProb(durations);
    EXPECT_TRUE(lp.ok()) << lp.status();
    return (w1 * *lp).sum() + (w2 * p->Entropy()).sum() + (w3 * p->Expected()).sum();
  };
  torch::Tensor x = logits.clone().requires_grad_(true);
  f(x).backward();
  torch::Tensor grad = x.grad();
  constexpr double kStep = 1e-6;
  torch::Tensor flat = logits.view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    torch::Tensor plus = logits.clone(), minus = logits.clone();
    plus.view(-1)[i] += kStep;
    minus.view(-1)[i] -= kStep;
    const double fd = (f(plus).item<double>() - f(minus).item<double>()) / (2 * kStep);
    EXPECT_NEAR(grad.view(-1)[i].item<double>(), fd, kFiniteDiffTolerance) << "logit " << i;
  }
}

TEST(CategoricalPolicyTest, SampleFrequenciesMatchProbabilities) {
  torch::manual_seed(4);
  torch::Tensor logits = torch::tensor({0.5f, -1.0f, 2.0f, 0.0f}).view({1, 1, 4});
  auto policy = CategoricalPolicy::Create(logits, torch::ones({1, 1}, torch::kBool));
  ASSERT_TRUE(policy.ok());
  constexpr int64_t kDraws = 20000;
  torch::Tensor d = policy->Sample(kDraws).durations.view(-1);
  torch::Tensor p = torch::softmax(logits.view(-1), 0);
  for (int64_t k = 0; k < 4; ++k) {
    const double freq = (d == k + 1).to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(freq, p[k].item<double>(), kFrequencyTolerance) << "duration " << k + 1;
  }
}

// REINFORCE with the policy's own log-probabilities is unbiased: on 2 tokens x 3 durations the exact
// gradient of E[r] (by enumerating the 9 joint actions) matches the Monte-Carlo estimate from 40000
// samples. The per-sample gradient has std < 3 per component, so 4 standard errors < 0.06.
// The prototype's estimator (log-prob of an independent second sample) is far off: its mean is 0.
TEST(CategoricalPolicyTest, ReinforceIsUnbiasedAndPrototypeEstimatorIsNot) {
  constexpr double kUnbiasedTolerance = 0.06;
  constexpr int64_t kSamples = 40000;
  torch::manual_seed(5);
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor logits = torch::tensor({0.3, -0.2, 0.5, 0.0, 0.4, -0.6}, opts).view({1, 2, 3});
  torch::Tensor mask = torch::ones({1, 2}, torch::kBool);
  // r(d1, d2) = -(d1 - 3)^2 - (d2 - 1)^2 + 0.5 * d1 * d2
  auto reward = [](const torch::Tensor& d1, const torch::Tensor& d2) {
    return -(d1 - 3).square() - (d2 - 1).square() + 0.5 * d1 * d2;
  };
  // Exact: sum over joint actions p(a) r(a).
  torch::Tensor x = logits.clone().requires_grad_(true);
  torch::Tensor p = torch::softmax(x, -1)[0];  // [2, 3]
  torch::Tensor values = torch::arange(1, 4, opts);
  torch::Tensor r_table = reward(values.view({3, 1}), values.view({1, 3}));  // [3, 3]
  (p[0].view({3, 1}) * p[1].view({1, 3}) * r_table).sum().backward();
  torch::Tensor exact = x.grad().clone();

  torch::Tensor y = logits.clone().requires_grad_(true);
  auto policy = CategoricalPolicy::Create(y, mask);
  ASSERT_TRUE(policy.ok());
  SampledActions s = policy->Sample(kSamples);  // [S, 1, 2]
  torch::Tensor d = s.durations.to(torch::kDouble);
  torch::Tensor r = reward(d.select(2, 0), d.select(2, 1));  // [S, 1]
  (r.detach() * s.log_prob.sum(-1)).mean().backward();
  torch::Tensor estimate = y.grad().clone();
  EXPECT_LT((estimate - exact).abs().max().item<double>(), kUnbiasedTolerance)
      << "exact " << exact << " estimate " << estimate;

  torch::Tensor z = logits.clone().requires_grad_(true);
  auto policy2 = CategoricalPolicy::Create(z, mask);
  ASSERT_TRUE(policy2.ok());
  SampledActions used = policy2->Sample(kSamples);
  SampledActions second = policy2->Sample(kSamples);  // the prototype's independent re-sample
  torch::Tensor du = used.durations.to(torch::kDouble);
  torch::Tensor ru = reward(du.select(2, 0), du.select(2, 1));
  (ru.detach() * second.log_prob.sum(-1)).mean().backward();
  EXPECT_GT((z.grad() - exact).abs().max().item<double>(), 5 * kUnbiasedTolerance);
  EXPECT_GT(exact.abs().max().item<double>(), 5 * kUnbiasedTolerance);
}

TEST(CategoricalPolicyTest, TemperatureGreedyExpectedAndMask) {
  torch::Tensor logits = torch::tensor({1.0f, 3.0f, 2.0f, 0.0f, 0.0f, 5.0f}).view({1, 2, 3});
  torch::Tensor mask = torch::tensor({true, false}).view({1, 2});
  std::vector<float> entropies;
  for (double t : {0.5, 1.0, 2.0}) {
    CategoricalOptions o;
    o.temperature = t;
    auto p = CategoricalPolicy::Create(logits, mask, o);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->Greedy()[0][0].item<int64_t>(), 2);
    EXPECT_EQ(p->Greedy()[0][1].item<int64_t>(), 0);
    EXPECT_EQ(p->Entropy()[0][1].item<float>(), 0.0f);
    EXPECT_EQ(p->Expected()[0][1].item<float>(), 0.0f);
    entropies.push_back(p->Entropy()[0][0].item<float>());
  }
  EXPECT_LT(entropies[0], entropies[1]);
  EXPECT_LT(entropies[1], entropies[2]);
  auto p = CategoricalPolicy::Create(logits, mask);
  torch::Tensor prob = torch::softmax(logits[0][0], 0);
  const double expected = (prob * torch::arange(1, 4)).sum().item<double>();
  EXPECT_NEAR(p->Expected()[0][0].item<double>(), expected, kExactTolerance);
}

TEST(CategoricalPolicyTest, RejectsBadInput) {
  torch::Tensor logits = torch::zeros({2, 3, 4});
  auto bad_mask = CategoricalPolicy::Create(logits, torch::ones({2, 4}, torch::kBool));
  EXPECT_EQ(bad_mask.status().message(), "CategoricalPolicy: mask must be [B, N] matching logits [B, N, K]");
  CategoricalOptions o;
  o.temperature = 0.0;
  EXPECT_EQ(CategoricalPolicy::Create(logits, torch::ones({2, 3}, torch::kBool), o).status().message(),
            "CategoricalOptions.temperature must be > 0, got 0");
  auto p = CategoricalPolicy::Create(logits, torch::ones({2, 3}, torch::kBool));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->LogProb(torch::full({2, 3}, 5, torch::kLong)).status().message(),
            "CategoricalPolicy::LogProb: a duration at a real token is outside 1..4");
}

}  // namespace
}  // namespace lightspeech::rl
