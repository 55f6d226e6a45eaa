#ifndef LIGHTSPEECH_FEATURES_MEL_IMAGE_H_
#define LIGHTSPEECH_FEATURES_MEL_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace lightspeech::features {

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

// Boundary mark colours: reference marks fill the upper half of a column, predicted marks the lower
// half, so coinciding marks stay visible.
inline constexpr Rgb kReferenceMarkColor = {255, 255, 255};  // White.
inline constexpr Rgb kPredictedMarkColor = {255, 40, 40};    // Red.

struct MelImageOptions {
  int pixels_per_frame = 2;  // Image width = frames * pixels_per_frame.
  int pixels_per_bin = 2;    // Image height = n_mels * pixels_per_bin; bin 0 at the bottom.
  // Colour scale in log-mel units; when min_value >= max_value, the data's range is used.
  float min_value = 0.0f;
  float max_value = 0.0f;
};

// Renders a frame-major log-mel [n_frames][n_mels] as an 8-bit RGB PNG (libpng) with a dark-to-bright
// colour map, plus optional vertical boundary marks at frame indices (a mark at frame f is drawn on
// the first pixel column of frame f). Returns the PNG file bytes. Fails with InvalidArgument when the
// sizes disagree, the image would be empty or larger than 2^14 pixels on a side, or a mark is outside
// [0, n_frames]; Internal when libpng fails.
absl::StatusOr<std::string> RenderMelPng(absl::Span<const float> mel, int64_t n_frames, int n_mels,
                                         absl::Span<const int> reference_marks,
                                         absl::Span<const int> predicted_marks,
                                         const MelImageOptions& options = MelImageOptions());

// Writes `bytes` to `path`; fails with Internal naming the file when it cannot be written.
absl::Status WriteFileBytes(absl::string_view path, absl::string_view bytes);

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_MEL_IMAGE_H_
