#include "rl/rewards.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::rl {
namespace {

constexpr double kTolerance = 1e-5;  // float32 sums of a few dozen terms

TEST(PrototypeRewardTest, MatchesLoopOverTargetFrames) {
  torch::manual_seed(1);
  // pred shorter than the target in utterance 0 (zero-padded), longer in utterance 1 (cut).
  torch::Tensor pred = torch::randn({2, 4, 3});
  torch::Tensor pred_mask = torch::tensor({1, 1, 1, 0, 1, 1, 1, 1}, torch::kBool).view({2, 4});
  torch::Tensor target = torch::randn({2, 5, 3});
  torch::Tensor target_mask = torch::tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, torch::kBool).view({2, 5});
  auto r = PrototypeReward(pred, pred_mask, target, target_mask);
  ASSERT_TRUE(r.ok()) << r.status();
  for (int64_t b = 0; b < 2; ++b) {
    double sum = 0;
    for (int64_t t = 0; t < 5; ++t) {
      if (!target_mask[b][t].item<bool>()) continue;
      for (int64_t c = 0; c < 3; ++c) {
        const double p = (t < 4 && pred_mask[b][t].item<bool>()) ? pred[b][t][c].item<double>() : 0.0;
        const double d = p - target[b][t][c].item<double>();
        sum += 1.0 / (1.0 + d * d);
      }
    }
    EXPECT_NEAR((*r)[b].item<double>(), sum, kTolerance) << "utterance " << b;
  }
}

TEST(NegativeErrorRewardTest, MseAndL1OverRealFrames) {
  torch::Tensor target = torch::zeros({1, 3, 2});
  torch::Tensor pred = torch::tensor({1.0f, -1.0f, 2.0f, 0.0f, 100.0f, 100.0f}).view({1, 3, 2});
  torch::Tensor mask = torch::tensor({true, true, false}).view({1, 3});
  auto mse = NegativeErrorReward(pred, target, mask, ErrorKind::kMse);
  auto l1 = NegativeErrorReward(pred, target, mask, ErrorKind::kL1);
  ASSERT_TRUE(mse.ok() && l1.ok());
  EXPECT_NEAR(mse->item<double>(), -(1 + 1 + 4 + 0) / 4.0, kTolerance);
  EXPECT_NEAR(l1->item<double>(), -(1 + 1 + 2 + 0) / 4.0, kTolerance);
}

TEST(NegativeErrorRewardTest, RejectsUnmatchedLengths) {
  auto r = NegativeErrorReward(torch::zeros({1, 4, 2}), torch::zeros({1, 3, 2}), torch::ones({1, 3}, torch::kBool));
  EXPECT_EQ(r.status().message(),
            "NegativeErrorReward: length-matched reward needs pred and target of the same shape, got pred [1, 4, 2] "
            "and target [1, 3, 2]");
}

TEST(PerTokenRewardTest, CreditsEachTokenWithItsFrames) {
  // Token 0 produced frames 0-1, token 1 frames 2-4, token 2 none; frame 5 is padding.
  torch::Tensor target = torch::zeros({1, 6, 1});
  torch::Tensor pred = torch::tensor({1.0f, 3.0f, 2.0f, 2.0f, 2.0f, 50.0f}).view({1, 6, 1});
  torch::Tensor frame_to_token = torch::tensor({0, 0, 1, 1, 1, 0}, torch::kLong).view({1, 6});
  torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1, 0}, torch::kBool).view({1, 6});
  auto mean = PerTokenReward(pred, target, frame_to_token, mask, 3);
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_NEAR((*mean)[0][0].item<double>(), -(1.0 + 9.0) / 2, kTolerance);
  EXPECT_NEAR((*mean)[0][1].item<double>(), -4.0, kTolerance);
  EXPECT_EQ((*mean)[0][2].item<double>(), 0.0);
  PerTokenRewardOptions sum_options;
  sum_options.mean_over_frames = false;
  sum_options.kind = ErrorKind::kL1;
  auto sum = PerTokenReward(pred, target, frame_to_token, mask, 3, sum_options);
  ASSERT_TRUE(sum.ok());
  // Summed per-token rewards add up to minus the utterance's total error.
  EXPECT_NEAR(sum->sum().item<double>(), -(1.0 + 3.0 + 2.0 + 2.0 + 2.0), kTolerance);
}


TEST(AlignmentScoreRewardTest, SumsEachTokensFramesLikeALoop) {
  torch::manual_seed(3);
  // B = 2 utterances (4 and 3 real tokens, 7 and 5 real frames), R = 2 rollouts.
  torch::Tensor score = torch::randn({2, 7, 4});
  torch::Tensor durations = torch::tensor({2, 1, 3, 1, /**/ 1, 3, 1, 0, /**/ 1, 1, 1, 4, /**/ 2, 0, 3, 0}, torch::kLong)
                                .view({2, 2, 4});
  auto r = AlignmentScoreReward(score, durations);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->sizes(), durations.sizes());
  for (int64_t k = 0; k < 2; ++k) {
    for (int64_t b = 0; b < 2; ++b) {
      int64_t t = 0;
      for (int64_t n = 0; n < 4; ++n) {
        double sum = 0;
        for (int64_t i = 0; i < durations[k][b][n].item<int64_t>(); ++i, ++t) sum += score[b][t][n].item<double>();
        EXPECT_NEAR((*r)[k][b][n].item<double>(), sum, kTolerance) << "rollout " << k << " utterance " << b << " token " << n;
      }
    }
  }
  // The per-token rewards add up to the path's total score.
  const double path = score[0][0][0].item<double>() + score[0][1][0].item<double>() + score[0][2][1].item<double>() +
                      score[0][3][2].item<double>() + score[0][4][2].item<double>() + score[0][5][2].item<double>() +
                      score[0][6][3].item<double>();
  EXPECT_NEAR((*r)[0][0].sum().item<double>(), path, kTolerance);
}

TEST(AlignmentScoreRewardTest, RejectsBadShapesAndDurations) {
  torch::Tensor score = torch::zeros({1, 3, 2});
  EXPECT_FALSE(AlignmentScoreReward(score, torch::ones({1, 1, 3}, torch::kLong)).ok());  // N mismatch
  EXPECT_FALSE(AlignmentScoreReward(score, torch::ones({1, 1, 2}, torch::kFloat)).ok());  // not integer
  EXPECT_FALSE(AlignmentScoreReward(score, torch::tensor({3, 1}, torch::kLong).view({1, 1, 2})).ok());  // > T
  EXPECT_FALSE(AlignmentScoreReward(score, torch::tensor({-1, 1}, torch::kLong).view({1, 1, 2})).ok());
  EXPECT_FALSE(AlignmentScoreReward(torch::zeros({3, 2}), torch::ones({1, 1, 2}, torch::kLong)).ok());
}

TEST(RewardToGoTest, DiscountedSumsOverLaterRealTokens) {
  torch::Tensor r = torch::tensor({1.0f, 2.0f, 4.0f, 8.0f, /**/ 1.0f, 1.0f, 100.0f, 100.0f}).view({1, 2, 4});
  torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0}, torch::kBool).view({2, 4});
  for (double gamma : {0.0, 0.5, 1.0}) {
    auto g = RewardToGo(r, mask, gamma);
    ASSERT_TRUE(g.ok()) << g.status();
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t n = 0; n < 4; ++n) {
        double want = 0;
        if (mask[b][n].item<bool>()) {
          for (int64_t k = n; k < 4; ++k) {
            if (mask[b][k].item<bool>()) want += std::pow(gamma, k - n) * r[0][b][k].item<double>();
          }
        }
        EXPECT_NEAR((*g)[0][b][n].item<double>(), want, kTolerance) << "gamma " << gamma << " b " << b << " n " << n;
      }
    }
  }
  EXPECT_FALSE(RewardToGo(r, mask, 1.5).ok());
  EXPECT_FALSE(RewardToGo(r, torch::ones({2, 3}, torch::kBool), 0.5).ok());
}

}  // namespace
}  // namespace lightspeech::rl
