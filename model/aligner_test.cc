#include "model/aligner.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::model {
namespace {

constexpr double kPriorSumTolerance = 1e-4;  // float32 exp-sum of a pmf over <= 10 tokens

// Best monotonic path by enumerating every split of T frames into N positive durations.
std::vector<int64_t> BruteForceDurations(const torch::Tensor& lp, int64_t t_len, int64_t n_len) {
  std::vector<int64_t> best, current;
  double best_score = -std::numeric_limits<double>::infinity();
  std::function<void(int64_t, int64_t, double)> rec = [&](int64_t n, int64_t t, double score) {
    if (n == n_len) {
      if (t == t_len && score > best_score) {
        best_score = score;
        best = current;
      }
      return;
    }
    const int64_t remaining_tokens = n_len - n - 1;
    for (int64_t d = 1; t + d + remaining_tokens <= t_len; ++d) {
      double s = score;
      for (int64_t k = t; k < t + d; ++k) s += lp[k][n].item<double>();
      current.push_back(d);
      rec(n + 1, t + d, s);
      current.pop_back();
    }
  };
  rec(0, 0, 0.0);
  return best;
}

TEST(MonotonicAlignmentSearchTest, MatchesBruteForceOnTinyInputs) {
  torch::manual_seed(1);
  const std::vector<int64_t> text = {1, 2, 3, 4, 3}, mel = {3, 5, 7, 7, 4};
  const int64_t b = text.size(), t_max = 7, n_max = 4;
  torch::Tensor lp = torch::log_softmax(torch::randn({b, t_max, n_max}) * 2, -1);
  torch::Tensor tl = torch::tensor(text, torch::kLong), ml = torch::tensor(mel, torch::kLong);
  for (MasBackend backend : {MasBackend::kHost, MasBackend::kTensorOps}) {
    auto d = MonotonicAlignmentSearch(lp, tl, ml, backend);
    ASSERT_TRUE(d.ok()) << d.status();
    for (int64_t i = 0; i < b; ++i) {
      std::vector<int64_t> expected = BruteForceDurations(lp[i], mel[i], text[i]);
      expected.resize(n_max, 0);
      std::vector<int64_t> got(d->select(0, i).data_ptr<int64_t>(), d->select(0, i).data_ptr<int64_t>() + n_max);
      EXPECT_EQ(got, expected) << "utterance " << i << " backend " << static_cast<int>(backend);
    }
  }
}

TEST(MonotonicAlignmentSearchTest, BackendsAgreeOnLargerBatch) {
  torch::manual_seed(2);
  torch::Tensor tl = torch::randint(1, 20, {6}, torch::kLong);
  torch::Tensor ml = tl + torch::randint(0, 40, {6}, torch::kLong);
  torch::Tensor lp = torch::log_softmax(torch::randn({6, ml.max().item<int64_t>(), 20}), -1);
  auto host = MonotonicAlignmentSearch(lp, tl, ml, MasBackend::kHost);
  auto ops = MonotonicAlignmentSearch(lp, tl, ml, MasBackend::kTensorOps);
  ASSERT_TRUE(host.ok() && ops.ok());
  EXPECT_TRUE(torch::equal(*host, *ops));
  EXPECT_TRUE(torch::equal(host->sum(1), ml));
  EXPECT_TRUE(torch::equal((*host > 0).sum(1), tl));
}

TEST(MonotonicAlignmentSearchTest, RejectsMoreTokensThanFrames) {
  auto d = MonotonicAlignmentSearch(torch::zeros({1, 3, 4}), torch::tensor({4}, torch::kLong), torch::tensor({3}, torch::kLong));
  EXPECT_EQ(d.status().message(),
            "MonotonicAlignmentSearch: every utterance needs 1 <= tokens <= frames within the tensor's T and N");
}

TEST(BetaBinomialPriorTest, EachRealFrameIsADistributionOverRealTokens) {
  torch::Tensor prior = LogBetaBinomialPrior(torch::tensor({3, 10}, torch::kLong), torch::tensor({8, 30}, torch::kLong), 10,
                                             30, 1.0, torch::TensorOptions().dtype(torch::kFloat));
  ASSERT_EQ(prior.sizes(), (std::vector<int64_t>{2, 30, 10}));
  torch::Tensor sums = prior.exp().sum(-1);  // padded tokens are -inf -> 0
  EXPECT_LT((sums[0].narrow(0, 0, 8) - 1).abs().max().item<double>(), kPriorSumTolerance);
  EXPECT_LT((sums[1] - 1).abs().max().item<double>(), kPriorSumTolerance);
  // The prior's mode moves along the diagonal: first token at the first frame, last at the last.
  EXPECT_EQ(prior[1][0].argmax().item<int64_t>(), 0);
  EXPECT_EQ(prior[1][29].argmax().item<int64_t>(), 9);
}

// Toy data: each token id has a fixed random "spectrum"; an utterance's mel repeats each token's
// spectrum for its duration, plus noise. The aligner must learn to map frames to tokens.
TEST(AlignerTest, ForwardSumLossIsFiniteAndDecreases) {
  constexpr int64_t kVocab = 6, kMels = 12, kBatch = 8, kTokens = 6, kSteps = 60;
  constexpr double kRequiredDrop = 0.2;  // final loss below (1 - 0.2) x initial loss
  torch::manual_seed(3);
  torch::Tensor spectra = torch::randn({kVocab, kMels}) * 2;
  torch::Tensor tokens = torch::randint(kVocab, {kBatch, kTokens});
  torch::Tensor text_lengths = torch::randint(3, kTokens + 1, {kBatch}, torch::kLong);
  torch::Tensor mask = torch::arange(kTokens).unsqueeze(0) < text_lengths.unsqueeze(1);
  torch::Tensor durations = torch::randint(2, 6, {kBatch, kTokens}, torch::kLong) * mask;
  torch::Tensor mel_lengths = durations.sum(1);
  const int64_t t_max = mel_lengths.max().item<int64_t>();
  torch::Tensor mel = torch::zeros({kBatch, t_max, kMels});
  for (int64_t b = 0; b < kBatch; ++b) {
    int64_t t = 0;
    for (int64_t n = 0; n < text_lengths[b].item<int64_t>(); ++n) {
      for (int64_t k = 0; k < durations[b][n].item<int64_t>(); ++k) mel[b][t++] = spectra[tokens[b][n]];
    }
  }
  mel = mel + 0.1 * torch::randn_like(mel);

  AlignerOptions options;
  options.vocab_size = kVocab;
  options.n_mels = kMels;
  options.channels = 32;
  options.attention_dim = 16;
  options.temperature = 0.05;
  Aligner aligner(options);
  torch::optim::Adam optimizer(aligner->parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int64_t step = 0; step < kSteps; ++step) {
    AlignerOutput out = aligner(tokens, text_lengths, mel, mel_lengths);
    auto loss = ForwardSumLoss(out.log_attention, text_lengths, mel_lengths);
    ASSERT_TRUE(loss.ok()) << loss.status();
    ASSERT_TRUE(std::isfinite(loss->item<double>())) << "step " << step;
    if (step == 0) first = loss->item<double>();
    last = loss->item<double>();
    optimizer.zero_grad();
    loss->backward();
    optimizer.step();
  }
  AlignerOutput out = aligner(tokens, text_lengths, mel, mel_lengths);
  auto d = MonotonicAlignmentSearch(out.log_attention, text_lengths, mel_lengths);
  ASSERT_TRUE(d.ok());
  const double exact = ((*d == durations) & mask).sum().item<double>() / mask.sum().item<double>();
  std::printf("forward-sum loss %.4f -> %.4f; MAS durations exactly right for %.2f of tokens\n", first, last, exact);
  EXPECT_LT(last, (1 - kRequiredDrop) * first);
}

// key_kernel 1 keys each token on itself alone: changing token 2 of [1, 2, 3] to 5 leaves the scores
// of tokens 0 and 1, so their log-attention difference (the per-frame normalizer cancels) is the
// same; with the default 3, token 1's key sees token 2 and the difference changes.
// An aligner small enough to reason about: 6 symbols, 4 mel bins, width 8.
AlignerOptions SmallOptions() {
  AlignerOptions options;
  options.vocab_size = 6;
  options.n_mels = 4;
  options.channels = 8;
  options.attention_dim = 4;
  options.temperature = 0.1;
  return options;
}

TEST(AlignerTest, KeyKernelOneIgnoresNeighbours) {
  const torch::Tensor mel = torch::randn({1, 5, 4}), ml = torch::tensor({5}, torch::kLong), tl = torch::tensor({3}, torch::kLong);
  for (int64_t kernel : {1, 3}) {
    AlignerOptions options = SmallOptions();
    options.use_prior = false;
    options.key_kernel = kernel;
    torch::manual_seed(2);
    Aligner aligner(options);
    const torch::Tensor a = aligner(torch::tensor({{1, 2, 3}}, torch::kLong), tl, mel, ml).log_attention;
    const torch::Tensor b = aligner(torch::tensor({{1, 2, 5}}, torch::kLong), tl, mel, ml).log_attention;
    const torch::Tensor da = a.select(2, 0) - a.select(2, 1), db = b.select(2, 0) - b.select(2, 1);
    if (kernel == 1) {
      EXPECT_TRUE(torch::allclose(da, db, 1e-5, 1e-5)) << da << db;
    } else {
      EXPECT_FALSE(torch::allclose(da, db, 1e-5, 1e-5)) << da << db;
    }
  }
  AlignerOptions even;
  even.vocab_size = 6;
  even.key_kernel = 2;
  EXPECT_EQ(even.Validate().message(), "AlignerOptions.key_kernel must be odd and >= 1, got 2");
}

// The recorded-speech fix of issue 27: with normalize_mel the aligner sees each utterance's mel
// standardized, so a level and scale change of one utterance (a quieter recording; raw log-mel of
// recorded speech sits around -5.5 +- 2.9 where espeak-ng's differs) leaves its attention unchanged,
// padding frames included in neither statistic. Without it the attention changes.
TEST(AlignerTest, NormalizeMelIgnoresEachUtterancesLevelAndScale) {
  torch::manual_seed(4);
  const torch::Tensor mel = torch::randn({2, 6, 4});
  const torch::Tensor ml = torch::tensor({6, 4}, torch::kLong), tl = torch::tensor({3, 2}, torch::kLong);
  const torch::Tensor tokens = torch::tensor({{1, 2, 3}, {4, 5, 0}}, torch::kLong);
  // Utterance 0 at 3x scale, 5.5 lower; utterance 1 shifted by 2 on its real frames, padding untouched.
  torch::Tensor moved = mel.clone();
  moved[0] = mel[0] * 3.0 - 5.5;
  moved[1].slice(0, 0, 4) += 2.0;
  for (bool normalize : {true, false}) {
    AlignerOptions options = SmallOptions();
    options.normalize_mel = normalize;
    torch::manual_seed(2);
    Aligner aligner(options);
    const torch::Tensor a = aligner(tokens, tl, mel, ml).log_attention;
    const torch::Tensor b = aligner(tokens, tl, moved, ml).log_attention;
    if (normalize) {
      EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-4)) << a << b;
    } else {
      EXPECT_FALSE(torch::allclose(a, b, 1e-4, 1e-4));
    }
  }
}

TEST(ForwardSumLossTest, RejectsBadLengths) {
  auto loss = ForwardSumLoss(torch::zeros({2, 3, 4}), torch::tensor({1}, torch::kLong), torch::tensor({3, 3}, torch::kLong));
  EXPECT_EQ(loss.status().message(), "text_lengths and mel_lengths must be [B] with B = log_attention.size(0)");
}

// Hand-computed: utterance 0 has 2 tokens over 3 frames (durations 1, 2), utterance 1 one token over
// 2 frames, padded to T = 3, N = 2. The loss is minus the mean log-attention along each hard path,
// averaged over utterances: (-(x000 + x011 + x021) / 3 - (x100 + x110) / 2) / 2.
TEST(BinarizationLossTest, IsMinusTheMeanLogAttentionAlongTheHardPath) {
  torch::Tensor lp = torch::tensor({-0.1, -2.0, -1.5, -0.3, -0.9, -0.6, -0.2, -1e4, -0.7, -1e4, 0.0, 0.0}).view({2, 3, 2});
  lp.requires_grad_(true);
  const torch::Tensor text = torch::tensor({2, 1}, torch::kLong), mel = torch::tensor({3, 2}, torch::kLong);
  auto loss = BinarizationLoss(lp, torch::tensor({1, 2, 2, 0}, torch::kLong).view({2, 2}), text, mel);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const double expected = ((0.1 + 0.3 + 0.6) / 3 + (0.2 + 0.7) / 2) / 2;
  EXPECT_NEAR(loss->item<double>(), expected, 1e-6);
  loss->backward();
  // The gradient is -1 / (2 T_b) at the path's cells and 0 elsewhere (padding included).
  const torch::Tensor want = torch::tensor({-1.0 / 6, 0.0, 0.0, -1.0 / 6, 0.0, -1.0 / 6, -0.25, 0.0, -0.25, 0.0, 0.0, 0.0}).view({2, 3, 2});
  EXPECT_TRUE(torch::allclose(lp.grad(), want, 1e-6, 1e-7)) << lp.grad();
}

TEST(BinarizationLossTest, RejectsDurationsThatDoNotFitTheFrames) {
  const torch::Tensor lp = torch::zeros({1, 3, 2}), text = torch::tensor({2}, torch::kLong), mel = torch::tensor({3}, torch::kLong);
  const std::string bad = "BinarizationLoss: utterance 0: durations must be >= 0, 0 at padded tokens, and sum to the "
                          "utterance's mel length (<= T)";
  EXPECT_EQ(BinarizationLoss(lp, torch::tensor({{1, 1}}, torch::kLong), text, mel).status().message(), bad);
  EXPECT_EQ(BinarizationLoss(lp, torch::tensor({{4, -1}}, torch::kLong), text, mel).status().message(), bad);
  // Frames on a padded token (utterance 1 has one token of two), though the sum is right.
  const torch::Tensor lp2 = torch::zeros({2, 3, 2}), text2 = torch::tensor({2, 1}, torch::kLong);
  EXPECT_EQ(BinarizationLoss(lp2, torch::tensor({{1, 2}, {1, 2}}, torch::kLong), text2, torch::tensor({3, 3}, torch::kLong))
                .status()
                .message(),
            "BinarizationLoss: utterance 1: durations must be >= 0, 0 at padded tokens, and sum to the utterance's mel "
            "length (<= T)");
  EXPECT_EQ(BinarizationLoss(lp, torch::tensor({{1.0, 2.0}}), text, mel).status().message(),
            "BinarizationLoss: durations must be integer [B, N] like log_attention's B and N");
  EXPECT_EQ(BinarizationLoss(lp, torch::tensor({{1, 1, 1}}, torch::kLong), text, mel).status().message(),
            "BinarizationLoss: durations must be integer [B, N] like log_attention's B and N");
}

// MAS's path is the one of highest summed log-attention, so no other hard alignment has a lower loss.
TEST(BinarizationLossTest, MasPathHasTheLowestLoss) {
  torch::manual_seed(5);
  const torch::Tensor lp = torch::log_softmax(torch::randn({1, 6, 3}) * 2, -1);
  const torch::Tensor text = torch::tensor({3}, torch::kLong), mel = torch::tensor({6}, torch::kLong);
  auto mas = MonotonicAlignmentSearch(lp, text, mel);
  ASSERT_TRUE(mas.ok());
  auto best = BinarizationLoss(lp, *mas, text, mel);
  ASSERT_TRUE(best.ok());
  for (int64_t a = 1; a <= 4; ++a) {
    for (int64_t b = 1; a + b <= 5; ++b) {
      auto other = BinarizationLoss(lp, torch::tensor({{a, b, 6 - a - b}}, torch::kLong), text, mel);
      ASSERT_TRUE(other.ok());
      EXPECT_GE(other->item<double>(), best->item<double>() - 1e-6) << a << " " << b;
    }
  }
}

}  // namespace
}  // namespace lightspeech::model
