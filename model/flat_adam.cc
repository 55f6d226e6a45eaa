#include "model/flat_adam.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::model {

absl::Status FlatAdamOptions::Validate() const {
  if (!(lr >= 0)) return absl::InvalidArgumentError(absl::StrCat("FlatAdamOptions.lr must be >= 0, got ", lr));
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    return absl::InvalidArgumentError("FlatAdamOptions: beta1 and beta2 must be in [0, 1)");
  }
  if (!(eps >= 0)) return absl::InvalidArgumentError("FlatAdamOptions.eps must be >= 0");
  return absl::OkStatus();
}

namespace {

// The buffer the parameters already are consecutive views of, or an undefined tensor.
torch::Tensor SharedFlat(const std::vector<torch::Tensor>& params, int64_t total) {
  const torch::Tensor& first = params[0];
  const int64_t item = first.element_size();
  const char* next = static_cast<const char*>(first.data_ptr());
  for (const auto& p : params) {
    if (!p.is_contiguous() || !p.storage().is_alias_of(first.storage()) || static_cast<const char*>(p.data_ptr()) != next) {
      return {};
    }
    next += p.numel() * item;
  }
  const std::vector<int64_t> size = {total}, stride = {1};
  return torch::empty({0}, first.options()).set_(first.storage(), first.storage_offset(), size, stride);
}

absl::Status CheckParams(const std::vector<torch::Tensor>& params) {
  if (params.empty()) return absl::InvalidArgumentError("FlatAdam: no parameters");
  for (const auto& p : params) {
    if (!p.defined() || p.scalar_type() != params[0].scalar_type() || p.device() != params[0].device()) {
      return absl::InvalidArgumentError("FlatAdam: parameters must be defined and share one dtype and device");
    }
  }
  return absl::OkStatus();
}

// Packs (see FlatAdam::Pack) and returns the buffer.
torch::Tensor PackUnchecked(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  torch::Tensor flat = torch::empty({total}, params[0].options().requires_grad(false));
  int64_t offset = 0;
  for (const auto& p : params) {
    torch::Tensor view = flat.narrow(0, offset, p.numel());
    view.copy_(p.detach().reshape(-1));
    torch::Tensor param = p;  // shares the TensorImpl, so modules see the new data
    param.set_data(view.view(p.sizes()));
    offset += p.numel();
  }
  return flat;
}

}  // namespace

absl::Status FlatAdam::Pack(const std::vector<torch::Tensor>& params) {
  LS_RETURN_IF_ERROR(CheckParams(params));
  try {
    PackUnchecked(params);
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("FlatAdam::Pack: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<FlatAdam> FlatAdam::Create(const std::vector<torch::Tensor>& params, const FlatAdamOptions& options) {
  LS_RETURN_IF_ERROR(options.Validate());
  LS_RETURN_IF_ERROR(CheckParams(params));
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  try {
    torch::Tensor flat = SharedFlat(params, total);
    if (!flat.defined()) flat = PackUnchecked(params);
    return FlatAdam(params, flat, options);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("FlatAdam::Create: ", e.what_without_backtrace()));
  }
}

FlatAdam::FlatAdam(std::vector<torch::Tensor> params, torch::Tensor flat, const FlatAdamOptions& options)
    : params_(std::move(params)),
      flat_(std::move(flat)),
      exp_avg_(torch::zeros_like(flat_)),
      exp_avg_sq_(torch::zeros_like(flat_)),
      options_(options) {}

absl::Status FlatAdam::Step() {
  std::vector<torch::Tensor> grads;
  grads.reserve(params_.size());
  for (const auto& p : params_) {
    if (!p.grad().defined()) return absl::FailedPreconditionError("FlatAdam::Step: a parameter has no gradient");
    grads.push_back(p.grad().reshape(-1));
  }
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor grad = torch::cat(grads);  // [P]
    ++steps_;
    // torch::optim::Adam's arithmetic, element for element.
    const double bias_correction1 = 1 - std::pow(options_.beta1, steps_);
    const double bias_correction2 = 1 - std::pow(options_.beta2, steps_);
    exp_avg_.mul_(options_.beta1).add_(grad, 1 - options_.beta1);
    exp_avg_sq_.mul_(options_.beta2).addcmul_(grad, grad, 1 - options_.beta2);
    const torch::Tensor denom = (exp_avg_sq_.sqrt() / std::sqrt(bias_correction2)).add_(options_.eps);
    flat_.addcdiv_(exp_avg_, denom, -options_.lr / bias_correction1);
    // The parameters changed in place through flat_: let autograd's saved-tensor checks see it.
    for (const auto& p : params_) torch::autograd::impl::bump_version(p);
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("FlatAdam::Step: ", e.what_without_backtrace()));
  }
}

void FlatAdam::ZeroGrad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

}  // namespace lightspeech::model
