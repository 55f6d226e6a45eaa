#include "rl/monotonic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::rl {
namespace {

std::vector<int64_t> Row(const torch::Tensor& t, int64_t s, int64_t b, int64_t len) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < len; ++i) out.push_back(t[s][b][i].item<int64_t>());
  return out;
}

TEST(SampleMonotonicPathsTest, EveryPathIsMonotonicAndCoversEachTokenOnce) {
  torch::manual_seed(5);
  const int64_t S = 16, B = 3, T = 12, N = 5;
  torch::Tensor logits = torch::randn({B, T, N}) * 3;
  torch::Tensor nl = torch::tensor({5, 3, 1}, torch::kLong), tl = torch::tensor({12, 7, 4}, torch::kLong);
  auto p = SampleMonotonicPaths(logits, nl, tl, torch::rand({S, B, T}));
  ASSERT_TRUE(p.ok()) << p.status();
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = nl[b].item<int64_t>(), t_b = tl[b].item<int64_t>();
      std::vector<int64_t> d = Row(p->durations, s, b, N), tok = Row(p->token, s, b, T);
      int64_t sum = 0;
      for (int64_t i = 0; i < N; ++i) {
        if (i < n) EXPECT_GE(d[i], 1);
        else EXPECT_EQ(d[i], 0);
        sum += d[i];
      }
      EXPECT_EQ(sum, t_b);
      EXPECT_EQ(tok[0], 0);
      EXPECT_EQ(tok[t_b - 1], n - 1);
      for (int64_t t = 1; t < t_b; ++t) {
        EXPECT_TRUE(tok[t] == tok[t - 1] || tok[t] == tok[t - 1] + 1);
        EXPECT_EQ(p->prev_token[s][b][t].item<int64_t>(), tok[t - 1]);
        EXPECT_EQ(p->advanced[s][b][t].item<bool>(), tok[t] == tok[t - 1] + 1);
      }
      EXPECT_FALSE(p->free[s][b][0].item<bool>());
      for (int64_t t = t_b; t < T; ++t) EXPECT_FALSE(p->free[s][b][t].item<bool>());
    }
  }
  // One token: every decision is forced.
  EXPECT_EQ(p->free[0][2].sum().item<int64_t>(), 0);
}

TEST(SampleMonotonicPathsTest, GreedyFollowsTheSignOfTheLogits) {
  const torch::Tensor nl = torch::tensor({3}, torch::kLong), tl = torch::tensor({6}, torch::kLong);
  const torch::Tensor half = torch::full({1, 1, 6}, 0.5f);
  auto eager = SampleMonotonicPaths(torch::full({1, 6, 3}, 5.0f), nl, tl, half);  // always advance when free
  auto lazy = SampleMonotonicPaths(torch::full({1, 6, 3}, -5.0f), nl, tl, half);  // stay until forced
  ASSERT_TRUE(eager.ok() && lazy.ok());
  EXPECT_EQ(Row(eager->durations, 0, 0, 3), (std::vector<int64_t>{1, 1, 4}));
  EXPECT_EQ(Row(lazy->durations, 0, 0, 3), (std::vector<int64_t>{4, 1, 1}));
}

TEST(MonotonicLogProbTest, ProbabilitiesOfSampledPathsMatchTheirFrequencies) {
  // N = 3 tokens over T = 5 frames: 6 possible paths. The frequencies of 40000 samples must match
  // exp(sum of the decisions' log-probabilities), and those probabilities must sum to one.
  torch::manual_seed(11);
  const int64_t S = 40000, T = 5, N = 3;
  torch::Tensor logits = torch::randn({1, T, N});
  const torch::Tensor nl = torch::tensor({N}, torch::kLong), tl = torch::tensor({T}, torch::kLong);
  auto p = SampleMonotonicPaths(logits, nl, tl, torch::rand({S, 1, T}));
  ASSERT_TRUE(p.ok()) << p.status();
  auto lp = MonotonicLogProb(logits, *p);
  ASSERT_TRUE(lp.ok()) << lp.status();
  std::map<std::vector<int64_t>, std::pair<int64_t, double>> seen;  // durations -> (count, probability)
  for (int64_t s = 0; s < S; ++s) {
    auto& e = seen[Row(p->durations, s, 0, N)];
    ++e.first;
    e.second = std::exp((*lp)[s][0].sum().item<double>());
  }
  EXPECT_EQ(seen.size(), 6u);
  double total = 0;
  for (const auto& [d, e] : seen) {
    total += e.second;
    EXPECT_NEAR(static_cast<double>(e.first) / S, e.second, 0.01) << d[0] << " " << d[1] << " " << d[2];
  }
  EXPECT_NEAR(total, 1.0, 1e-5);
}

TEST(MonotonicLogProbTest, GradientReachesOnlyFreeDecisions) {
  torch::Tensor logits = torch::zeros({1, 4, 3}, torch::requires_grad());
  auto p = SampleMonotonicPaths(logits, torch::tensor({3}, torch::kLong), torch::tensor({4}, torch::kLong),
                                torch::full({1, 1, 4}, 0.25f));
  ASSERT_TRUE(p.ok());
  auto lp = MonotonicLogProb(logits, *p);
  auto h = MonotonicEntropy(logits, *p);
  ASSERT_TRUE(lp.ok() && h.ok());
  // Frames 1 and 2 are free (both advance, u = 0.25 < 0.5); frame 3 is on the last token (forced).
  EXPECT_EQ(p->free.sum().item<int64_t>(), 2);
  EXPECT_EQ(Row(p->durations, 0, 0, 3), (std::vector<int64_t>{1, 1, 2}));
  EXPECT_NEAR(lp->sum().item<double>(), 2 * std::log(0.5), 1e-6);
  EXPECT_NEAR(h->sum().item<double>(), 2 * std::log(2.0), 1e-6);
  lp->sum().backward();
  EXPECT_NEAR(logits.grad()[0][1][0].item<double>(), 0.5, 1e-6);  // d/dx log sigmoid(x) at 0
  EXPECT_NEAR(logits.grad()[0][2][1].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(logits.grad().abs().sum().item<double>(), 1.0, 1e-6);
}

TEST(SampleMonotonicPathsTest, RejectsImpossibleUtterances) {
  const torch::Tensor logits = torch::zeros({1, 4, 3}), u = torch::rand({2, 1, 4});
  EXPECT_FALSE(SampleMonotonicPaths(logits, torch::tensor({3}, torch::kLong), torch::tensor({2}, torch::kLong), u).ok());
  EXPECT_FALSE(SampleMonotonicPaths(logits, torch::tensor({0}, torch::kLong), torch::tensor({4}, torch::kLong), u).ok());
  EXPECT_FALSE(SampleMonotonicPaths(logits, torch::tensor({3}, torch::kLong), torch::tensor({5}, torch::kLong), u).ok());
  EXPECT_FALSE(SampleMonotonicPaths(logits, torch::tensor({3}, torch::kLong), torch::tensor({4}, torch::kLong),
                                    torch::rand({2, 1, 3})).ok());
}

// Brute force: every monotonic continuation from (t, n) is a choice of which of the remaining
// frames advance, so the soft value is a log-sum-exp over all of them.
double BruteSoftValue(const torch::Tensor& s, int64_t b, int64_t t, int64_t n, int64_t t_b, int64_t n_b) {
  const double here = s[b][t][n].item<double>();
  if (t == t_b - 1) return n == n_b - 1 ? here : -INFINITY;
  const double stay = BruteSoftValue(s, b, t + 1, n, t_b, n_b);
  const double advance = n + 1 < n_b ? BruteSoftValue(s, b, t + 1, n + 1, t_b, n_b) : -INFINITY;
  if (std::isinf(stay) && std::isinf(advance)) return -INFINITY;
  const double m = std::max(stay, advance);
  return here + m + std::log(std::exp(stay - m) + std::exp(advance - m));
}

TEST(SoftValueToGoTest, MatchesTheLogSumOverAllContinuations) {
  torch::manual_seed(11);
  const int64_t B = 2, T = 9, N = 4;
  torch::Tensor score = torch::randn({B, T, N}) * 2 - 1;
  torch::Tensor nl = torch::tensor({4, 3}, torch::kLong), tl = torch::tensor({9, 6}, torch::kLong);
  auto q = SoftValueToGo(score, nl, tl);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->sizes(), score.sizes());
  int64_t finite = 0;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t n = 0; n < N; ++n) {
        const double got = (*q)[b][t][n].item<double>();
        if (t >= tl[b].item<int64_t>() || n >= nl[b].item<int64_t>()) {
          EXPECT_TRUE(std::isinf(got) && got < 0) << b << " " << t << " " << n;
          continue;
        }
        const double want = BruteSoftValue(score, b, t, n, tl[b].item<int64_t>(), nl[b].item<int64_t>());
        if (std::isinf(want)) {
          EXPECT_TRUE(std::isinf(got) && got < 0) << b << " " << t << " " << n;
        } else {
          EXPECT_NEAR(got, want, 1e-4 * (1 + std::abs(want))) << b << " " << t << " " << n;
          ++finite;
        }
      }
    }
  }
  EXPECT_GT(finite, 30);
  // Frame 0 on token 0 sums over every alignment: the forward-sum's log-likelihood of the utterance.
  EXPECT_NEAR((*q)[1][0][0].item<double>(), BruteSoftValue(score, 1, 0, 0, 6, 3), 1e-4 * 20);
}

TEST(SoftValueToGoTest, AdvancingIsPreferredWhenTheScoreAheadIsBetter) {
  // Two tokens, six frames; the score favours token 1 from frame 2 on.
  torch::Tensor score = torch::full({1, 6, 2}, -5.0);
  for (int64_t t = 0; t < 6; ++t) score[0][t][t < 2 ? 0 : 1] = 0.0;
  auto q = SoftValueToGo(score, torch::tensor({2}, torch::kLong), torch::tensor({6}, torch::kLong));
  ASSERT_TRUE(q.ok()) << q.status();
  const auto gain = [&](int64_t t) { return (*q)[0][t][1].item<double>() - (*q)[0][t][0].item<double>(); };
  EXPECT_LT(gain(1), 0.0);  // frame 1 belongs to token 0
  EXPECT_GT(gain(2), 0.0);  // frame 2 onwards to token 1
  EXPECT_GT(gain(4), 0.0);
}

TEST(SoftValueToGoTest, RejectsInconsistentLengths) {
  torch::Tensor score = torch::zeros({1, 3, 4});
  EXPECT_FALSE(SoftValueToGo(score, torch::tensor({4}, torch::kLong), torch::tensor({3}, torch::kLong)).ok());  // frames < tokens
  EXPECT_FALSE(SoftValueToGo(score, torch::tensor({2, 2}, torch::kLong), torch::tensor({3, 3}, torch::kLong)).ok());
  EXPECT_FALSE(SoftValueToGo(torch::zeros({3, 4}), torch::tensor({2}, torch::kLong), torch::tensor({3}, torch::kLong)).ok());
}

TEST(FrameScoreRewardTest, GathersTheAssignedTokensScoreAtRealFrames) {
  torch::Tensor score = torch::arange(12, torch::kFloat).view({1, 4, 3});  // score[t][n] = 3 t + n
  torch::Tensor token = torch::tensor({0, 1, 1, 2}, torch::kLong).view({1, 1, 4});
  torch::Tensor mask = torch::tensor({true, true, true, false}).view({1, 4});
  auto r = FrameScoreReward(score, token, mask);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(torch::equal(*r, torch::tensor({0.0f, 4.0f, 7.0f, 0.0f}).view({1, 1, 4})));
  EXPECT_FALSE(FrameScoreReward(score, token, torch::ones({1, 3}, torch::kBool)).ok());
}

}  // namespace
}  // namespace lightspeech::rl
