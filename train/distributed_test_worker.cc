// One rank of distributed_test: joins the group from the environment (RANK, WORLD_SIZE, MASTER_PORT,
// ...), runs the mode given as argv[1], prints "ok <values>" or "error <message>" and exits 0 / 2.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "train/distributed.h"

namespace {

using lightspeech::train::Distributed;

int Fail(const absl::Status& status) {
  std::printf("error %s\n", std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto config = lightspeech::train::DistributedConfigFromEnv();
  if (!config.ok()) return Fail(config.status());
  if (const char* ms = std::getenv("TIMEOUT_MS")) config->timeout = std::chrono::milliseconds(std::atoi(ms));
  auto dist = Distributed::Create(*config);
  if (!dist.ok()) return Fail(dist.status());
  const int rank = (*dist)->rank();
  if (mode == "sum") {
    torch::Tensor t = torch::full({3}, static_cast<float>(rank + 1));
    if (auto s = (*dist)->AllReduceSum(t); !s.ok()) return Fail(s);
    std::printf("ok %g %g %g\n", t[0].item<float>(), t[1].item<float>(), t[2].item<float>());
  } else if (mode == "grads") {
    // Three parameters; rank r has gradients (r + 1) * (1, 2, ...); the middle one has no gradient on
    // rank 0. A small bucket size forces several buckets.
    std::vector<torch::Tensor> params = {torch::zeros({2, 3}), torch::zeros({5}), torch::zeros({4})};
    for (size_t i = 0; i < params.size(); ++i) {
      if (i == 1 && rank == 0) continue;
      params[i].mutable_grad() = torch::arange(1, params[i].numel() + 1, torch::kFloat).view_as(params[i]) * (rank + 1);
    }
    if (auto s = (*dist)->AverageGradients(params, /*bucket_bytes=*/32); !s.ok()) return Fail(s);
    std::string out = "ok";
    for (const auto& p : params) {
      torch::Tensor g = p.grad().reshape({-1});
      for (int64_t i = 0; i < g.numel(); ++i) out += absl::StrCat(" ", g[i].item<float>());
    }
    std::printf("%s\n", out.c_str());
  } else if (mode == "die") {
    // Rank 1 leaves right after the rendezvous; rank 0's next collective must fail, not hang.
    if (rank == 1) return 3;
    torch::Tensor t = torch::ones({1});
    if (auto s = (*dist)->AllReduceSum(t); !s.ok()) return Fail(s);
    std::printf("ok unexpectedly\n");
  } else {
    std::printf("error unknown mode '%s'\n", mode.c_str());
    return 2;
  }
  std::fflush(stdout);
  return 0;
}
