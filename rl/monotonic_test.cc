#include "rl/monotonic.h"

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

TEST(MostLikelyMonotonicPathsTest, TakesAnUnlikelyDecisionWhenLaterOnesPayForIt) {
  // 3 tokens, 5 frames. Greedy advances at frame 1 (p = 0.55), then stays at frame 2 (logit -0.01)
  // and advances at frame 3: log p = log s(0.2) + log s(0.01) + log s(6) = -1.289. Staying at
  // frame 1 and advancing at frames 2 and 3 scores log s(-0.2) + 2 log s(6) = -0.803: the most
  // likely path.
  torch::Tensor logits = torch::zeros({1, 5, 3});
  logits[0][1][0] = 0.2;
  logits[0][2][0] = 6.0;
  logits[0][2][1] = -0.01;
  logits[0][3][1] = 6.0;
  const torch::Tensor nl = torch::tensor({3}, torch::kLong), tl = torch::tensor({5}, torch::kLong);
  auto greedy = SampleMonotonicPaths(logits, nl, tl, torch::full({1, 1, 5}, 0.5f));
  auto best = MostLikelyMonotonicPaths(logits, nl, tl);
  ASSERT_TRUE(greedy.ok() && best.ok()) << best.status();
  EXPECT_EQ(Row(greedy->durations, 0, 0, 3), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(Row(best->durations, 0, 0, 3), (std::vector<int64_t>{2, 1, 2}));
  auto lp_greedy = MonotonicLogProb(logits, *greedy), lp_best = MonotonicLogProb(logits, *best);
  ASSERT_TRUE(lp_greedy.ok() && lp_best.ok());
  auto ls = [](double x) { return -std::log1p(std::exp(-x)); };
  EXPECT_NEAR(lp_greedy->sum().item<double>(), ls(0.2) + ls(0.01) + ls(6.0), 1e-5);
  EXPECT_NEAR(lp_best->sum().item<double>(), ls(-0.2) + 2 * ls(6.0), 1e-5);
}

TEST(MostLikelyMonotonicPathsTest, NoSampledPathIsLikelier) {
  // Small utterances have few paths (C(T - 1, N - 1)); 3000 samples visit all of them, so the most
  // likely path's log-probability must equal the best sampled one.
  torch::manual_seed(11);
  const int64_t S = 3000, B = 3, T = 8, N = 4;
  torch::Tensor logits = torch::randn({B, T, N}) * 1.5;
  torch::Tensor nl = torch::tensor({4, 3, 1}, torch::kLong), tl = torch::tensor({8, 6, 3}, torch::kLong);
  auto best = MostLikelyMonotonicPaths(logits, nl, tl);
  auto sampled = SampleMonotonicPaths(logits, nl, tl, torch::rand({S, B, T}));
  ASSERT_TRUE(best.ok() && sampled.ok()) << best.status();
  auto lp_best = MonotonicLogProb(logits, *best);
  auto lp_sampled = MonotonicLogProb(logits, *sampled);
  ASSERT_TRUE(lp_best.ok() && lp_sampled.ok());
  const torch::Tensor per_path = lp_sampled->sum(2);  // [S, B]
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_NEAR(lp_best->sum(2)[0][b].item<double>(), per_path.select(1, b).max().item<double>(), 1e-4) << b;
    EXPECT_EQ(best->durations[0][b].sum().item<int64_t>(), tl[b].item<int64_t>());
  }
  EXPECT_EQ(MostLikelyMonotonicPaths(logits, torch::tensor({5, 3, 1}, torch::kLong), tl).status().code(),
            absl::StatusCode::kInvalidArgument);
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
