#ifndef LIGHTSPEECH_FEATURES_TRIM_H_
#define LIGHTSPEECH_FEATURES_TRIM_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace lightspeech::features {

// The part of a clip that trimming leading and trailing silence keeps: samples [begin, end).
struct TrimRange {
  int64_t begin = 0;
  int64_t end = 0;
};

// Finds leading and trailing silence by frame level: frames of `window` samples every `hop` samples,
// centered on sample k * hop with reflect padding (the log-mel's framing), level 20 log10(RMS). The
// kept range runs from the center of the first frame whose level is within `top_db` dB of the loudest
// frame's, less half a hop, to the center of the last such frame plus half a hop (clamped to the clip).
// A clip with no sound (every frame at the loudest level, e.g. all zeros) is kept whole.
// Fails (InvalidArgument) when samples is empty, window or hop < 1, or top_db is not > 0.
absl::StatusOr<TrimRange> FindSilenceTrim(const std::vector<float>& samples, double top_db, int window = 1024,
                                          int hop = 256);

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_TRIM_H_
