// Fuzz target: TextGrid and .lab parsing, then conversion to frames.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "preprocess/alignment.h"
#include "tools/fuzz/fuzz_util.h"

namespace {

void CheckAlignment(const lightspeech::preprocess::Alignment& alignment) {
  using lightspeech::fuzz::FuzzCheck;
  namespace pre = lightspeech::preprocess;
  FuzzCheck(std::isfinite(alignment.duration) && alignment.duration >= 0, "non-finite or negative duration");
  for (const pre::Interval& phone : alignment.phones) {
    FuzzCheck(phone.start <= phone.end, "accepted an interval that ends before it starts");
  }
  // Conversion to frames either fails cleanly or gives intervals inside the clip.
  const int64_t n_frames = static_cast<int64_t>(std::min(alignment.duration, 1e4) * 22050.0 / 256.0) + 1;
  auto frames = pre::ToFrames(alignment, n_frames, pre::FrameOptions{});
  if (!frames.ok()) return;
  for (const pre::FrameInterval& phone : frames->phones) {
    FuzzCheck(0 <= phone.start && phone.start <= phone.end && phone.end <= frames->n_frames,
              "frame interval outside the clip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view contents(reinterpret_cast<const char*>(data), size);
  namespace pre = lightspeech::preprocess;
  if (auto grid = pre::ParseTextGrid(contents, "fuzz.TextGrid"); grid.ok()) CheckAlignment(*grid);
  if (auto lab = pre::ParseLab(contents, "fuzz.lab"); lab.ok()) CheckAlignment(*lab);
  return 0;
}
