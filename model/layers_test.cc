#include "model/layers.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::model {
namespace {

// float32 channels-last (oneDNN) results vs the reference formulation: the largest difference,
// relative to the largest magnitude (at least 1). Both formulations differ from a float64 reference by
// about 1e-6 relative at these sizes; 1e-5 leaves room for other summation orders.
constexpr double kFloatTolerance = 1e-5;

double RelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>() /
         std::max(1.0, b.abs().max().item<double>());
}

// Leaf copies (requiring gradients) of the given tensors.
std::vector<torch::Tensor> Leaves(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(t.detach().clone().requires_grad_(true));
  return out;
}

TEST(ChannelsLastLinearTest, MatchesLinearForwardAndGradients) {
  torch::manual_seed(3);
  // Each thread count takes its own layout.
  for (const int threads : {1, 2})
  for (const bool with_bias : {true, false}) {
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{5, 37, 48}, std::vector<int64_t>{29, 48}}) {
      const torch::Tensor x0 = torch::randn(shape), w0 = torch::randn({24, 48}), b0 = torch::randn({24});
      std::vector<int64_t> out_shape = shape;
      out_shape.back() = 24;
      const torch::Tensor g = torch::randn(out_shape);
      std::vector<torch::Tensor> fast = Leaves({x0, w0, b0}), ref = Leaves({x0, w0, b0});
      torch::set_num_threads(threads);
      torch::Tensor y_fast = ChannelsLastLinear(fast[0], fast[1], with_bias ? fast[2] : torch::Tensor());
      torch::Tensor y_ref = torch::linear(ref[0], ref[1], with_bias ? ref[2] : torch::Tensor());
      ASSERT_EQ(y_fast.sizes(), y_ref.sizes());
      EXPECT_TRUE(y_fast.is_contiguous());
      EXPECT_LT(RelDiff(y_fast, y_ref), kFloatTolerance);
      y_fast.backward(g);
      y_ref.backward(g);
      for (int i = 0; i < (with_bias ? 3 : 2); ++i) {
        EXPECT_LT(RelDiff(fast[i].grad(), ref[i].grad()), kFloatTolerance) << threads << " threads, gradient " << i;
      }
    }
  }
}

TEST(ChannelsLastLinearTest, ApplyLinearPicksThePathByDtype) {
  torch::manual_seed(4);
  torch::nn::Linear layer(16, 8);
  const torch::Tensor x = torch::randn({3, 5, 16});
  EXPECT_TRUE(UseChannelsLastCpu(x));
  EXPECT_FALSE(UseChannelsLastCpu(x.to(torch::kDouble)));
  EXPECT_LT(RelDiff(ApplyLinear(layer, x), layer(x)), kFloatTolerance);
}

TEST(ChannelsLastDepthwiseConv1dTest, MatchesConv1dForwardAndGradients) {
  torch::manual_seed(5);
  for (const int64_t k : {1, 5, 17}) {
    const int64_t c = 32;
    const torch::Tensor x0 = torch::randn({4, 40, c}), w0 = torch::randn({c, 1, k}), b0 = torch::randn({c});
    const torch::Tensor g = torch::randn({4, 40, c});
    std::vector<torch::Tensor> fast = Leaves({x0, w0, b0}), ref = Leaves({x0, w0, b0});
    torch::Tensor y_fast = ChannelsLastDepthwiseConv1d(fast[0], fast[1], fast[2], k / 2);
    torch::Tensor y_ref = torch::conv1d(ref[0].transpose(1, 2), ref[1], ref[2], /*stride=*/1, /*padding=*/k / 2,
                                        /*dilation=*/1, /*groups=*/c)
                              .transpose(1, 2);
    ASSERT_EQ(y_fast.sizes(), y_ref.sizes());
    EXPECT_LT(RelDiff(y_fast, y_ref), kFloatTolerance) << "k " << k;
    y_fast.backward(g);
    y_ref.backward(g);
    for (int i = 0; i < 3; ++i) EXPECT_LT(RelDiff(fast[i].grad(), ref[i].grad()), kFloatTolerance) << "k " << k << " gradient " << i;
  }
}

// The block's float32 CPU path (channels-last convolutions) against its reference path (transposes +
// Conv1d modules), which float64 takes: the same parameters, forward and every gradient.
TEST(SepConvBlockTest, ChannelsLastPathMatchesReferencePath) {
  torch::manual_seed(6);
  for (const int threads : {1, 2})
  for (const int64_t k : {5, 17}) {
    torch::set_num_threads(threads);
    SepConvBlock block(32, k, /*dropout=*/0.1);
    block->eval();  // no dropout, so both paths see the same function
    const torch::Tensor x0 = torch::randn({3, 25, 32});
    const torch::Tensor mask = torch::arange(25).unsqueeze(0) < torch::tensor({25, 17, 6}).unsqueeze(1);
    const torch::Tensor g = torch::randn({3, 25, 32});

    torch::Tensor x = x0.clone().requires_grad_(true);
    torch::Tensor y = block(x, mask);
    y.backward(g);
    std::vector<torch::Tensor> grads;
    for (const auto& p : block->parameters()) grads.push_back(p.grad().clone());

    block->zero_grad();
    block->to(torch::kDouble);
    torch::Tensor xd = x0.to(torch::kDouble).requires_grad_(true);
    ASSERT_FALSE(UseChannelsLastCpu(xd));
    torch::Tensor yd = block(xd, mask);
    yd.backward(g.to(torch::kDouble));

    EXPECT_LT(RelDiff(y, yd), kFloatTolerance) << "k " << k;
    EXPECT_EQ(y.masked_select(~mask.unsqueeze(-1)).abs().sum().item<float>(), 0.0f);
    EXPECT_LT(RelDiff(x.grad(), xd.grad()), kFloatTolerance) << "k " << k;
    std::vector<torch::Tensor> params = block->parameters();
    ASSERT_EQ(params.size(), grads.size());
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_LT(RelDiff(grads[i], params[i].grad()), kFloatTolerance) << threads << " threads, k " << k << " parameter " << i;
    }
  }
}

}  // namespace
}  // namespace lightspeech::model
