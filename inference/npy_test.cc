#include "inference/npy.h"

#include <cstdlib>
#include <string>

#include "base/file_util.h"
#include "gtest/gtest.h"

namespace lightspeech::inference {
namespace {

// Golden bytes written by hand from the NPY 1.0 spec (numpy.lib.format): magic "\x93NUMPY", version
// 1.0, header length 118 (0x76) little-endian, the dict padded with spaces to 128 bytes in all.
std::string Golden(const std::string& dict) {
  std::string h("\x93NUMPY\x01\x00\x76\x00", 10);
  h += dict;
  h.append(127 - h.size(), ' ');
  h.push_back('\n');
  return h;
}

TEST(NpyTest, HeaderOfAMelMatrix) {
  absl::StatusOr<std::string> h = NpyFloat32Header({80, 123});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, Golden("{'descr': '<f4', 'fortran_order': False, 'shape': (80, 123), }"));
  EXPECT_EQ(h->size(), 128u);
}

TEST(NpyTest, OneDimensionalShapeHasTrailingComma) {
  absl::StatusOr<std::string> h = NpyFloat32Header({5});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, Golden("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"));
}

TEST(NpyTest, DataFollowsHeaderLittleEndian) {
  absl::StatusOr<std::string> b = EncodeNpyFloat32({1.5f, -2.0f}, {2, 1});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->size(), 128u + 8u);
  // struct.pack('<f', 1.5) and struct.pack('<f', -2.0).
  EXPECT_EQ(b->substr(128), std::string("\x00\x00\xc0\x3f\x00\x00\x00\xc0", 8));
}

TEST(NpyTest, LongHeaderStaysAligned) {
  absl::StatusOr<std::string> h = NpyFloat32Header({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->size() % 64, 0u);
  EXPECT_EQ(h->back(), '\n');
  EXPECT_EQ(static_cast<size_t>(static_cast<unsigned char>((*h)[8]) | static_cast<unsigned char>((*h)[9]) << 8),
            h->size() - 10);
}

TEST(NpyTest, SizeMismatchFails) {
  absl::StatusOr<std::string> b = EncodeNpyFloat32({1.0f, 2.0f, 3.0f}, {80, 2});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "npy: shape (80, 2) holds 160 values, got 3");
}

TEST(NpyTest, NegativeDimensionFails) {
  absl::StatusOr<std::string> h = NpyFloat32Header({80, -1});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "npy: negative dimension in shape (80, -1)");
}

TEST(NpyTest, WritesFile) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/m.npy";
  ASSERT_TRUE(WriteNpyFloat32(path, {0.25f}, {1, 1}).ok());
  absl::StatusOr<std::string> read = base::ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->size(), 132u);
  EXPECT_EQ(read->substr(0, 6), "\x93NUMPY");
}

}  // namespace
}  // namespace lightspeech::inference
