#include "train/device.h"

#include "absl/strings/str_cat.h"
#include "torch/torch.h"

namespace lightspeech::train {

absl::StatusOr<std::string> ResolveDevice(const std::string& requested) {
  try {
    if (requested == "auto") return torch::cuda::is_available() ? std::string("cuda") : std::string("cpu");
    if (requested == "cpu") return requested;
    if (requested.rfind("cuda", 0) == 0) {
      const torch::Device d(requested);
      if (!torch::cuda::is_available()) {
        return absl::FailedPreconditionError(absl::StrCat("--device=", requested, ": no CUDA GPU is available"));
      }
      if (d.has_index() && d.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
        return absl::FailedPreconditionError(absl::StrCat("--device=", requested, ": only ", torch::cuda::device_count(), " GPUs"));
      }
      return requested;
    }
  } catch (const c10::Error&) {
  }
  return absl::InvalidArgumentError(absl::StrCat("--device=", requested, ": expected auto, cpu, cuda or cuda:N"));
}

}  // namespace lightspeech::train
