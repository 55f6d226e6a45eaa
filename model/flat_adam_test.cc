#include "model/flat_adam.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::model {
namespace {

// FlatAdam vs torch::optim::Adam after several steps: the same element-wise arithmetic, so only
// vectorized-vs-scalar rounding may differ (float32).
constexpr double kAdamTolerance = 1e-6;

torch::nn::Sequential MakeNet() {
  return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::ReLU(), torch::nn::Conv1d(torch::nn::Conv1dOptions(5, 3, 3)),
                               torch::nn::Linear(3, 2));
}

TEST(FlatAdamTest, MatchesTorchAdam) {
  torch::manual_seed(7);
  torch::nn::Sequential ref = MakeNet(), flat = MakeNet();
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < ref->parameters().size(); ++i) flat->parameters()[i].copy_(ref->parameters()[i]);
  }
  FlatAdamOptions options;
  options.lr = 0.01;
  torch::optim::Adam ref_opt(ref->parameters(), torch::optim::AdamOptions(options.lr));
  absl::StatusOr<FlatAdam> flat_opt = FlatAdam::Create(flat->parameters(), options);
  ASSERT_TRUE(flat_opt.ok()) << flat_opt.status();
  for (int step = 0; step < 5; ++step) {
    const torch::Tensor x = torch::randn({4, 5, 6});
    ref_opt.zero_grad();
    ref->forward(x).square().sum().backward();
    ref_opt.step();
    flat_opt->ZeroGrad();
    flat->forward(x).square().sum().backward();  // the module computes with the packed views
    ASSERT_TRUE(flat_opt->Step().ok());
  }
  EXPECT_EQ(flat_opt->steps(), 5);
  for (size_t i = 0; i < ref->parameters().size(); ++i) {
    EXPECT_LT((ref->parameters()[i] - flat->parameters()[i]).abs().max().item<double>(), kAdamTolerance) << "parameter " << i;
  }
}

TEST(FlatAdamTest, PacksParametersAndSharesAPrefix) {
  torch::nn::Sequential net = MakeNet();
  std::vector<torch::Tensor> params = net->parameters();
  absl::StatusOr<FlatAdam> all = FlatAdam::Create(params);
  ASSERT_TRUE(all.ok());
  const float* base = all->flat_params().data_ptr<float>();
  int64_t offset = 0;
  for (const auto& p : params) {
    EXPECT_EQ(p.data_ptr<float>(), base + offset);
    EXPECT_TRUE(p.requires_grad());
    offset += p.numel();
  }
  EXPECT_EQ(all->flat_params().numel(), offset);
  // A prefix (the first two tensors: the first Linear) reuses the same buffer without copying.
  absl::StatusOr<FlatAdam> first = FlatAdam::Create({params[0], params[1]});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->flat_params().data_ptr<float>(), base);
  EXPECT_EQ(first->flat_params().numel(), params[0].numel() + params[1].numel());
  EXPECT_EQ(params[0].data_ptr<float>(), base);
}

TEST(FlatAdamTest, PackThenOverlappingOptimizers) {
  torch::nn::Sequential net = MakeNet();
  std::vector<torch::Tensor> p = net->parameters();  // 6 tensors
  const torch::Tensor before = p[3].detach().clone();
  ASSERT_TRUE(FlatAdam::Pack({p[2], p[3], p[0], p[1], p[4], p[5]}).ok());
  EXPECT_TRUE(torch::equal(before, p[3]));
  absl::StatusOr<FlatAdam> a = FlatAdam::Create({p[2], p[3], p[0], p[1]});
  absl::StatusOr<FlatAdam> b = FlatAdam::Create({p[0], p[1], p[4], p[5]});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->flat_params().data_ptr<float>(), a->flat_params().data_ptr<float>() + p[2].numel() + p[3].numel());
}

TEST(FlatAdamTest, Errors) {
  EXPECT_EQ(FlatAdam::Create({}).status().message(), "FlatAdam: no parameters");
  FlatAdamOptions bad;
  bad.beta2 = 1.0;
  EXPECT_EQ(FlatAdam::Create({torch::zeros({2}, torch::requires_grad())}, bad).status().message(),
            "FlatAdamOptions: beta1 and beta2 must be in [0, 1)");
  EXPECT_EQ(FlatAdam::Create({torch::zeros({2}), torch::zeros({2}, torch::kDouble)}).status().message(),
            "FlatAdam: parameters must be defined and share one dtype and device");
  torch::Tensor p = torch::ones({3}, torch::requires_grad());
  absl::StatusOr<FlatAdam> opt = FlatAdam::Create({p});
  ASSERT_TRUE(opt.ok());
  const absl::Status s = opt->Step();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "FlatAdam::Step: a parameter has no gradient");
  EXPECT_EQ(p.sum().item<float>(), 3.0f);
}

}  // namespace
}  // namespace lightspeech::model
