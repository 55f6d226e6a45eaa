#ifndef LIGHTSPEECH_TRAIN_COMPAT_H_
#define LIGHTSPEECH_TRAIN_COMPAT_H_

// The few LibTorch calls that differ between 1.13 (Debian, CPU) and 2.x (the GPU machines'), in one
// place. Everything else in train/ uses API both share.
//  - Optimizer state: torch::optim::Optimizer::state() is keyed by the parameter's TensorImpl
//    address printed as a string in 1.13 and early 2.x, by the address itself (void*) later. The key
//    type is detected from the header, not from version numbers.
//  - Autocast: at::autocast::set_enabled / set_autocast_gpu_dtype (1.13 .. 2.3) became
//    set_autocast_enabled(device_type, ...) / set_autocast_dtype(device_type, ...) in 2.4.

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "ATen/autocast_mode.h"
#include "torch/torch.h"
#include "torch/version.h"

namespace lightspeech::train::compat {

using OptimizerStateMap = std::remove_reference_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using OptimizerStateKey = typename OptimizerStateMap::key_type;

// The key under which an optimizer keeps `param`'s state.
template <typename Key = OptimizerStateKey>
Key StateKey(const torch::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // what c10::guts::to_string(TensorImpl*) printed
    os << param.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define LIGHTSPEECH_AUTOCAST_BY_DEVICE_TYPE 1
#endif

// Scoped bf16 autocast for CUDA operations (as Python's torch.autocast("cuda", torch.bfloat16)):
// enabled in the constructor when `enabled`, restored (and the cast cache cleared on leaving the
// outermost scope) in the destructor. A no-op when not enabled, so the CPU path never touches it.
class ScopedCudaBf16Autocast {
 public:
  explicit ScopedCudaBf16Autocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
#ifdef LIGHTSPEECH_AUTOCAST_BY_DEVICE_TYPE
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
    at::autocast::increment_nesting();
  }
  ~ScopedCudaBf16Autocast() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef LIGHTSPEECH_AUTOCAST_BY_DEVICE_TYPE
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
  }
  ScopedCudaBf16Autocast(const ScopedCudaBf16Autocast&) = delete;
  ScopedCudaBf16Autocast& operator=(const ScopedCudaBf16Autocast&) = delete;

 private:
  bool enabled_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace lightspeech::train::compat

#endif  // LIGHTSPEECH_TRAIN_COMPAT_H_
