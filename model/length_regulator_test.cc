#include "model/length_regulator.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::model {
namespace {

// The obvious per-token loop the vectorized regulator must agree with.
std::vector<std::vector<int64_t>> NaiveFrameToToken(const torch::Tensor& d, const torch::Tensor& mask) {
  std::vector<std::vector<int64_t>> out(d.size(0));
  for (int64_t b = 0; b < d.size(0); ++b) {
    for (int64_t n = 0; n < d.size(1); ++n) {
      if (!mask[b][n].item<bool>()) continue;
      for (int64_t k = 0; k < d[b][n].item<int64_t>(); ++k) out[b].push_back(n);
    }
  }
  return out;
}

TEST(LengthRegulatorTest, MatchesNaiveLoopOnRandomBatches) {
  torch::manual_seed(1);
  for (int trial = 0; trial < 5; ++trial) {
    const int64_t b = 3, n = 7, c = 4;
    torch::Tensor enc = torch::randn({b, n, c});
    torch::Tensor d = torch::randint(0, 5, {b, n}, torch::kLong);
    torch::Tensor lengths = torch::randint(1, n + 1, {b});
    torch::Tensor mask = torch::arange(n).unsqueeze(0) < lengths.unsqueeze(1);
    auto e = RegulateLength(enc, d, mask);
    ASSERT_TRUE(e.ok()) << e.status();
    auto naive = NaiveFrameToToken(d, mask);
    size_t longest = 0;
    for (const auto& v : naive) longest = std::max(longest, v.size());
    ASSERT_EQ(e->frames.size(1), std::max<int64_t>(longest, 1));
    for (int64_t i = 0; i < b; ++i) {
      ASSERT_EQ(e->lengths[i].item<int64_t>(), static_cast<int64_t>(naive[i].size()));
      for (int64_t t = 0; t < e->frames.size(1); ++t) {
        const bool real = t < static_cast<int64_t>(naive[i].size());
        ASSERT_EQ(e->frame_mask[i][t].item<bool>(), real);
        if (real) {
          ASSERT_EQ(e->frame_to_token[i][t].item<int64_t>(), naive[i][t]);
          ASSERT_TRUE(torch::equal(e->frames[i][t], enc[i][naive[i][t]]));
        } else {
          ASSERT_EQ(e->frames[i][t].abs().sum().item<float>(), 0.0f);
        }
      }
    }
  }
}

TEST(LengthRegulatorTest, GradientReachesEncodingsOfUsedTokens) {
  torch::Tensor enc = torch::randn({1, 3, 2}).requires_grad_(true);
  torch::Tensor d = torch::tensor({2, 0, 3}, torch::kLong).view({1, 3});
  auto e = RegulateLength(enc, d, torch::ones({1, 3}, torch::kBool));
  ASSERT_TRUE(e.ok());
  e->frames.sum().backward();
  EXPECT_TRUE(torch::equal(enc.grad()[0].select(1, 0), torch::tensor({2.0f, 0.0f, 3.0f})));
}

TEST(LengthRegulatorTest, FitsTargetLengthExactly) {
  torch::Tensor d = torch::tensor({3, 1, 2, 0, 5, 5, 5, 5}, torch::kLong).view({2, 4});
  torch::Tensor mask = torch::tensor({1, 1, 1, 0, 1, 1, 1, 1}, torch::kBool).view({2, 4});
  torch::Tensor target = torch::tensor({12, 7}, torch::kLong);
  auto fitted = FitDurations(d, mask, target);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  EXPECT_TRUE(torch::equal(fitted->sum(1), target));
  EXPECT_TRUE(torch::equal(fitted->select(0, 0), torch::tensor({6, 2, 4, 0}, torch::kLong)));
  EXPECT_EQ(fitted->select(0, 1).min().item<int64_t>(), 1);
  auto e = RegulateLength(torch::randn({2, 4, 3}), d, mask, {}, target);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(torch::equal(e->lengths, target));
  EXPECT_EQ(e->frames.size(1), 12);
}

TEST(LengthRegulatorTest, SpeedFactorAndMaxFrames) {
  torch::Tensor d = torch::tensor({4, 1, 6}, torch::kLong).view({1, 3});
  torch::Tensor mask = torch::ones({1, 3}, torch::kBool);
  LengthRegulatorOptions fast;
  fast.speed = 2.0;
  auto e = RegulateLength(torch::randn({1, 3, 2}), d, mask, fast);
  ASSERT_TRUE(e.ok());
  // round(4/2)=2, round(0.5)=0 -> kept at 1 frame, round(6/2)=3.
  EXPECT_TRUE(torch::equal(e->durations, torch::tensor({2, 1, 3}, torch::kLong).view({1, 3})));
  auto cut = RegulateLength(torch::randn({1, 3, 2}), d, mask, {}, {}, /*max_frames=*/5);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->frames.size(1), 5);
  EXPECT_EQ(cut->lengths.item<int64_t>(), 5);
}

TEST(LengthRegulatorTest, RejectsBadInput) {
  auto e = RegulateLength(torch::zeros({1, 3, 2}), torch::zeros({1, 3}, torch::kLong), torch::ones({1, 4}, torch::kBool));
  EXPECT_EQ(e.status().message(), "token_mask [1, 4] must match durations [1, 3]");
  auto neg = RegulateLength(torch::zeros({1, 2, 2}), torch::tensor({1, -1}, torch::kLong).view({1, 2}),
                            torch::ones({1, 2}, torch::kBool));
  EXPECT_EQ(neg.status().message(), "RegulateLength: durations must be >= 0");
}

}  // namespace
}  // namespace lightspeech::model
