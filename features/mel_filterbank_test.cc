#include "features/mel_filterbank.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::features {
namespace {

TEST(MelFilterbankTest, SlaneyScale) {
  EXPECT_DOUBLE_EQ(HzToMelSlaney(0.0), 0.0);
  EXPECT_DOUBLE_EQ(HzToMelSlaney(1000.0), 15.0);
  EXPECT_NEAR(HzToMelSlaney(8000.0), 45.245640471924965, 1e-12);  // librosa.hz_to_mel(8000)
  for (double hz : {10.0, 500.0, 999.0, 1000.0, 4000.0, 11025.0}) {
    EXPECT_NEAR(MelToHzSlaney(HzToMelSlaney(hz)), hz, 1e-9);
  }
}

TEST(MelFilterbankTest, MatchesTorchaudioWeights) {
  auto fb = MelFilterbank::Create(513, 80, 22050, 0.0, 8000.0);
  ASSERT_TRUE(fb.ok()) << fb.status();
  // torchaudio.functional.melscale_fbanks(513, 0., 8000., 80, 22050, norm='slaney',
  // mel_scale='slaney'), rows [k] and columns [m], torchaudio 0.13.1.
  EXPECT_NEAR(fb->Weight(0, 1), 0.0155277, 1e-6);
  EXPECT_NEAR(fb->Weight(0, 2), 0.0226514, 1e-6);
  EXPECT_NEAR(fb->Weight(40, 79), 0.0103352, 1e-6);
  EXPECT_NEAR(fb->Weight(79, 360), 0.0027828, 1e-6);
  EXPECT_EQ(fb->Weight(40, 130), 0.0f);
  // Nonzero ranges: filter 0 on bins 1..3, filter 40 on 77..83, filter 79 on 345..371.
  EXPECT_EQ(fb->begin(0), 1);
  EXPECT_EQ(fb->end(0), 4);
  EXPECT_EQ(fb->begin(40), 77);
  EXPECT_EQ(fb->end(40), 84);
  EXPECT_EQ(fb->begin(79), 345);
  EXPECT_EQ(fb->end(79), 372);
}

TEST(MelFilterbankTest, SparseApplyEqualsDense) {
  auto fb = MelFilterbank::Create(513, 80, 22050, 0.0, 8000.0);
  ASSERT_TRUE(fb.ok());
  std::vector<float> spectrum(513), mel(80), back(513);
  for (int k = 0; k < 513; ++k) spectrum[k] = 1.0f + 0.01f * k;
  fb->Apply(spectrum.data(), mel.data());
  for (int m = 0; m < 80; ++m) {
    double dense = 0.0;
    for (int k = 0; k < 513; ++k) dense += fb->Weight(m, k) * spectrum[k];
    EXPECT_NEAR(mel[m], dense, 1e-6 * dense);
  }
  fb->ApplyTranspose(mel.data(), back.data());
  for (int k = 0; k < 513; ++k) {
    double dense = 0.0;
    for (int m = 0; m < 80; ++m) dense += fb->Weight(m, k) * mel[m];
    EXPECT_NEAR(back[k], dense, 1e-6 * (dense + 1e-9));
  }
}

TEST(MelFilterbankTest, RejectsBadRanges) {
  EXPECT_EQ(MelFilterbank::Create(513, 80, 22050, 0.0, 12000.0).status().message(),
            "mel filterbank: need 0 <= f_min < f_max <= 11025, got f_min=0 f_max=12000");
}

}  // namespace
}  // namespace lightspeech::features
