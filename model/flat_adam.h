#ifndef LIGHTSPEECH_MODEL_FLAT_ADAM_H_
#define LIGHTSPEECH_MODEL_FLAT_ADAM_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace lightspeech::model {

struct FlatAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;

  // OK, or InvalidArgument naming the first bad field.
  absl::Status Validate() const;
};

// Adam with torch::optim::Adam's update (no weight decay, no amsgrad), run on one flat buffer: the
// parameters are (made) consecutive views of one contiguous tensor, so a step is a handful of
// whole-buffer ops instead of ~10 small ops per parameter. flat_adam_test checks it against
// torch::optim::Adam.
//
// Create() packs the parameters into a new buffer and rebinds each parameter's data to its view
// (autograd identity, names and modules are unchanged), unless they already are consecutive views of
// one buffer (e.g. a prefix of another FlatAdam's parameters), which it then shares. Create it after
// moving the model to its device (moving re-allocates the parameters). Every step updates all
// parameters, so each needs a gradient (torch::optim::Adam would skip one without; give such
// parameters to no FlatAdam, or to another one).
class FlatAdam {
 public:
  // Rebinds the parameters' data to consecutive views of one new contiguous buffer (in this order),
  // so optimizers over consecutive runs of them share it. Parameters owned by an existing FlatAdam
  // must not be repacked. Fails (InvalidArgument) on mixed dtypes or devices.
  static absl::Status Pack(const std::vector<torch::Tensor>& params);

  // Fails (InvalidArgument) on bad options, no parameters, or parameters of mixed dtype or device.
  static absl::StatusOr<FlatAdam> Create(const std::vector<torch::Tensor>& params, const FlatAdamOptions& options = {});

  // One Adam step with the parameters' gradients. Fails (FailedPrecondition) if a parameter has no
  // gradient (nothing is changed then).
  absl::Status Step();
  // Drops the gradients (set to undefined: the next backward writes fresh ones).
  void ZeroGrad();

  const torch::Tensor& flat_params() const { return flat_; }  // [P], the parameters' storage
  int64_t steps() const { return steps_; }

 private:
  FlatAdam(std::vector<torch::Tensor> params, torch::Tensor flat, const FlatAdamOptions& options);

  std::vector<torch::Tensor> params_;
  torch::Tensor flat_, exp_avg_, exp_avg_sq_;  // [P]
  FlatAdamOptions options_;
  int64_t steps_ = 0;
};

}  // namespace lightspeech::model

#endif  // LIGHTSPEECH_MODEL_FLAT_ADAM_H_
