// CUDA checks of model/: the same computations on the GPU as on the CPU. Skips without CUDA.
#include <vector>

#include "gtest/gtest.h"
#include "model/acoustic_model.h"
#include "model/aligner.h"
#include "model/length_regulator.h"

namespace lightspeech::model {
namespace {

constexpr double kDeviceTolerance = 1e-4;  // float32 CPU vs CUDA kernels

class ModelGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  const torch::Device cuda_{torch::kCUDA};
};

TEST_F(ModelGpuTest, LengthRegulatorMatchesCpu) {
  torch::manual_seed(1);
  torch::Tensor enc = torch::randn({3, 6, 4});
  torch::Tensor d = torch::randint(0, 5, {3, 6}, torch::kLong);
  torch::Tensor mask = torch::arange(6).unsqueeze(0) < torch::tensor({6, 3, 1}).unsqueeze(1);
  auto cpu = RegulateLength(enc, d, mask, {}, torch::tensor({20, 9, 4}, torch::kLong));
  auto gpu = RegulateLength(enc.to(cuda_), d.to(cuda_), mask.to(cuda_), {}, torch::tensor({20, 9, 4}, torch::kLong).to(cuda_));
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  EXPECT_TRUE(gpu->frames.is_cuda());
  EXPECT_TRUE(torch::equal(cpu->frame_to_token, gpu->frame_to_token.cpu()));
  EXPECT_TRUE(torch::allclose(cpu->frames, gpu->frames.cpu()));
}

TEST_F(ModelGpuTest, MasAndForwardSumMatchCpu) {
  torch::manual_seed(2);
  torch::Tensor tl = torch::randint(1, 15, {4}, torch::kLong);
  torch::Tensor ml = tl + torch::randint(0, 30, {4}, torch::kLong);
  torch::Tensor lp = torch::log_softmax(torch::randn({4, ml.max().item<int64_t>(), 15}), -1);
  auto host = MonotonicAlignmentSearch(lp, tl, ml);
  auto device = MonotonicAlignmentSearch(lp.to(cuda_), tl.to(cuda_), ml.to(cuda_));
  ASSERT_TRUE(host.ok() && device.ok());
  EXPECT_TRUE(device->is_cuda());
  EXPECT_TRUE(torch::equal(*host, device->cpu()));
  auto loss_cpu = ForwardSumLoss(lp, tl, ml);
  auto loss_gpu = ForwardSumLoss(lp.to(cuda_), tl.to(cuda_), ml.to(cuda_));
  ASSERT_TRUE(loss_cpu.ok() && loss_gpu.ok());
  EXPECT_NEAR(loss_cpu->item<double>(), loss_gpu->item<double>(), kDeviceTolerance);
}

TEST_F(ModelGpuTest, LightModelTrainsOnCuda) {
  torch::manual_seed(3);
  AcousticModelOptions o = AcousticModelOptions::Light(30, 8);
  o.use_aligner = true;
  auto model = AcousticModel::Create(o);
  ASSERT_TRUE(model.ok());
  (*model)->to(cuda_);
  torch::Tensor tokens = torch::randint(1, 30, {2, 5}).to(cuda_);
  torch::Tensor mask = torch::ones({2, 5}, torch::TensorOptions().dtype(torch::kBool).device(cuda_));
  torch::Tensor d = torch::randint(1, 4, {2, 5}, torch::TensorOptions().dtype(torch::kLong).device(cuda_));
  auto synth = (*model)->Decode((*model)->Encode(tokens, mask), d, mask);
  ASSERT_TRUE(synth.ok()) << synth.status();
  EXPECT_TRUE(synth->mel.mel.is_cuda());
  synth->mel.mel.square().mean().backward();
  AlignerOutput a = (*model)->aligner()(tokens, d.sum(1) * 0 + 5, torch::randn({2, 12, 80}, torch::TensorOptions().device(cuda_)),
                                       torch::full({2}, 12, torch::TensorOptions().dtype(torch::kLong).device(cuda_)));
  EXPECT_TRUE(a.log_attention.is_cuda());
}

}  // namespace
}  // namespace lightspeech::model
