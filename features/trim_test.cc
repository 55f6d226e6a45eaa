#include "features/trim.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

// 1 s of silence-level noise, 1 s of a 440 Hz tone, 0.5 s of silence-level noise at 22050 Hz.
std::vector<float> ToneBetweenQuietParts(float quiet_amplitude) {
  std::vector<float> x;
  for (int i = 0; i < 22050; ++i) x.push_back(quiet_amplitude * ((i % 7) - 3) / 3.0f);
  for (int i = 0; i < 22050; ++i) x.push_back(0.5f * std::sin(2 * M_PI * 440 * i / 22050.0));
  for (int i = 0; i < 11025; ++i) x.push_back(quiet_amplitude * ((i % 5) - 2) / 2.0f);
  return x;
}

TEST(SilenceTrimTest, CutsQuietEdgesToWithinAHopOfTheSound) {
  // The quiet parts sit about 60 dB below the tone: trimmed at 40 dB, kept at 80 dB.
  const std::vector<float> x = ToneBetweenQuietParts(0.0005f);
  absl::StatusOr<TrimRange> r = FindSilenceTrim(x, 40.0);
  ASSERT_TRUE(r.ok()) << r.status();
  // Frames whose 1024-sample window reaches into the tone (centers from 22050 - 512) are loud
  // enough: the first is frame ceil((22050 - 512) / 256) ... give or take the window's edge.
  EXPECT_NEAR(r->begin, 22050 - 512, 2 * 256);
  EXPECT_NEAR(r->end, 44100 + 512, 2 * 256);
  absl::StatusOr<TrimRange> keep = FindSilenceTrim(x, 80.0);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->begin, 0);
  EXPECT_EQ(keep->end, static_cast<int64_t>(x.size()));
}

TEST(SilenceTrimTest, KeepsSilentAndShortClipsWhole) {
  absl::StatusOr<TrimRange> zeros = FindSilenceTrim(std::vector<float>(5000, 0.0f), 40.0);
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(zeros->begin, 0);
  EXPECT_EQ(zeros->end, 5000);
  absl::StatusOr<TrimRange> one = FindSilenceTrim({0.3f}, 40.0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->end, 1);
}

TEST(SilenceTrimTest, RejectsBadArguments) {
  EXPECT_EQ(FindSilenceTrim({}, 40.0).status().message(), "silence trim: no samples");
  EXPECT_EQ(FindSilenceTrim({0.1f}, 0.0).status().message(), "silence trim: top_db must be > 0, got 0");
  EXPECT_EQ(FindSilenceTrim({0.1f}, 40.0, 0, 256).status().message(),
            "silence trim: window 0 and hop 256 must be >= 1");
}

}  // namespace
}  // namespace lightspeech::features
