#ifndef LIGHTSPEECH_INFERENCE_NPY_H_
#define LIGHTSPEECH_INFERENCE_NPY_H_

// NumPy .npy files (format version 1.0, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html)
// for float32 arrays: what HiFi-GAN-style vocoders load with np.load. No LibTorch.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lightspeech::inference {

// The 6-byte magic, version 1.0, the little-endian uint16 header length and the header dict
// {'descr': '<f4', 'fortran_order': False, 'shape': (...), } padded with spaces and ended by '\n'
// so that the data starts at a multiple of 64 bytes. Fails (InvalidArgument) for a negative
// dimension or a header longer than 65535 bytes.
absl::StatusOr<std::string> NpyFloat32Header(absl::Span<const int64_t> shape);

// Header + `data` (C order, little-endian float32) as file bytes. Fails (InvalidArgument) when
// data.size() differs from the product of `shape`, naming both.
absl::StatusOr<std::string> EncodeNpyFloat32(absl::Span<const float> data, absl::Span<const int64_t> shape);

// Writes EncodeNpyFloat32's bytes to `path` (a temporary file renamed into place, so a reader never
// sees half a file). Fails as EncodeNpyFloat32 does, or with the errno status naming the path.
absl::Status WriteNpyFloat32(const std::string& path, absl::Span<const float> data, absl::Span<const int64_t> shape);

}  // namespace lightspeech::inference

#endif  // LIGHTSPEECH_INFERENCE_NPY_H_
