#include "features/mel_image.h"

#include <png.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

struct Decoded {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Rgb At(int x, int y) const {
    const uint8_t* p = rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
    return {p[0], p[1], p[2]};
  }
};

// Decodes PNG bytes to 8-bit RGB with libpng's simplified API.
Decoded Decode(const std::string& bytes) {
  png_image image = {};
  image.version = PNG_IMAGE_VERSION;
  Decoded d;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    ADD_FAILURE() << image.message;
    return d;
  }
  image.format = PNG_FORMAT_RGB;
  d.width = image.width;
  d.height = image.height;
  d.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, d.rgb.data(), 0, nullptr)) {
    ADD_FAILURE() << image.message;
  }
  return d;
}

TEST(MelImageTest, SizeColoursAndMarksSurviveDecoding) {
  const int frames = 20, n_mels = 8;
  std::vector<float> mel(frames * n_mels);
  for (int t = 0; t < frames; ++t) {
    for (int m = 0; m < n_mels; ++m) mel[t * n_mels + m] = static_cast<float>(m);  // Bright on top.
  }
  MelImageOptions options;
  options.pixels_per_frame = 3;
  options.pixels_per_bin = 4;
  auto png = RenderMelPng(mel, frames, n_mels, /*reference_marks=*/{5, 12},
                          /*predicted_marks=*/{12, 17}, options);
  ASSERT_TRUE(png.ok()) << png.status();
  const Decoded d = Decode(*png);
  ASSERT_EQ(d.width, frames * 3);
  ASSERT_EQ(d.height, n_mels * 4);
  const int top = 1, bottom = d.height - 2;
  // Reference marks: upper half only. Predicted: lower half only. Frame 12 has both.
  EXPECT_EQ(d.At(5 * 3, top), kReferenceMarkColor);
  EXPECT_FALSE(d.At(5 * 3, bottom) == kPredictedMarkColor);
  EXPECT_EQ(d.At(12 * 3, top), kReferenceMarkColor);
  EXPECT_EQ(d.At(12 * 3, bottom), kPredictedMarkColor);
  EXPECT_EQ(d.At(17 * 3, bottom), kPredictedMarkColor);
  EXPECT_FALSE(d.At(17 * 3, top) == kReferenceMarkColor);
  // Unmarked columns: the top row (highest bin) is brighter than the bottom row (bin 0).
  const Rgb hi = d.At(1, top), lo = d.At(1, bottom);
  EXPECT_GT(hi.r + hi.g + hi.b, lo.r + lo.g + lo.b);
  // The pixel next to a mark is not a mark.
  EXPECT_FALSE(d.At(5 * 3 + 1, top) == kReferenceMarkColor);
}

TEST(MelImageTest, RejectsBadInput) {
  std::vector<float> mel(10, 0.0f);
  EXPECT_EQ(RenderMelPng(mel, 3, 4, {}, {}).status().message(),
            "mel image: expected 3 x 4 values (both >= 1), got 10");
  EXPECT_EQ(RenderMelPng(mel, 5, 2, {6}, {}).status().message(),
            "mel image: mark at frame 6 outside [0, 5]");
}

TEST(MelImageTest, WriteToMissingDirectoryFails) {
  EXPECT_EQ(WriteFileBytes("/nonexistent/dir/x.png", "abc").message(),
            "write '/nonexistent/dir/x.png': cannot create the file");
}

}  // namespace
}  // namespace lightspeech::features
