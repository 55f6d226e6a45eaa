#include "tools/synthesize_lib.h"

#include <sys/stat.h>

#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "gtest/gtest.h"
#include "inference/synthesizer_testing.h"
#include "records/manifest.pb.h"
#include "records/manifest_io.h"
#include "train/checkpoint.h"

namespace lightspeech::tools {
namespace {

constexpr int64_t kFramesPerToken = 5;
constexpr int kHop = 256;

std::string Dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/" + name;
  ::mkdir(d.c_str(), 0755);
  return d;
}

std::string TinyCheckpoint(const std::string& dir) {
  const std::string path = dir + "/ckpt.pb";
  EXPECT_TRUE(inference::testing::WriteTinyCheckpoint(path, inference::testing::EnglishTable(), kFramesPerToken).ok());
  return path;
}

TEST(NumberedPathTest, BeforeTheExtension) {
  EXPECT_EQ(NumberedPath("a/out.wav", 7), "a/out-0007.wav");
  EXPECT_EQ(NumberedPath("a.b/out", 12), "a.b/out-0012");
  EXPECT_EQ(NumberedPath("mel.npy", 12345), "mel-12345.npy");
}

TEST(ResolveFeatureSettingsTest, DefaultsManifestAndMismatch) {
  std::string source;
  train::TrainConfig config;
  absl::StatusOr<features::LogMelOptions> d = ResolveFeatureSettings("", nullptr, config, 80, &source);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->sample_rate, 22050);
  EXPECT_EQ(d->hop_length, 256);
  EXPECT_EQ(source,
            "feature settings: the docs/DESIGN.md defaults (22050 Hz, n_fft 1024, hop 256, 0-8000 Hz); the checkpoint "
            "does not record them, pass --data=CORPUS for the training corpus's");

  const std::string dir = Dir("corpus");
  records::Manifest m;
  m.set_format_version(records::kManifestFormatVersion);
  records::FeatureSettings* f = m.mutable_features();
  f->set_sample_rate(16000);
  f->set_n_fft(512);
  f->set_hop_length(128);
  f->set_win_length(512);
  f->set_n_mels(40);
  f->set_fmin(50);
  f->set_fmax(7000);
  f->set_window("hann_periodic");
  f->set_log_floor(1e-5f);
  ASSERT_TRUE(records::WriteManifest(dir, m).ok());
  // From the checkpoint's data_dir when no --data is given.
  config.mutable_data()->set_data_dir(dir);
  absl::StatusOr<features::LogMelOptions> r = ResolveFeatureSettings("", nullptr, config, 40, &source);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sample_rate, 16000);
  EXPECT_EQ(r->n_fft, 512);
  EXPECT_EQ(r->hop_length, 128);
  EXPECT_EQ(r->f_min, 50);
  EXPECT_EQ(r->f_max, 7000);
  EXPECT_EQ(source, "feature settings from the checkpoint's training data " + dir);

  absl::StatusOr<features::LogMelOptions> bad = ResolveFeatureSettings(dir, nullptr, train::TrainConfig(), 80, &source);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), dir + ": the manifest has 40 mel bins, the checkpoint 80");
}

TEST(ResolveFeatureSettingsTest, TheCheckpointsOwnComeFirst) {
  records::FeatureSettings own;
  own.set_sample_rate(16000);
  own.set_n_fft(512);
  own.set_hop_length(160);
  own.set_win_length(400);
  own.set_n_mels(40);
  own.set_fmax(8000);
  // A data folder of the checkpoint's config whose manifest says otherwise is not consulted.
  const std::string dir = Dir("corpus_other");
  records::Manifest m;
  m.set_format_version(records::kManifestFormatVersion);
  *m.mutable_features() = own;
  m.mutable_features()->set_hop_length(200);
  ASSERT_TRUE(records::WriteManifest(dir, m).ok());
  train::TrainConfig config;
  config.mutable_data()->set_data_dir(dir);
  std::string source;
  absl::StatusOr<features::LogMelOptions> r = ResolveFeatureSettings("", &own, config, 40, &source);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sample_rate, 16000);
  EXPECT_EQ(r->hop_length, 160);
  EXPECT_EQ(r->win_length, 400);
  EXPECT_EQ(source, "feature settings from the checkpoint");
  // An explicit --data is compared, not used.
  r = ResolveFeatureSettings(dir, &own, config, 40, &source);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hop_length, 160);
  EXPECT_EQ(source, "feature settings from the checkpoint (" + dir + "'s differ and were not used: hop_length: 160 vs 200)");
  m.mutable_features()->set_hop_length(160);
  ASSERT_TRUE(records::WriteManifest(dir, m).ok());
  ASSERT_TRUE(ResolveFeatureSettings(dir, &own, config, 40, &source).ok());
  EXPECT_EQ(source, "feature settings from the checkpoint (the same as " + dir + "'s)");
  EXPECT_EQ(ResolveFeatureSettings("", &own, config, 80, &source).status(),
            absl::InvalidArgumentError("checkpoint: the feature settings have 40 mel bins, the model 80"));
}

TEST(RunSynthesizeTest, TextToWavPngAndNpy) {
  const std::string dir = Dir("one");
  SynthesizeOptions o;
  o.checkpoint = TinyCheckpoint(dir);
  o.text = "Hello there!";
  o.out = dir + "/hello.wav";
  o.mel_out = dir + "/hello.npy";
  o.griffin_lim_iterations = 4;
  std::ostringstream out, err;
  absl::Status s = RunSynthesize(o, out, err);
  ASSERT_TRUE(s.ok()) << s << err.str();
  const int64_t frames = 12 * kFramesPerToken;  // "hello there!" is 12 symbols
  absl::StatusOr<features::Audio> audio = features::ReadAudio(o.out);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.source_frames, (frames - 1) * kHop);
  EXPECT_TRUE(base::IsRegularFile(dir + "/hello.png"));
  absl::StatusOr<std::string> npy = base::ReadFile(o.mel_out);
  ASSERT_TRUE(npy.ok()) << npy.status();
  EXPECT_EQ(npy->size(), 128u + 4u * inference::testing::kTinyMels * frames);
  EXPECT_TRUE(absl::StrContains(*npy, "'shape': (6, 60), }")) << npy->substr(0, 128);
  EXPECT_TRUE(absl::StrContains(out.str(), "12 symbols, 60 frames, 0.70 s of audio")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "real-time factor")) << out.str();
  EXPECT_TRUE(absl::StrContains(err.str(), "feature settings: the docs/DESIGN.md defaults")) << err.str();
}

// A checkpoint that records its data's feature settings: Griffin-Lim uses its rate and hop.
TEST(RunSynthesizeTest, UsesTheCheckpointsFeatureSettings) {
  const std::string dir = Dir("own_settings");
  const std::string path = TinyCheckpoint(dir);
  absl::StatusOr<train::Checkpoint> c = train::ReadCheckpoint(path);
  ASSERT_TRUE(c.ok()) << c.status();
  records::FeatureSettings* f = c->mutable_features();
  f->set_sample_rate(16000);
  f->set_n_fft(512);
  f->set_hop_length(160);
  f->set_win_length(512);
  f->set_n_mels(inference::testing::kTinyMels);
  f->set_fmax(8000);
  ASSERT_TRUE(train::WriteCheckpoint(*c, path).ok());
  SynthesizeOptions o;
  o.checkpoint = path;
  o.text = "Hello there!";
  o.out = dir + "/hello.wav";
  o.griffin_lim_iterations = 2;
  std::ostringstream out, err;
  absl::Status s = RunSynthesize(o, out, err);
  ASSERT_TRUE(s.ok()) << s << err.str();
  absl::StatusOr<features::Audio> audio = features::ReadAudio(o.out, 16000);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->stats.source_sample_rate, 16000);
  EXPECT_EQ(audio->stats.source_frames, (12 * kFramesPerToken - 1) * 160);
  EXPECT_TRUE(absl::StrContains(err.str(), "feature settings from the checkpoint\n")) << err.str();
}

TEST(RunSynthesizeTest, TextFileNumbersOutputsByLineAndWarns) {
  const std::string dir = Dir("file");
  const std::string texts = dir + "/texts.txt";
  ASSERT_TRUE(base::WriteFileAtomically(texts, "first line\n\n  third \xE2\x98\xBA line\n").ok());
  SynthesizeOptions o;
  o.checkpoint = TinyCheckpoint(dir);
  o.text_file = texts;
  o.out = dir + "/o.wav";
  o.griffin_lim_iterations = 1;
  o.batch_size = 2;
  std::ostringstream out, err;
  ASSERT_TRUE(RunSynthesize(o, out, err).ok()) << err.str();
  EXPECT_TRUE(base::IsRegularFile(dir + "/o-0001.wav"));
  EXPECT_TRUE(base::IsRegularFile(dir + "/o-0001.png"));
  EXPECT_FALSE(base::IsRegularFile(dir + "/o-0002.wav"));
  EXPECT_TRUE(base::IsRegularFile(dir + "/o-0003.wav"));
  EXPECT_TRUE(absl::StrContains(err.str(), "warning: " + texts +
                                               ":3: symbols not in the checkpoint's table, skipped: '\xE2\x98\xBA'"))
      << err.str();
}

TEST(RunSynthesizeTest, BadOptions) {
  std::ostringstream out, err;
  SynthesizeOptions o;
  EXPECT_EQ(RunSynthesize(o, out, err).message(), "--checkpoint is required");
  o.checkpoint = "x.pb";
  EXPECT_EQ(RunSynthesize(o, out, err).message(), "give exactly one of --text, --text_file, --phonemes");
  o.text = "a";
  o.phonemes = "a";
  EXPECT_EQ(RunSynthesize(o, out, err).message(), "give exactly one of --text, --text_file, --phonemes");
  o.phonemes = "";
  o.speed = -1;
  EXPECT_EQ(RunSynthesize(o, out, err).message(), "--speed must be > 0, got -1");
  o.speed = 1;
  const std::string dir = Dir("bad");
  o.checkpoint = TinyCheckpoint(dir);
  o.text = "";
  o.phonemes = "@@";
  o.out = dir + "/x.wav";
  EXPECT_EQ(RunSynthesize(o, out, err).message(), "text 0: no symbol of the checkpoint's table in ['@@']");
}

}  // namespace
}  // namespace lightspeech::tools
