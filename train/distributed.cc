#include "train/distributed.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

#ifdef LIGHTSPEECH_TORCH_GLOO
#include "torch/csrc/distributed/c10d/PrefixStore.hpp"
#include "torch/csrc/distributed/c10d/ProcessGroupGloo.hpp"
#include "torch/csrc/distributed/c10d/TCPStore.hpp"
#endif

namespace lightspeech::train {

#ifdef LIGHTSPEECH_TORCH_GLOO
class ProcessGroupHandle {
 public:
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};
#else
class ProcessGroupHandle {};
#endif

namespace {

// Reads an integer environment variable; `*found` says whether it was set.
absl::Status IntFromEnv(const char* name, int* value, bool* found) {
  const char* text = std::getenv(name);
  *found = text != nullptr && *text != '\0';
  if (!*found) return absl::OkStatus();
  if (!absl::SimpleAtoi(text, value)) {
    return absl::InvalidArgumentError(absl::StrCat("environment variable ", name, "='", text, "' is not an integer"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DistributedConfig::Validate() const {
  if (world_size < 1) return absl::InvalidArgumentError(absl::StrCat("world size ", world_size, " must be >= 1"));
  if (rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is outside [0, ", world_size, ")"));
  }
  if (local_rank < 0) return absl::InvalidArgumentError(absl::StrCat("local rank ", local_rank, " is negative"));
  if (master_port < 1 || master_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("master port ", master_port, " is outside [1, 65535]"));
  }
  if (master_addr.empty()) return absl::InvalidArgumentError("master address is empty");
  if (timeout.count() <= 0) return absl::InvalidArgumentError("timeout must be positive");
  return absl::OkStatus();
}

absl::StatusOr<DistributedConfig> DistributedConfigFromEnv() {
  DistributedConfig config;
  bool has_rank = false, has_world = false, has_local = false, has_port = false;
  absl::Status status = IntFromEnv("RANK", &config.rank, &has_rank);
  if (status.ok()) status = IntFromEnv("WORLD_SIZE", &config.world_size, &has_world);
  if (status.ok()) status = IntFromEnv("LOCAL_RANK", &config.local_rank, &has_local);
  if (status.ok()) status = IntFromEnv("MASTER_PORT", &config.master_port, &has_port);
  if (!status.ok()) return status;
  if (!has_rank && !has_world) {
    // Slurm: one task per process.
    bool has_proc = false, has_tasks = false, has_local_id = false;
    status = IntFromEnv("SLURM_PROCID", &config.rank, &has_proc);
    if (status.ok()) status = IntFromEnv("SLURM_NTASKS", &config.world_size, &has_tasks);
    if (status.ok()) status = IntFromEnv("SLURM_LOCALID", &config.local_rank, &has_local_id);
    if (!status.ok()) return status;
    if (has_proc != has_tasks) {
      return absl::InvalidArgumentError("SLURM_PROCID and SLURM_NTASKS must be set together");
    }
    has_rank = has_world = has_proc;
    if (!has_local_id) config.local_rank = 0;
  }
  if (has_rank != has_world) {
    return absl::InvalidArgumentError(has_rank ? "RANK is set but WORLD_SIZE is not" : "WORLD_SIZE is set but RANK is not");
  }
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') config.master_addr = addr;
  int timeout_s = 0;
  bool has_timeout = false;
  LS_RETURN_IF_ERROR(IntFromEnv("LIGHTSPEECH_DIST_TIMEOUT_S", &timeout_s, &has_timeout));
  if (has_timeout) config.timeout = std::chrono::seconds(timeout_s);
  if (absl::Status valid = config.Validate(); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("RANK/WORLD_SIZE/LOCAL_RANK/MASTER_PORT: ", valid.message()));
  }
  return config;
}

Distributed::Distributed(DistributedConfig config, std::unique_ptr<ProcessGroupHandle> group)
    : config_(std::move(config)), group_(std::move(group)) {}

Distributed::~Distributed() = default;

absl::StatusOr<std::unique_ptr<Distributed>> Distributed::Create(const DistributedConfig& config) {
  LS_RETURN_IF_ERROR(config.Validate());
  if (!config.enabled()) return std::unique_ptr<Distributed>(new Distributed(config, nullptr));
#ifndef LIGHTSPEECH_TORCH_GLOO
  return absl::UnimplementedError(
      "this LibTorch has no c10d Gloo backend (build with Gloo's headers, Debian: libgloo-dev)");
#else
  const std::string where = absl::StrCat(config.master_addr, ":", config.master_port);
  auto handle = std::make_unique<ProcessGroupHandle>();
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(config.master_port);
    options.isServer = config.rank == 0;
    options.waitWorkers = false;  // arrival is checked below, with a clearer error
    options.timeout = config.timeout;
    handle->store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
  } catch (const c10::Error& e) {
    return absl::UnavailableError(absl::StrCat("rank ", config.rank, ": cannot ",
                                               config.rank == 0 ? "start" : "reach", " the rendezvous store at ",
                                               where, ": ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", config.rank, ": cannot ",
                                               config.rank == 0 ? "start" : "reach", " the rendezvous store at ",
                                               where, ": ", e.what()));
  }
  try {
    // Every rank announces its world size and counts arrivals.
    const std::string size_text = std::to_string(config.world_size);
    handle->store->set(absl::StrCat("lightspeech/world_size/", config.rank),
                       std::vector<uint8_t>(size_text.begin(), size_text.end()));
    int64_t arrived = handle->store->add("lightspeech/arrived", 1);
    const auto deadline = std::chrono::steady_clock::now() + config.timeout;
    while (arrived < config.world_size && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      arrived = handle->store->add("lightspeech/arrived", 0);
    }
    if (config.rank != 0) {
      const std::vector<uint8_t> zero = handle->store->get("lightspeech/world_size/0");
      const std::string zero_size(zero.begin(), zero.end());
      if (zero_size != size_text) {
        return absl::FailedPreconditionError(absl::StrCat("rank ", config.rank, ": WORLD_SIZE is ", size_text,
                                                          " here but ", zero_size, " on rank 0"));
      }
    }
    if (arrived > config.world_size) {
      return absl::FailedPreconditionError(absl::StrCat("rank ", config.rank, ": ", arrived,
                                                        " processes joined the rendezvous at ", where,
                                                        " but WORLD_SIZE is ", config.world_size));
    }
    if (arrived < config.world_size) {
      return absl::DeadlineExceededError(absl::StrCat(
          "rank ", config.rank, ": only ", arrived, " of ", config.world_size, " ranks reached the rendezvous at ",
          where, " within ", config.timeout.count() / 1000.0, " s"));
    }
    auto options = c10d::ProcessGroupGloo::Options::create(config.timeout);
    const bool loopback = config.master_addr == "127.0.0.1" || config.master_addr == "localhost";
    options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                        : c10d::ProcessGroupGloo::createDefaultDevice());
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo", handle->store);
    handle->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, config.rank, config.world_size, options);
  } catch (const c10::Error& e) {
    return absl::DeadlineExceededError(absl::StrCat("rank ", config.rank, ": rendezvous at ", where,
                                                    " failed: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", config.rank, ": rendezvous at ", where, " failed: ", e.what()));
  }
  return std::unique_ptr<Distributed>(new Distributed(config, std::move(handle)));
#endif
}

absl::Status Distributed::AllReduceSum(torch::Tensor& tensor) {
  if (!config_.enabled()) return absl::OkStatus();
#ifndef LIGHTSPEECH_TORCH_GLOO
  return absl::UnimplementedError("no c10d Gloo backend");
#else
  try {
    torch::NoGradGuard no_grad;
    const bool on_host = tensor.device().is_cpu();
    std::vector<torch::Tensor> tensors = {on_host ? tensor.contiguous() : tensor.to(torch::kCPU).contiguous()};
    auto work = group_->gloo->allreduce(tensors);
    work->wait();
    if (!on_host || !tensor.is_contiguous()) {
      tensor.copy_(tensors[0]);
    } else if (tensors[0].data_ptr() != tensor.data_ptr()) {
      tensor.copy_(tensors[0]);
    }
  } catch (const c10::Error& e) {
    return absl::UnavailableError(absl::StrCat("rank ", config_.rank, ": all-reduce failed (another rank died, ",
                                               "stopped or timed out?): ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", config_.rank, ": all-reduce failed (another rank died, ",
                                               "stopped or timed out?): ", e.what()));
  }
  return absl::OkStatus();
#endif
}

absl::Status Distributed::AverageGradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  if (!config_.enabled()) return absl::OkStatus();
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : parameters) {
    torch::Tensor param = p;
    if (!param.grad().defined()) param.mutable_grad() = torch::zeros_like(param);
    grads.push_back(param.grad());
  }
  return AverageTensors(grads, bucket_bytes);
}

absl::Status Distributed::AverageTensors(const std::vector<torch::Tensor>& all, int64_t bucket_bytes) {
  if (!config_.enabled()) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parameters;  // the defined ones, averaged in place
  for (const torch::Tensor& t : all) {
    if (t.defined()) parameters.push_back(t);
  }
  const double scale = 1.0 / config_.world_size;
  size_t begin = 0;
  while (begin < parameters.size()) {
    // A bucket: consecutive parameters of one dtype and device, up to bucket_bytes (at least one).
    size_t end = begin;
    int64_t bytes = 0;
    const auto options = parameters[begin].options();
    while (end < parameters.size() && parameters[end].dtype() == options.dtype() &&
           parameters[end].device() == options.device() &&
           (end == begin || bytes + parameters[end].numel() * parameters[end].element_size() <= bucket_bytes)) {
      bytes += parameters[end].numel() * parameters[end].element_size();
      ++end;
    }
    std::vector<torch::Tensor> flat;
    for (size_t i = begin; i < end; ++i) flat.push_back(parameters[i].reshape({-1}));
    torch::Tensor bucket = torch::cat(flat);
    LS_RETURN_IF_ERROR(AllReduceSum(bucket));
    bucket.mul_(scale);
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      torch::Tensor grad = parameters[i];
      const int64_t n = grad.numel();
      grad.copy_(bucket.narrow(0, offset, n).view_as(grad));
      offset += n;
    }
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status Distributed::Barrier() {
  if (!config_.enabled()) return absl::OkStatus();
  torch::Tensor token = torch::zeros({1});
  return AllReduceSum(token);
}

}  // namespace lightspeech::train
