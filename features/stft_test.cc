#include "features/stft.h"

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

constexpr double kRoundTripTolerance = 1e-5;

TEST(StftTest, CreateRejectsBadSizes) {
  EXPECT_EQ(Stft::Create(1023, 256, 1024).status().message(),
            "stft: n_fft must be even and >= 2, got 1023");
  EXPECT_EQ(Stft::Create(1024, 0, 1024).status().message(), "stft: hop must be >= 1, got 0");
  EXPECT_EQ(Stft::Create(1024, 256, 2048).status().message(),
            "stft: win_length must be in [1, n_fft=1024], got 2048");
}

TEST(StftTest, PeriodicHannWindow) {
  auto stft = Stft::Create(8, 2, 8);
  ASSERT_TRUE(stft.ok());
  const std::vector<float> want = {0.0f, 0.1464466f, 0.5f, 0.8535534f, 1.0f,
                                   0.8535534f, 0.5f, 0.1464466f};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(stft->window()[i], want[i], 1e-6);
}

TEST(StftTest, ReflectPadMatchesTorch) {
  auto stft = Stft::Create(4, 1, 4);
  ASSERT_TRUE(stft.ok());
  std::vector<float> padded;
  ASSERT_TRUE(stft->PadReflect({1, 2, 3, 4, 5}, &padded).ok());
  EXPECT_EQ(padded, (std::vector<float>{3, 2, 1, 2, 3, 4, 5, 4, 3}));
  EXPECT_EQ(stft->PadReflect({1, 2}, &padded).message(),
            "stft: reflect padding by 2 needs more than 2 samples, got 2");
}

TEST(StftTest, SineLandsInItsBin) {
  auto stft = Stft::Create(1024, 256, 1024);
  ASSERT_TRUE(stft.ok());
  std::vector<float> x(8192);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(2.0 * M_PI * 64.0 * i / 1024.0);
  std::vector<std::complex<float>> spec;
  ASSERT_TRUE(stft->Forward(x, &spec).ok());
  ASSERT_EQ(spec.size(), static_cast<size_t>(stft->NumFrames(8192) * 513));
  const int64_t t = 10;
  // A unit sine under a periodic Hann window of 1024 has |X| = 1024 / 4 at its bin.
  EXPECT_NEAR(std::abs(spec[t * 513 + 64]), 256.0, 0.05);
  EXPECT_LT(std::abs(spec[t * 513 + 200]), 1e-2);
  std::vector<float> mag(513);
  std::vector<float> padded;
  ASSERT_TRUE(stft->PadReflect(x, &padded).ok());
  stft->FrameMagnitude(padded.data() + t * 256, mag.data());
  for (int k = 0; k < 513; ++k) EXPECT_NEAR(mag[k], std::abs(spec[t * 513 + k]), 1e-3);
}

TEST(StftTest, InverseReconstructsSignal) {
  auto stft = Stft::Create(1024, 256, 1024);
  ASSERT_TRUE(stft.ok());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> x(256 * 40);
  for (float& v : x) v = normal(rng);
  std::vector<std::complex<float>> spec;
  ASSERT_TRUE(stft->Forward(x, &spec).ok());
  std::vector<float> y;
  const int64_t frames = stft->NumFrames(x.size());
  ASSERT_TRUE(stft->Inverse(spec, frames, &y).ok());
  ASSERT_EQ(y.size(), x.size());
  double max_err = 0.0;
  for (size_t i = 0; i < x.size(); ++i) max_err = std::max(max_err, double(std::fabs(x[i] - y[i])));
  EXPECT_LT(max_err, kRoundTripTolerance);
  EXPECT_EQ(stft->Inverse(spec, frames + 1, &y).message(),
            "istft: expected 42 x 513 bins, got 21033");
}

}  // namespace
}  // namespace lightspeech::features
