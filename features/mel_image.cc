#include "features/mel_image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lightspeech::features {
namespace {

constexpr int kMaxSide = 1 << 14;

// A dark-blue -> purple -> orange -> pale-yellow ramp (hand-picked stops, linear in between).
constexpr Rgb kRamp[] = {{0, 0, 16}, {60, 16, 110}, {150, 40, 120}, {230, 90, 60}, {250, 200, 90},
                         {252, 252, 200}};
constexpr int kRampStops = sizeof(kRamp) / sizeof(kRamp[0]);

Rgb ColorMap(float u) {
  u = std::clamp(u, 0.0f, 1.0f) * (kRampStops - 1);
  const int i = std::min(static_cast<int>(u), kRampStops - 2);
  const float f = u - i;
  auto mix = [f](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a + f * (static_cast<float>(b) - a)));
  };
  return {mix(kRamp[i].r, kRamp[i + 1].r), mix(kRamp[i].g, kRamp[i + 1].g),
          mix(kRamp[i].b, kRamp[i + 1].b)};
}

}  // namespace

absl::StatusOr<std::string> RenderMelPng(absl::Span<const float> mel, int64_t n_frames, int n_mels,
                                         absl::Span<const int> reference_marks,
                                         absl::Span<const int> predicted_marks,
                                         const MelImageOptions& options) {
  if (n_frames < 1 || n_mels < 1 || static_cast<int64_t>(mel.size()) != n_frames * n_mels) {
    return absl::InvalidArgumentError(absl::StrCat("mel image: expected ", n_frames, " x ", n_mels,
                                                   " values (both >= 1), got ", mel.size()));
  }
  if (options.pixels_per_frame < 1 || options.pixels_per_bin < 1) {
    return absl::InvalidArgumentError("mel image: pixels per frame and per bin must be >= 1");
  }
  const int64_t width = n_frames * options.pixels_per_frame;
  const int64_t height = static_cast<int64_t>(n_mels) * options.pixels_per_bin;
  if (width > kMaxSide || height > kMaxSide) {
    return absl::InvalidArgumentError(absl::StrCat("mel image: ", width, " x ", height,
                                                   " pixels exceeds ", kMaxSide, " per side"));
  }
  for (absl::Span<const int> marks : {reference_marks, predicted_marks}) {
    for (int f : marks) {
      if (f < 0 || f > n_frames) {
        return absl::InvalidArgumentError(
            absl::StrCat("mel image: mark at frame ", f, " outside [0, ", n_frames, "]"));
      }
    }
  }
  float lo = options.min_value, hi = options.max_value;
  if (!(lo < hi)) {
    lo = *std::min_element(mel.begin(), mel.end());
    hi = *std::max_element(mel.begin(), mel.end());
    if (!(lo < hi)) hi = lo + 1.0f;
  }
  const float scale = 1.0f / (hi - lo);
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * 3));
  auto put = [&](int64_t x, int64_t y, Rgb c) {
    uint8_t* p = pixels.data() + (y * width + x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  };
  for (int64_t y = 0; y < height; ++y) {
    const int m = n_mels - 1 - static_cast<int>(y / options.pixels_per_bin);
    for (int64_t x = 0; x < width; ++x) {
      const int64_t t = x / options.pixels_per_frame;
      put(x, y, ColorMap((mel[t * n_mels + m] - lo) * scale));
    }
  }
  const int64_t half = height / 2;
  for (int f : reference_marks) {
    const int64_t x = std::min<int64_t>(int64_t{f} * options.pixels_per_frame, width - 1);
    for (int64_t y = 0; y < half; ++y) put(x, y, kReferenceMarkColor);
  }
  for (int f : predicted_marks) {
    const int64_t x = std::min<int64_t>(int64_t{f} * options.pixels_per_frame, width - 1);
    for (int64_t y = half; y < height; ++y) put(x, y, kPredictedMarkColor);
  }

  png_image image = {};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr)) {
    return absl::InternalError(absl::StrCat("mel image: libpng: ", image.message));
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels.data(), 0, nullptr)) {
    return absl::InternalError(absl::StrCat("mel image: libpng: ", image.message));
  }
  bytes.resize(size);
  return bytes;
}

absl::Status WriteFileBytes(absl::string_view path_view, absl::string_view bytes) {
  const std::string path(path_view);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat("write '", path, "': cannot create the file"));
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) {
    return absl::InternalError(absl::StrCat("write '", path, "': write failed"));
  }
  return absl::OkStatus();
}

}  // namespace lightspeech::features
