#include "model/acoustic_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::model {
namespace {

constexpr double kPaddingTolerance = 1e-5;  // float32: padded vs unpadded runs of the same utterance
constexpr int64_t kVocab = 40;

struct Batch {
  torch::Tensor tokens, mask;
};

Batch MakeBatch() {
  Batch b;
  b.tokens = torch::randint(1, kVocab, {3, 7});
  b.mask = torch::arange(7).unsqueeze(0) < torch::tensor({7, 4, 2}).unsqueeze(1);
  b.tokens = b.tokens * b.mask;
  return b;
}

// The per-frame head's inputs: MakeBatch()'s tokens encoded by `model`, and a random mel with 20, 12
// and 6 real frames of 20.
struct PerFrameInputs {
  Batch batch;
  torch::Tensor enc, mel, mel_mask;
};
PerFrameInputs FrameInputs(AcousticModel& model) {
  PerFrameInputs in{MakeBatch(), {}, {}, {}};
  in.enc = model->Encode(in.batch.tokens, in.batch.mask);
  in.mel = torch::randn({3, 20, 80});
  in.mel_mask = torch::arange(20).unsqueeze(0) < torch::tensor({20, 12, 6}).unsqueeze(1);
  return in;
}

class AcousticModelTest : public ::testing::TestWithParam<bool> {  // param: light config
 protected:
  AcousticModelOptions Options() const {
    return GetParam() ? AcousticModelOptions::Light(kVocab, 10) : AcousticModelOptions::Prototype(kVocab, 10);
  }
};

TEST_P(AcousticModelTest, ShapesAndPaddingInvariance) {
  torch::manual_seed(1);
  AcousticModelOptions options = Options();
  options.policy.observe_mel = true;
  options.decoder.postnet = true;
  auto model = AcousticModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->eval();
  Batch batch = MakeBatch();
  torch::Tensor enc = (*model)->Encode(batch.tokens, batch.mask);
  const int64_t c = options.encoder.output_dim;
  ASSERT_EQ(enc.sizes(), (std::vector<int64_t>{3, 7, c}));
  EXPECT_EQ(enc[1].narrow(0, 4, 3).abs().sum().item<float>(), 0.0f);
  // Utterance 1 alone (unpadded) encodes the same as inside the padded batch.
  torch::Tensor alone = (*model)->Encode(batch.tokens[1].narrow(0, 0, 4).unsqueeze(0), torch::ones({1, 4}, torch::kBool));
  EXPECT_LT((alone[0] - enc[1].narrow(0, 0, 4)).abs().max().item<double>(), kPaddingTolerance);

  torch::Tensor durations = torch::randint(1, 5, {3, 7}, torch::kLong) * batch.mask;
  auto synth = (*model)->Decode(enc, durations, batch.mask);
  ASSERT_TRUE(synth.ok()) << synth.status();
  const int64_t frames = synth->expanded.frames.size(1);
  ASSERT_EQ(synth->mel.mel.sizes(), (std::vector<int64_t>{3, frames, 80}));
  ASSERT_EQ(synth->mel.mel_postnet.sizes(), (std::vector<int64_t>{3, frames, 80}));
  const int64_t len2 = synth->expanded.lengths[2].item<int64_t>();
  auto alone_synth = (*model)->Decode(enc[2].narrow(0, 0, 2).unsqueeze(0), durations[2].narrow(0, 0, 2).unsqueeze(0),
                                      torch::ones({1, 2}, torch::kBool));
  ASSERT_TRUE(alone_synth.ok());
  EXPECT_LT((alone_synth->mel.mel_postnet[0] - synth->mel.mel_postnet[2].narrow(0, 0, len2)).abs().max().item<double>(),
            kPaddingTolerance);

  // The mel-observing actor: logits depend on real mel frames, not on padded ones.
  torch::Tensor mel = torch::randn({3, 20, 80});
  torch::Tensor mel_mask = torch::arange(20).unsqueeze(0) < torch::tensor({20, 12, 6}).unsqueeze(1);
  torch::Tensor logits = (*model)->PolicyLogits(enc, batch.mask, mel, mel_mask);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7, 10}));
  torch::Tensor mel_padding_changed = mel.clone();
  mel_padding_changed[2].narrow(0, 6, 14).fill_(7.0);
  EXPECT_LT(((*model)->PolicyLogits(enc, batch.mask, mel_padding_changed, mel_mask)[2] - logits[2]).abs().max().item<double>(),
            kPaddingTolerance);
  torch::Tensor mel_real_changed = mel.clone();
  mel_real_changed[2].narrow(0, 0, 6).fill_(7.0);
  EXPECT_GT(((*model)->PolicyLogits(enc, batch.mask, mel_real_changed, mel_mask)[2] - logits[2]).abs().max().item<double>(),
            1e-3);

  auto infer = (*model)->Infer(batch.tokens, batch.mask, /*speed=*/1.5);
  ASSERT_TRUE(infer.ok()) << infer.status();
  EXPECT_TRUE(torch::equal((infer->expanded.durations > 0), batch.mask));
}

TEST_P(AcousticModelTest, PerFrameHeadScoresAdvancingByTheNextTokensSimilarity) {
  torch::manual_seed(2);
  AcousticModelOptions options = Options();
  options.policy.per_frame = true;
  auto model = AcousticModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->eval();
  auto [batch, enc, mel, mel_mask] = FrameInputs(*model);
  auto a = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->sizes(), (std::vector<int64_t>{3, 20, 7}));
  // The last column has no next token: only the diagonal term, lag = (t + 0.5) N_b / T_b - 6.5
  // with the initial weight 1 and bias 0 (utterance 0: N_b = 7 real tokens, T_b = 20 frames).
  const int64_t n0 = batch.mask[0].sum().item<int64_t>();
  for (int64_t t : {0, 9, 19}) {
    EXPECT_NEAR((*a)[0][t][6].item<double>(), (t + 0.5) * n0 / 20.0 - 6.5, 1e-5) << t;
  }
  EXPECT_GT(a->slice(2, 0, 6).abs().max().item<double>(), 1e-3);
  // The optional similarity feature: no effect at its initial weight 0; with weight 1 it adds
  // similarity(t, n + 1) - similarity(t, n).
  torch::Tensor similarity = -torch::rand({3, 20, 7}) * 5;  // log-probabilities (<= 0)
  auto same = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask, similarity);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_LT((*same - *a).abs().max().item<double>(), 1e-6);
  {
    torch::NoGradGuard no_grad;
    (*model)->named_parameters()["policy.frame_similarity_weight"].fill_(1.0);
  }
  auto with = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask, similarity);
  ASSERT_TRUE(with.ok());
  EXPECT_NEAR(((*with)[1][4][2] - (*a)[1][4][2]).item<double>(), (similarity[1][4][3] - similarity[1][4][2]).item<double>(), 1e-5);
  // A model without the head refuses.
  auto plain = AcousticModel::Create(Options());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->AdvanceLogits(enc, batch.mask, mel, mel_mask).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(AcousticModelTest, PerFrameHeadScoreWeightInit) {
  torch::manual_seed(4);
  AcousticModelOptions options = Options();
  options.policy.per_frame = true;
  options.policy.alignment_score_weight_init = 0.5;
  auto model = AcousticModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->eval();
  const auto params = (*model)->named_parameters();
  ASSERT_EQ(params["policy.frame_similarity_weight"].sizes(), (std::vector<int64_t>{1}));
  EXPECT_EQ(params["policy.frame_similarity_weight"][0].item<double>(), 0.5);
  auto [batch, enc, mel, mel_mask] = FrameInputs(*model);
  auto a = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask);
  ASSERT_TRUE(a.ok()) << a.status();
  // The score feature starts at the configured weight.
  torch::Tensor similarity = -torch::rand({3, 20, 7}) * 5;
  auto with = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask, similarity);
  ASSERT_TRUE(with.ok());
  EXPECT_NEAR(((*with)[1][4][2] - (*a)[1][4][2]).item<double>(), 0.5 * (similarity[1][4][3] - similarity[1][4][2]).item<double>(),
              1e-5);
}

// An observed value-to-go is used unclamped (its values are far below the log-attention's -50
// floor); gains through -inf (decisions the walk is forced into) count 0, large ones are limited.
TEST_P(AcousticModelTest, PerFrameHeadObservesAValueToGoUnclamped) {
  torch::manual_seed(6);
  AcousticModelOptions options = Options();
  options.policy.per_frame = true;
  options.policy.observe_value_to_go = true;
  options.policy.alignment_score_weight_init = 1.0;
  auto model = AcousticModel::Create(options);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->eval();
  auto [batch, enc, mel, mel_mask] = FrameInputs(*model);
  auto a = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask);
  ASSERT_TRUE(a.ok()) << a.status();
  torch::Tensor value = -200.0 - torch::rand({3, 20, 7}) * 20;
  value[1][4][3] = -std::numeric_limits<float>::infinity();
  value[1][6][3] = value[1][6][2] + 80.0;
  auto with = (*model)->AdvanceLogits(enc, batch.mask, mel, mel_mask, value);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_TRUE(torch::isfinite(*with).all().item<bool>());
  const torch::Tensor added = *with - *a;
  EXPECT_NEAR(added[0][7][1].item<double>(), (value[0][7][2] - value[0][7][1]).item<double>(), 1e-3);
  EXPECT_NEAR(added[1][4][2].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(added[1][6][2].item<double>(), 50.0, 1e-4);
}

TEST_P(AcousticModelTest, TrainingStepReducesMelLoss) {
  torch::manual_seed(2);
  auto model = AcousticModel::Create(Options());
  ASSERT_TRUE(model.ok());
  Batch batch = MakeBatch();
  torch::Tensor durations = torch::randint(1, 4, {3, 7}, torch::kLong) * batch.mask;
  torch::optim::Adam optimizer((*model)->parameters(), torch::optim::AdamOptions(1e-3));
  torch::Tensor target;
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    auto synth = (*model)->Decode((*model)->Encode(batch.tokens, batch.mask), durations, batch.mask);
    ASSERT_TRUE(synth.ok());
    if (!target.defined()) target = torch::randn_like(synth->mel.mel) * synth->expanded.frame_mask.unsqueeze(-1);
    torch::Tensor loss = (synth->mel.mel - target).square().mean();
    (step == 0 ? first : last) = loss.item<double>();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  EXPECT_LT(last, first);
}

INSTANTIATE_TEST_SUITE_P(Configs, AcousticModelTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Light" : "Prototype"; });

TEST(DurationPredictorTest, LearnsLogDurationsAndRoundsBack) {
  constexpr double kLossTolerance = 1e-6;
  torch::Tensor mask = torch::tensor({1, 1, 1, 0}, torch::kBool).view({1, 4});
  torch::Tensor d = torch::tensor({1, 4, 9, 0}, torch::kLong).view({1, 4});
  // The exact log(1 + d) has zero loss and rounds back to d; padding is 0.
  torch::Tensor exact = torch::log1p(d.to(torch::kFloat));
  EXPECT_NEAR(DurationLoss(exact, d, mask).item<double>(), 0.0, kLossTolerance);
  EXPECT_TRUE(torch::equal(PredictedDurations(exact + 0.01, mask), d));
  EXPECT_NEAR(DurationLoss(exact + 0.5, d, mask).item<double>(), 0.25, kLossTolerance);

  torch::manual_seed(4);
  DurationPredictorOptions o;
  o.input_dim = 16;
  o.hidden_dim = 32;
  o.dropout = 0.0;
  DurationPredictor predictor(o);
  torch::Tensor enc = torch::randn({1, 4, 16});
  torch::optim::Adam optimizer(predictor->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    torch::Tensor loss = DurationLoss(predictor(enc, mask), d, mask);
    (step == 0 ? first : last) = loss.item<double>();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  EXPECT_LT(last, 0.1 * first);
  EXPECT_TRUE(torch::equal(PredictedDurations(predictor(enc, mask), mask), d));
}

TEST(AcousticModelOptionsTest, ParameterBudgets) {
  AcousticModelOptions light = AcousticModelOptions::Light(100);
  light.use_aligner = true;
  auto model = AcousticModel::Create(light);
  ASSERT_TRUE(model.ok());
  int64_t total = 0;
  for (const auto& [name, n] : (*model)->ParameterCounts()) total += n;
  EXPECT_LT(total, 2'000'000);
  auto proto = AcousticModel::Create(AcousticModelOptions::Prototype(100));
  ASSERT_TRUE(proto.ok());
  // Embedding 100 x 512 + BiGRU(512 -> 256 x 2): 2 x 3 x (512*256 + 256*256 + 2*256) + linear 512x512 + 512.
  EXPECT_EQ((*proto)->ParameterCounts().front(),
            std::make_pair(std::string("encoder"), int64_t{100 * 512 + 2 * 3 * (512 * 256 + 256 * 256 + 512) + 512 * 512 + 512}));
}

TEST(AcousticModelOptionsTest, ValidateNamesTheProblem) {
  AcousticModelOptions o = AcousticModelOptions::Light(10);
  o.decoder.input_dim = 128;
  EXPECT_EQ(AcousticModel::Create(o).status().message(),
            "AcousticModelOptions: encoder.output_dim (256) must equal policy, predictor and decoder input_dim");
  o = AcousticModelOptions::Light(0);
  EXPECT_EQ(AcousticModel::Create(o).status().message(), "EncoderOptions.vocab_size must be >= 1, got 0");
  o = AcousticModelOptions::Light(10);
  auto no_predictor = o;
  no_predictor.use_predictor = false;
  auto m = AcousticModel::Create(no_predictor);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->PredictLogDurations(torch::zeros({1, 2, 256}), torch::ones({1, 2}, torch::kBool)).status().message(),
            "AcousticModel: built without a duration predictor");
}

}  // namespace
}  // namespace lightspeech::model
