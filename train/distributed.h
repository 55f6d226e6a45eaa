#ifndef LIGHTSPEECH_TRAIN_DISTRIBUTED_H_
#define LIGHTSPEECH_TRAIN_DISTRIBUTED_H_

// Data-parallel training across processes with LibTorch's c10d: rendezvous through a TCPStore, then a
// Gloo process group (CPU tensors; CUDA tensors are staged through host memory). One process per
// device; every process runs the same trainer on its own shards, gradients and batch statistics are
// summed across processes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::train {

struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  // Where rank 0's store listens and the others connect. The default keeps a single-machine run off
  // other interfaces; a multi-machine run must set MASTER_ADDR to an address the others can reach
  // (see docs/DISTRIBUTED.md for what that exposes).
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // How long rendezvous and each collective may wait for the other ranks before failing.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};

  bool enabled() const { return world_size > 1; }
  // rank in [0, world_size), local_rank >= 0, port in [1, 65535], positive timeout.
  absl::Status Validate() const;
};

// Reads the torchrun / Slurm-style variables RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
// MASTER_PORT (falling back to SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID), and the timeout in
// seconds from LIGHTSPEECH_DIST_TIMEOUT_S (default 60). None set: a single process. Fails with InvalidArgument naming the variable when one is not a number or the set is
// inconsistent (e.g. RANK without WORLD_SIZE, RANK >= WORLD_SIZE).
absl::StatusOr<DistributedConfig> DistributedConfigFromEnv();

class ProcessGroupHandle;  // the c10d objects, kept out of this header's interface

class Distributed {
 public:
  // Joins the group: rank 0 starts the store at master_addr:master_port, the others connect; every
  // rank checks that all agree on the world size. Fails with DeadlineExceeded when some rank does not
  // arrive within the timeout, FailedPrecondition when the world sizes disagree, and Unimplemented
  // when this LibTorch has no Gloo backend. A world of one needs no network and always succeeds.
  static absl::StatusOr<std::unique_ptr<Distributed>> Create(const DistributedConfig& config);
  ~Distributed();

  int rank() const { return config_.rank; }
  int world_size() const { return config_.world_size; }
  bool is_main() const { return config_.rank == 0; }
  const DistributedConfig& config() const { return config_; }

  // Sums `tensor` in place across ranks (any device; CUDA tensors go through host memory). A rank
  // that died or stopped calling makes this fail with a clear error after the timeout.
  absl::Status AllReduceSum(torch::Tensor& tensor);

  // Replaces each defined gradient of `parameters` by its mean across ranks, packed into flat buckets
  // of at most `bucket_bytes` so that few collectives run. Parameters without a gradient take part
  // with zeros so that every rank sends the same buckets.
  absl::Status AverageGradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes = 8 << 20);

  // Replaces each defined tensor of `tensors` in place by its mean across ranks, bucketed like
  // AverageGradients; undefined tensors are skipped, so every rank must have the same ones defined
  // (the trainer's gradients are defined by the model's structure, the same on every rank). Fails
  // like AllReduceSum.
  absl::Status AverageTensors(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 8 << 20);

  // Waits until every rank has reached this point.
  absl::Status Barrier();

 private:
  Distributed(DistributedConfig config, std::unique_ptr<ProcessGroupHandle> group);
  DistributedConfig config_;
  std::unique_ptr<ProcessGroupHandle> group_;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_DISTRIBUTED_H_
