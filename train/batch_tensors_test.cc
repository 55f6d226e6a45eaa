#include "train/batch_tensors.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::train {
namespace {

// Two utterances: 3 and 2 tokens, 4 and 2 frames, 2 mel bins, pad id 0.
HostBatch SmallBatch(bool with_durations) {
  HostBatch b;
  b.ids = {"a", "b"};
  b.batch_size = 2;
  b.max_tokens = 3;
  b.max_frames = 4;
  b.n_mels = 2;
  b.tokens = {5, 6, 7, 8, 9, 0};
  b.token_lengths = {3, 2};
  b.mel = {1, 2,  3,  4,  5, 6, 7, 8,   // utterance a, frames 0..3
           9, 10, 11, 12, 0, 0, 0, 0};  // utterance b, frames 0..1, then padding
  b.frame_lengths = {4, 2};
  if (with_durations) b.durations = {1, 2, 1, 1, 1, 0};
  b.words = {{{0, 4, "a"}}, {}};
  return b;
}

void ExpectMatches(const TensorBatch& t, const HostBatch& b) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_TRUE(torch::equal(t.tokens.to(cpu),
                           torch::tensor({5, 6, 7, 8, 9, 0}, torch::kInt64).view({2, 3})));
  EXPECT_TRUE(torch::equal(t.token_lengths.to(cpu), torch::tensor({3, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(t.frame_lengths.to(cpu), torch::tensor({4, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(t.mel.to(cpu), torch::tensor(b.mel, torch::kFloat32).view({2, 4, 2})));
  EXPECT_TRUE(
      torch::equal(t.token_mask.to(cpu),
                   torch::tensor({1, 1, 1, 1, 1, 0}, torch::kInt64).to(torch::kBool).view({2, 3})));
  EXPECT_TRUE(torch::equal(
      t.mel_mask.to(cpu),
      torch::tensor({1, 1, 1, 1, 1, 1, 0, 0}, torch::kInt64).to(torch::kBool).view({2, 4})));
  EXPECT_EQ(t.tokens.scalar_type(), torch::kInt64);
  EXPECT_EQ(t.mel.scalar_type(), torch::kFloat32);
  EXPECT_EQ(t.token_mask.scalar_type(), torch::kBool);
  EXPECT_EQ(t.mel_mask.scalar_type(), torch::kBool);
  if (b.has_durations()) {
    ASSERT_TRUE(t.has_durations());
    EXPECT_TRUE(torch::equal(t.durations.to(cpu),
                             torch::tensor({1, 2, 1, 1, 1, 0}, torch::kInt64).view({2, 3})));
  } else {
    EXPECT_FALSE(t.has_durations());
  }
}

TEST(BatchTensorsTest, CpuTensorsMatchTheHostBatch) {
  for (bool durations : {true, false}) {
    const HostBatch b = SmallBatch(durations);
    auto t = ToTensors(b, torch::kCPU);
    ASSERT_TRUE(t.ok()) << t.status();
    ExpectMatches(*t, b);
    EXPECT_TRUE(t->mel.device().is_cpu());
    EXPECT_TRUE(t->mel_mask.device().is_cpu());
    EXPECT_NE(t->mel.data_ptr<float>(), b.mel.data()) << "owns a copy";
  }
}

TEST(BatchTensorsTest, EmptyBatch) {
  HostBatch b;
  b.n_mels = 80;
  auto t = ToTensors(b, torch::kCPU);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->mel.sizes(), (std::vector<int64_t>{0, 0, 80}));
  EXPECT_EQ(t->token_mask.sizes(), (std::vector<int64_t>{0, 0}));
}

TEST(BatchTensorsTest, InconsistentBatchIsRejected) {
  HostBatch b = SmallBatch(true);
  b.mel.pop_back();
  EXPECT_EQ(ToTensors(b, torch::kCPU).status(),
            absl::InvalidArgumentError("ToTensors: mel has 15 values, expected 16"));
  b = SmallBatch(true);
  b.durations.push_back(0);
  EXPECT_EQ(ToTensors(b, torch::kCPU).status(),
            absl::InvalidArgumentError("ToTensors: durations has 7 values, expected 6"));
  b = SmallBatch(false);
  b.frame_lengths[1] = 5;
  EXPECT_EQ(ToTensors(b, torch::kCPU).status(),
            absl::InvalidArgumentError("ToTensors: frame_lengths[1] = 5 is outside [0, 4]"));
}

TEST(BatchTensorsTest, MinLengthRejectsEmptyUtterancesAndBatches) {
  ToTensorsOptions at_least_one;
  at_least_one.min_length = 1;
  HostBatch b = SmallBatch(false);
  EXPECT_TRUE(ToTensors(b, torch::kCPU, at_least_one).ok());
  b.token_lengths[1] = 0;
  EXPECT_TRUE(ToTensors(b, torch::kCPU).ok());  // allowed by default
  EXPECT_EQ(ToTensors(b, torch::kCPU, at_least_one).status(),
            absl::InvalidArgumentError("ToTensors: utterance 'b' has 0 tokens and 2 frames, need >= 1 of each"));
  b = SmallBatch(false);
  b.frame_lengths[0] = 0;
  b.ids.clear();
  EXPECT_EQ(ToTensors(b, torch::kCPU, at_least_one).status(),
            absl::InvalidArgumentError("ToTensors: utterance '#0' has 3 tokens and 0 frames, need >= 1 of each"));
  HostBatch empty;
  empty.n_mels = 80;
  EXPECT_EQ(ToTensors(empty, torch::kCPU, at_least_one).status(),
            absl::InvalidArgumentError("ToTensors: empty batch (0 utterances, 80 mel bins)"));
}

// Runs the pinned-memory, non_blocking path where a GPU is present; elsewhere checks the refusal.
TEST(BatchTensorsTest, CudaPath) {
  const HostBatch b = SmallBatch(true);
  const torch::Device cuda(torch::kCUDA, 0);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(ToTensors(b, cuda).status(),
              absl::FailedPreconditionError(
                  "ToTensors: device cuda:0 requested but CUDA is not available"));
    return;
  }
  auto t = ToTensors(b, cuda);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->mel.device().is_cuda());
  EXPECT_TRUE(t->token_mask.device().is_cuda());
  ExpectMatches(*t, b);  // .to(cpu) synchronizes with the copies
}

}  // namespace
}  // namespace lightspeech::train
