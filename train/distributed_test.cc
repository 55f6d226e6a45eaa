#include "train/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "train/testing/free_port.h"

namespace lightspeech::train {
namespace {

using testing::FreePort;

std::string WorkerPath() { return "train/distributed_test_worker"; }

struct RunResult {
  int exit_code = -1;
  std::string output;
  double seconds = 0;
};

// Runs one worker with the given environment assignments and mode; returns its exit code and stdout.
RunResult RunWorker(const std::string& env, const std::string& mode) {
  const auto start = std::chrono::steady_clock::now();
  const std::string command = absl::StrCat("env -u RANK -u WORLD_SIZE -u SLURM_PROCID -u SLURM_NTASKS ", env, " ",
                                           WorkerPath(), " ", mode, " 2>/dev/null");
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  while (pipe != nullptr && std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  const int status = pipe == nullptr ? -1 : pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string Env(int rank, int world, int port, int timeout_ms = 20000) {
  return absl::StrCat("RANK=", rank, " WORLD_SIZE=", world, " LOCAL_RANK=", rank, " MASTER_ADDR=127.0.0.1",
                      " MASTER_PORT=", port, " TIMEOUT_MS=", timeout_ms);
}

class EnvGuard {
 public:
  EnvGuard() {
    for (const char* name : kNames) unsetenv(name);
  }
  ~EnvGuard() {
    for (const char* name : kNames) unsetenv(name);
  }

 private:
  static constexpr const char* kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
                                           "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "LIGHTSPEECH_DIST_TIMEOUT_S"};
};

TEST(DistributedConfigFromEnv, TimeoutFromEnvironment) {
  EnvGuard guard;
  setenv("LIGHTSPEECH_DIST_TIMEOUT_S", "7", 1);
  auto config = DistributedConfigFromEnv();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->timeout, std::chrono::milliseconds(7000));
  setenv("LIGHTSPEECH_DIST_TIMEOUT_S", "soon", 1);
  EXPECT_EQ(DistributedConfigFromEnv().status().message(),
            "environment variable LIGHTSPEECH_DIST_TIMEOUT_S='soon' is not an integer");
}

TEST(DistributedConfigFromEnv, NothingSetIsOneProcessOnLoopback) {
  EnvGuard guard;
  auto config = DistributedConfigFromEnv();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->world_size, 1);
  EXPECT_FALSE(config->enabled());
  EXPECT_EQ(config->master_addr, "127.0.0.1");
}

TEST(DistributedConfigFromEnv, ReadsTorchrunVariables) {
  EnvGuard guard;
  setenv("RANK", "3", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_RANK", "1", 1);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "1234", 1);
  auto config = DistributedConfigFromEnv();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rank, 3);
  EXPECT_EQ(config->world_size, 4);
  EXPECT_EQ(config->local_rank, 1);
  EXPECT_EQ(config->master_addr, "10.0.0.7");
  EXPECT_EQ(config->master_port, 1234);
}

TEST(DistributedConfigFromEnv, ReadsSlurmVariables) {
  EnvGuard guard;
  setenv("SLURM_PROCID", "1", 1);
  setenv("SLURM_NTASKS", "2", 1);
  auto config = DistributedConfigFromEnv();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rank, 1);
  EXPECT_EQ(config->world_size, 2);
}

TEST(DistributedConfigFromEnv, ClearErrors) {
  EnvGuard guard;
  setenv("RANK", "1", 1);
  EXPECT_EQ(DistributedConfigFromEnv().status().message(), "RANK is set but WORLD_SIZE is not");
  setenv("WORLD_SIZE", "two", 1);
  EXPECT_EQ(DistributedConfigFromEnv().status().message(), "environment variable WORLD_SIZE='two' is not an integer");
  setenv("WORLD_SIZE", "1", 1);
  EXPECT_EQ(DistributedConfigFromEnv().status().message(),
            "RANK/WORLD_SIZE/LOCAL_RANK/MASTER_PORT: rank 1 is outside [0, 1)");
}

TEST(Distributed, WorldOfOneNeedsNoNetwork) {
  auto dist = Distributed::Create(DistributedConfig{});
  ASSERT_TRUE(dist.ok()) << dist.status();
  torch::Tensor t = torch::ones({2});
  ASSERT_TRUE((*dist)->AllReduceSum(t).ok());
  EXPECT_TRUE(torch::equal(t, torch::ones({2})));
}

#ifdef LIGHTSPEECH_TORCH_GLOO

TEST(Distributed, TwoProcessesSumOnLoopback) {
  const int port = FreePort();
  auto rank1 = std::async(std::launch::async, [&] { return RunWorker(Env(1, 2, port), "sum"); });
  RunResult rank0 = RunWorker(Env(0, 2, port), "sum");
  RunResult r1 = rank1.get();
  EXPECT_EQ(rank0.exit_code, 0) << rank0.output;
  EXPECT_EQ(rank0.output, "ok 3 3 3\n");
  EXPECT_EQ(r1.output, "ok 3 3 3\n");
}

TEST(Distributed, AverageGradientsInBuckets) {
  const int port = FreePort();
  auto rank1 = std::async(std::launch::async, [&] { return RunWorker(Env(1, 2, port), "grads"); });
  RunResult rank0 = RunWorker(Env(0, 2, port), "grads");
  RunResult r1 = rank1.get();
  // Mean of 1x and 2x = 1.5x for the first and last parameters; the middle one is (0 + 2x) / 2 = x.
  const std::string expected = "ok 1.5 3 4.5 6 7.5 9 1 2 3 4 5 1.5 3 4.5 6\n";
  EXPECT_EQ(rank0.output, expected);
  EXPECT_EQ(r1.output, expected);
}

TEST(Distributed, MissingRankFailsWithinTheTimeout) {
  const int port = FreePort();
  RunResult rank0 = RunWorker(Env(0, 2, port, /*timeout_ms=*/1500), "sum");
  EXPECT_EQ(rank0.exit_code, 2);
  EXPECT_EQ(rank0.output,
            absl::StrCat("error rank 0: only 1 of 2 ranks reached the rendezvous at 127.0.0.1:", port, " within 1.5 s\n"));
  EXPECT_LT(rank0.seconds, 20.0);
}

TEST(Distributed, WorldSizeMismatchFailsClearly) {
  const int port = FreePort();
  auto rank0 = std::async(std::launch::async, [&] { return RunWorker(Env(0, 2, port, 3000), "sum"); });
  // Give rank 0's store a moment to start, then join claiming a world of three.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RunResult rank1 = RunWorker(Env(1, 3, port, 3000), "sum");
  RunResult r0 = rank0.get();
  EXPECT_EQ(rank1.exit_code, 2);
  EXPECT_EQ(rank1.output, "error rank 1: WORLD_SIZE is 3 here but 2 on rank 0\n");
  EXPECT_EQ(r0.exit_code, 2) << r0.output;
}

TEST(Distributed, DeadRankMakesTheOtherFailNotHang) {
  const int port = FreePort();
  auto rank1 = std::async(std::launch::async, [&] { return RunWorker(Env(1, 2, port, 3000), "die"); });
  RunResult rank0 = RunWorker(Env(0, 2, port, 3000), "die");
  EXPECT_EQ(rank1.get().exit_code, 3);
  EXPECT_EQ(rank0.exit_code, 2) << rank0.output;
  EXPECT_EQ(rank0.output.rfind("error rank 0: all-reduce failed (another rank died, stopped or timed out?)", 0), 0u)
      << rank0.output;
  EXPECT_LT(rank0.seconds, 20.0);
}

#endif  // LIGHTSPEECH_TORCH_GLOO

}  // namespace
}  // namespace lightspeech::train
