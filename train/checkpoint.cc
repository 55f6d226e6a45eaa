#include "train/checkpoint.h"

#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "train/compat.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoints store little-endian bytes as they are in memory");

namespace lightspeech::train {
namespace {

struct DTypeInfo {
  DType dtype;
  torch::ScalarType scalar;
  int64_t itemsize;
};

constexpr DTypeInfo kDTypes[] = {
    {FLOAT32, torch::kFloat32, 4}, {FLOAT64, torch::kFloat64, 8}, {INT64, torch::kInt64, 8},
    {INT32, torch::kInt32, 4},     {BOOL, torch::kBool, 1},       {UINT8, torch::kUInt8, 1},
    {BFLOAT16, torch::kBFloat16, 2}, {FLOAT16, torch::kFloat16, 2},
};

const DTypeInfo* FindByProto(DType d) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.dtype == d) return &i;
  }
  return nullptr;
}

const DTypeInfo* FindByScalar(torch::ScalarType s) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.scalar == s) return &i;
  }
  return nullptr;
}

std::string ShapeString(const std::vector<int64_t>& shape) { return absl::StrCat("[", absl::StrJoin(shape, ", "), "]"); }

std::vector<int64_t> ProtoShape(const TensorProto& p) { return {p.shape().begin(), p.shape().end()}; }

// Checks that a validated proto matches a tensor's dtype and shape.
absl::Status CheckMatches(const TensorProto& proto, const torch::Tensor& target, const std::string& what) {
  const DTypeInfo* want = FindByScalar(target.scalar_type());
  if (want == nullptr || want->dtype != proto.dtype()) {
    return absl::FailedPreconditionError(absl::StrCat(what, " '", proto.name(), "' has dtype ", DType_Name(proto.dtype()),
                                                      ", the model's is ", c10::toString(target.scalar_type())));
  }
  const std::vector<int64_t> have = ProtoShape(proto), need = target.sizes().vec();
  if (have != need) {
    return absl::FailedPreconditionError(absl::StrCat(what, " '", proto.name(), "' has shape ", ShapeString(have),
                                                      ", the model's is ", ShapeString(need)));
  }
  return absl::OkStatus();
}

// Copies validated bytes into `target` (same dtype and shape).
void CopyBytes(const TensorProto& proto, torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  const DTypeInfo* info = FindByProto(proto.dtype());
  torch::Tensor src = torch::from_blob(const_cast<char*>(proto.data().data()), ProtoShape(proto),
                                       torch::TensorOptions().dtype(info->scalar));
  target.copy_(src);
}

NamedTensors ModuleTensors(torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace

absl::StatusOr<TensorProto> TensorToProto(const std::string& name, const torch::Tensor& tensor) {
  const DTypeInfo* info = FindByScalar(tensor.scalar_type());
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': dtype ", c10::toString(tensor.scalar_type()), " cannot be checkpointed"));
  }
  try {
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    TensorProto p;
    p.set_name(name);
    p.set_dtype(info->dtype);
    for (int64_t d : cpu.sizes()) p.add_shape(d);
    p.set_data(static_cast<const char*>(cpu.data_ptr()), static_cast<size_t>(cpu.numel() * info->itemsize));
    return p;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("tensor '", name, "': ", e.what_without_backtrace()));
  }
}

absl::StatusOr<torch::Tensor> TensorFromProto(const TensorProto& proto) {
  LS_RETURN_IF_ERROR(ValidateTensorProto(proto));
  try {
    torch::Tensor t = torch::empty(ProtoShape(proto), torch::TensorOptions().dtype(FindByProto(proto.dtype())->scalar));
    if (!proto.data().empty()) std::memcpy(t.data_ptr(), proto.data().data(), proto.data().size());
    return t;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("checkpoint tensor '", proto.name(), "': ", e.what_without_backtrace()));
  }
}

absl::Status CopyProtoIntoTensor(const TensorProto& proto, torch::Tensor& target) {
  LS_RETURN_IF_ERROR(ValidateTensorProto(proto));
  LS_RETURN_IF_ERROR(CheckMatches(proto, target, "checkpoint tensor"));
  try {
    CopyBytes(proto, target);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("checkpoint tensor '", proto.name(), "': ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status SaveModule(torch::nn::Module& module, Checkpoint* checkpoint) {
  for (const auto& [name, tensor] : ModuleTensors(module)) {
    LS_ASSIGN_OR_RETURN(TensorProto p, TensorToProto(name, tensor));
    *checkpoint->add_tensors() = std::move(p);
  }
  return absl::OkStatus();
}

absl::Status LoadModule(const Checkpoint& checkpoint, torch::nn::Module& module) {
  std::map<std::string, const TensorProto*> by_name;
  for (const TensorProto& p : checkpoint.tensors()) by_name[p.name()] = &p;
  NamedTensors tensors = ModuleTensors(module);
  std::map<std::string, bool> known;
  for (auto& [name, tensor] : tensors) {
    known[name] = true;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::FailedPreconditionError(absl::StrCat("checkpoint has no tensor '", name, "' that the model has"));
    }
    LS_RETURN_IF_ERROR(ValidateTensorProto(*it->second));
    LS_RETURN_IF_ERROR(CheckMatches(*it->second, tensor, "checkpoint tensor"));
  }
  for (const TensorProto& p : checkpoint.tensors()) {
    if (!known.count(p.name())) {
      return absl::FailedPreconditionError(absl::StrCat("checkpoint tensor '", p.name(), "' is not in the model"));
    }
  }
  try {
    for (auto& [name, tensor] : tensors) CopyBytes(*by_name[name], tensor);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("loading the model: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status SaveAdamW(const std::string& name, torch::optim::Optimizer& optimizer, const NamedTensors& params,
                       Checkpoint* checkpoint) {
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer '", name, "' is not AdamW"));
  }
  OptimizerState* out = checkpoint->add_optimizers();
  out->set_name(name);
  out->set_kind("adamw");
  auto& state = optimizer.state();
  for (const auto& [param_name, param] : params) {
    auto it = state.find(compat::StateKey(param));
    if (it == state.end()) continue;
    const auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get());
    if (s == nullptr) return absl::InternalError(absl::StrCat("optimizer '", name, "': state of '", param_name, "' is not AdamW's"));
    AdamParamState* ps = out->add_params();
    ps->set_param(param_name);
    ps->set_step(s->step());
    LS_ASSIGN_OR_RETURN(TensorProto m, TensorToProto(param_name + ".exp_avg", s->exp_avg()));
    LS_ASSIGN_OR_RETURN(TensorProto v, TensorToProto(param_name + ".exp_avg_sq", s->exp_avg_sq()));
    *ps->mutable_exp_avg() = std::move(m);
    *ps->mutable_exp_avg_sq() = std::move(v);
  }
  return absl::OkStatus();
}

namespace {

const OptimizerState* FindOptimizer(const Checkpoint& checkpoint, const std::string& name) {
  for (const OptimizerState& o : checkpoint.optimizers()) {
    if (o.name() == name) return &o;
  }
  return nullptr;
}

}  // namespace

absl::Status ValidateAdamW(const Checkpoint& checkpoint, const std::string& name, const NamedTensors& params) {
  const OptimizerState* saved = FindOptimizer(checkpoint, name);
  if (saved == nullptr) return absl::FailedPreconditionError(absl::StrCat("checkpoint has no optimizer '", name, "'"));
  if (saved->kind() != "adamw") {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint optimizer '", name, "' is '", saved->kind(), "', not adamw"));
  }
  std::map<std::string, torch::Tensor> by_name(params.begin(), params.end());
  for (const AdamParamState& ps : saved->params()) {
    auto it = by_name.find(ps.param());
    if (it == by_name.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint optimizer '", name, "' has state for '", ps.param(), "', which it does not optimize"));
    }
    for (const TensorProto* t : {&ps.exp_avg(), &ps.exp_avg_sq()}) {
      LS_RETURN_IF_ERROR(ValidateTensorProto(*t));
      LS_RETURN_IF_ERROR(CheckMatches(*t, it->second, absl::StrCat("checkpoint optimizer '", name, "' state")));
    }
    if (ps.step() < 0) {
      return absl::DataLossError(absl::StrCat("checkpoint optimizer '", name, "': negative step for '", ps.param(), "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadAdamW(const Checkpoint& checkpoint, const std::string& name, torch::optim::Optimizer& optimizer,
                       const NamedTensors& params) {
  LS_RETURN_IF_ERROR(ValidateAdamW(checkpoint, name, params));
  const OptimizerState* saved = FindOptimizer(checkpoint, name);
  std::map<std::string, torch::Tensor> by_name(params.begin(), params.end());
  try {
    auto& state = optimizer.state();
    state.clear();
    for (const AdamParamState& ps : saved->params()) {
      const torch::Tensor& param = by_name[ps.param()];
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(ps.step());
      torch::Tensor m = torch::empty_like(param, torch::MemoryFormat::Contiguous);
      torch::Tensor v = torch::empty_like(param, torch::MemoryFormat::Contiguous);
      CopyBytes(ps.exp_avg(), m);
      CopyBytes(ps.exp_avg_sq(), v);
      s->exp_avg(m);
      s->exp_avg_sq(v);
      state[compat::StateKey(param)] = std::move(s);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("loading optimizer '", name, "': ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<RngState> SaveTorchRng(const torch::Device& device) {
  try {
    at::Generator gen = at::globalContext().defaultGenerator(device);
    torch::Tensor state;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      state = gen.get_state();
    }
    state = state.to(torch::kCPU).contiguous();
    RngState out;
    out.set_device(device.str());
    out.set_state(static_cast<const char*>(state.data_ptr()), static_cast<size_t>(state.nbytes()));
    return out;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("saving the ", device.str(), " generator: ", e.what_without_backtrace()));
  }
}

absl::Status LoadTorchRng(const RngState& saved) {
  try {
    const torch::Device device(saved.device());
    at::Generator gen = at::globalContext().defaultGenerator(device);
    torch::Tensor state = torch::empty({static_cast<int64_t>(saved.state().size())}, torch::kUInt8);
    std::memcpy(state.data_ptr(), saved.state().data(), saved.state().size());
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  } catch (const c10::Error& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("restoring the ", saved.device(), " generator: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status WriteCheckpoint(const Checkpoint& checkpoint, const std::string& path) {
  absl::StatusOr<std::string> bytes = EncodeCheckpoint(checkpoint);
  if (!bytes.ok()) return absl::Status(bytes.status().code(), absl::StrCat(path, ": ", bytes.status().message()));
  return base::WriteFileAtomically(path, *bytes);
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::string bytes, base::ReadFile(path));
  return DecodeCheckpoint(bytes, path);
}

std::string CheckpointPath(const std::string& dir, int64_t step) {
  return absl::StrFormat("%s/ckpt-%08d.pb", dir, step);
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ListCheckpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  if (!base::IsDirectory(dir)) return out;
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirectory(dir));
  for (const std::string& n : names) {
    if (!absl::StartsWith(n, "ckpt-") || !absl::EndsWith(n, ".pb")) continue;
    const std::string digits = n.substr(5, n.size() - 8);
    int64_t step;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || !absl::SimpleAtoi(digits, &step)) {
      continue;
    }
    out.emplace_back(step, absl::StrCat(dir, "/", n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir) {
  LS_ASSIGN_OR_RETURN(auto all, ListCheckpoints(dir));
  if (all.empty()) return absl::NotFoundError(absl::StrCat(dir, ": no checkpoint"));
  return all.back().second;
}

absl::Status PruneCheckpoints(const std::string& dir, int keep) {
  if (keep < 1) return absl::InvalidArgumentError("PruneCheckpoints: keep must be >= 1");
  LS_ASSIGN_OR_RETURN(auto all, ListCheckpoints(dir));
  for (size_t i = 0; i + keep < all.size(); ++i) {
    if (::unlink(all[i].second.c_str()) != 0) return base::ErrnoStatus(all[i].second, "cannot delete", errno);
  }
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirectory(dir));
  for (const std::string& n : names) {
    if (absl::StartsWith(n, "ckpt-") && absl::EndsWith(n, ".partial")) ::unlink(absl::StrCat(dir, "/", n).c_str());
  }
  return absl::OkStatus();
}

}  // namespace lightspeech::train
