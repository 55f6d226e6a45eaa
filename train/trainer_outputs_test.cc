// What the trainer writes beside its parameters: the corpus's feature settings in every checkpoint
// (kept across a resume) and, every validation pass, the first validation utterance's predicted mel
// as a Griffin-Lim wav in the TensorBoard event file.

#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "gtest/gtest.h"
#include "records/record_io.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/event_writer.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/read_events.h"
#include "train/testing/tiny_model.h"
#include "train/trainer.h"

namespace lightspeech::train {
namespace {

using testing::InMemoryBatchSource;
using testing::SyntheticBatches;
using testing::SyntheticSymbols;

constexpr int kMels = 80;  // records::MakeSyntheticUtterance
constexpr int kMaxDuration = 8;
constexpr int kSampleRate = 16000;
constexpr int kHop = 200;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

TrainConfig TinyConfig(const std::string& run_dir) {
  TrainConfig c;
  *c.mutable_model() = testing::TinyModel();
  c.set_aligner(TrainConfig::MAS);
  c.mutable_optimizer()->set_lr(3e-3);
  c.set_seed(3);
  c.set_steps(2);
  c.set_validate_every(1);
  c.set_log_every(1);
  c.set_threads(1);
  c.set_validation_audio_iterations(4);
  c.set_run_dir(run_dir);
  return c;
}

// 16 kHz, hop 200: not the defaults, so the audio shows which settings were used.
records::FeatureSettings Settings() {
  records::FeatureSettings f;
  f.set_sample_rate(kSampleRate);
  f.set_n_fft(800);
  f.set_hop_length(kHop);
  f.set_win_length(800);
  f.set_n_mels(kMels);
  f.set_fmin(0);
  f.set_fmax(8000);
  f.set_window("hann_periodic");
  f.set_mel_scale("slaney");
  f.set_mel_norm("slaney");
  f.set_log_floor(1e-5f);
  f.set_center(true);
  return f;
}

using testing::ReadEvents;

// Decodes a wav with libsndfile (through a file).
absl::StatusOr<features::Audio> DecodeWav(const std::string& bytes, const std::string& path, int rate) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(path);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return features::ReadAudio(path, rate);
}

TEST(TrainerOutputsTest, ValidationAudioInTheEventFileAndFeatureSettingsInCheckpoints) {
  const std::string run = FreshDir("audio_run");
  TrainConfig c = TinyConfig(run);
  absl::StatusOr<std::unique_ptr<EventWriter>> events = EventWriter::Create(run + "/events");
  ASSERT_TRUE(events.ok()) << events.status();
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", events->get(), "");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE((*t)->SetFeatureSettings(Settings()).ok());
  InMemoryBatchSource train(SyntheticBatches(2, 2), true);
  const std::vector<HostBatch> val = SyntheticBatches(1, 2, "val");
  const int64_t frames = val[0].frame_lengths[0];  // the first validation utterance
  InMemoryBatchSource validation(val, false);
  ASSERT_TRUE((*t)->Train(train, &validation).ok());
  ASSERT_TRUE((*events)->Flush().ok());

  int audio_events = 0;
  for (const tensorboard::Event& e : ReadEvents((*events)->path())) {
    if (!e.has_summary()) continue;
    for (const tensorboard::Summary::Value& v : e.summary().value()) {
      if (v.tag() != "val/audio_predicted") continue;
      ++audio_events;
      EXPECT_EQ(e.step(), audio_events);  // every pass (validate_every 1)
      const tensorboard::Summary::Audio& a = v.audio();
      EXPECT_EQ(a.sample_rate(), kSampleRate);
      EXPECT_EQ(a.num_channels(), 1);
      EXPECT_EQ(a.content_type(), "audio/wav");
      // Griffin-Lim writes hop * (frames - 1) samples.
      EXPECT_EQ(a.length_frames(), kHop * (frames - 1));
      absl::StatusOr<features::Audio> wav =
          DecodeWav(a.encoded_audio_string(), absl::StrCat(run, "/step", e.step(), ".wav"), kSampleRate);
      ASSERT_TRUE(wav.ok()) << wav.status();
      EXPECT_EQ(wav->stats.source_sample_rate, kSampleRate);
      EXPECT_EQ(wav->stats.source_channels, 1);
      EXPECT_EQ(wav->stats.source_frames, a.length_frames());
      EXPECT_GT(wav->stats.peak, 0.0f);
      EXPECT_LE(wav->stats.peak, 0.99f + 1.0f / 32768);
    }
  }
  EXPECT_EQ(audio_events, 2);
  absl::StatusOr<std::string> log = base::ReadFile(run + "/train.log");
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(absl::StrContains(*log, absl::StrCat("step 2 validation audio: ", frames, " frames, "))) << *log;

  // The checkpoint records the settings; a resumed trainer without its own keeps writing them.
  absl::StatusOr<std::string> latest = LatestCheckpoint(run + "/checkpoints");
  ASSERT_TRUE(latest.ok()) << latest.status();
  absl::StatusOr<Checkpoint> saved = ReadCheckpoint(*latest);
  ASSERT_TRUE(saved.ok()) << saved.status();
  ASSERT_TRUE(saved->has_features());
  EXPECT_EQ(FirstDifference(saved->features(), Settings()), "");
  c.set_steps(3);
  absl::StatusOr<std::unique_ptr<Trainer>> resumed =
      Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_TRUE((*resumed)->Restore(*latest).ok());
  ASSERT_TRUE((*resumed)->SaveCheckpoint().ok());
  saved = ReadCheckpoint(CheckpointPath(run + "/checkpoints", 2));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(FirstDifference(saved->features(), Settings()), "");

  // A resume on data with other settings keeps the data's and says so in the text log.
  records::FeatureSettings other = Settings();
  other.set_fmax(7600);
  absl::StatusOr<std::unique_ptr<Trainer>> moved =
      Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "");
  ASSERT_TRUE(moved.ok()) << moved.status();
  ASSERT_TRUE((*moved)->SetFeatureSettings(other).ok());
  ASSERT_TRUE((*moved)->Restore(*latest).ok());
  log = base::ReadFile(run + "/train.log");
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(absl::StrContains(*log, "the data's feature settings differ from the checkpoint's: fmax: 8000 vs 7600"))
      << *log;
}

TEST(TrainerOutputsTest, NoAudioWhenTurnedOffAndNoSettingsWithoutAManifest) {
  const std::string run = FreshDir("no_audio_run");
  TrainConfig c = TinyConfig(run);
  c.set_steps(1);
  c.set_validation_audio_iterations(-1);
  absl::StatusOr<std::unique_ptr<EventWriter>> events = EventWriter::Create(run + "/events");
  ASSERT_TRUE(events.ok()) << events.status();
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(c, SyntheticSymbols(), kMels, kMaxDuration, "cpu", events->get(), "");
  ASSERT_TRUE(t.ok()) << t.status();
  InMemoryBatchSource train(SyntheticBatches(2, 2), true);
  InMemoryBatchSource validation(SyntheticBatches(1, 2, "val"), false);
  ASSERT_TRUE((*t)->Train(train, &validation).ok());
  ASSERT_TRUE((*events)->Flush().ok());
  int images = 0;
  for (const tensorboard::Event& e : ReadEvents((*events)->path())) {
    for (const tensorboard::Summary::Value& v : e.summary().value()) {
      EXPECT_FALSE(v.has_audio()) << v.tag();
      images += v.has_image();
    }
  }
  EXPECT_EQ(images, 2);  // the pictures are still there
  absl::StatusOr<Checkpoint> saved = ReadCheckpoint(CheckpointPath(run + "/checkpoints", 1));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_FALSE(saved->has_features());
}

TEST(TrainerOutputsTest, SettingsWithOtherMelBinsAreRefused) {
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(TinyConfig(FreshDir("bins_run")), SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "");
  ASSERT_TRUE(t.ok()) << t.status();
  records::FeatureSettings f = Settings();
  f.set_n_mels(40);
  EXPECT_EQ((*t)->SetFeatureSettings(f),
            absl::InvalidArgumentError("Trainer: the feature settings have 40 mel bins, the model 80"));
}

}  // namespace
}  // namespace lightspeech::train
