#include "train/feature_settings.h"

#include "gtest/gtest.h"

namespace lightspeech::train {
namespace {

TEST(FeatureSettingsTest, SetFieldsReplaceTheDefaults) {
  records::FeatureSettings f;
  f.set_sample_rate(16000);
  f.set_n_fft(512);
  f.set_hop_length(128);
  f.set_win_length(400);
  f.set_n_mels(40);
  f.set_fmin(50);
  f.set_fmax(7000);
  f.set_window("hamming_periodic");
  f.set_log_floor(1e-4f);
  absl::StatusOr<features::LogMelOptions> o = LogMelOptionsFromSettings(f, 40);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->sample_rate, 16000);
  EXPECT_EQ(o->n_fft, 512);
  EXPECT_EQ(o->hop_length, 128);
  EXPECT_EQ(o->win_length, 400);
  EXPECT_EQ(o->n_mels, 40);
  EXPECT_EQ(o->f_min, 50);
  EXPECT_EQ(o->f_max, 7000);
  EXPECT_EQ(o->window, features::WindowType::kPeriodicHamming);
  EXPECT_FLOAT_EQ(o->log_floor, 1e-4f);
}

TEST(FeatureSettingsTest, EmptySettingsAreTheDesignDefaultsWithTheModelsBins) {
  absl::StatusOr<features::LogMelOptions> o = LogMelOptionsFromSettings(records::FeatureSettings(), 6);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->sample_rate, 22050);
  EXPECT_EQ(o->n_fft, 1024);
  EXPECT_EQ(o->hop_length, 256);
  EXPECT_EQ(o->n_mels, 6);
  EXPECT_EQ(o->f_max, 8000);
}

TEST(FeatureSettingsTest, OtherBinsOrUnusableSettingsFail) {
  records::FeatureSettings f;
  f.set_n_mels(40);
  EXPECT_EQ(LogMelOptionsFromSettings(f, 80).status(),
            absl::InvalidArgumentError("the feature settings have 40 mel bins, the model 80"));
  f.set_sample_rate(8000);  // f_max 8000 is above Nyquist
  const absl::Status s = LogMelOptionsFromSettings(f, 40).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(s.message().empty());
}

}  // namespace
}  // namespace lightspeech::train
