#ifndef LIGHTSPEECH_TRAIN_DEVICE_H_
#define LIGHTSPEECH_TRAIN_DEVICE_H_

// The one place a device name from the command line becomes a LibTorch device name: the trainer,
// the inference model (evaluation, the synthesizer) and the benchmarks all resolve --device here.

#include <string>

#include "absl/status/statusor.h"

namespace lightspeech::train {

// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N" -> a LibTorch device name.
// InvalidArgument for another name; FailedPrecondition for CUDA without a GPU or an index past the
// last GPU. Messages begin with "--device=NAME: ".
absl::StatusOr<std::string> ResolveDevice(const std::string& requested);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_DEVICE_H_
