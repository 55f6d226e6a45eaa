#include "train/event_writer.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "features/mel_image.h"
#include "gtest/gtest.h"
#include "records/record_io.h"
#include "train/testing/read_events.h"

namespace lightspeech::train {
namespace {

using testing::ReadEvents;

TEST(EventWriterTest, FileName) {
  EXPECT_EQ(EventFileName(1700000000, "box"), "events.out.tfevents.1700000000.box");
}

TEST(EventWriterTest, WritesScalarsImagesAndAudioThatReadBack) {
  const std::string logdir = absl::StrCat(::testing::TempDir(), "/logs/run1");
  const double before = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  auto writer = EventWriter::Create(logdir);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string path = (*writer)->path();
  const std::string name = path.substr(logdir.size() + 1);
  EXPECT_TRUE(absl::StartsWith(name, "events.out.tfevents.")) << name;

  ASSERT_TRUE((*writer)->AddScalar("loss/mel", 10, 0.25).ok());
  ASSERT_TRUE((*writer)->AddScalar("loss/mel", 20, 0.125).ok());

  std::vector<float> mel(30 * 8);
  for (size_t i = 0; i < mel.size(); ++i) mel[i] = std::sin(0.1f * i);
  auto png = features::RenderMelPng(mel, 30, 8, {}, {});
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_TRUE((*writer)->AddImagePng("mel/predicted", 20, *png, 60, 16).ok());

  std::vector<float> samples(2205);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = 0.5f * std::sin(0.05f * i);
  const std::string wav_path = absl::StrCat(::testing::TempDir(), "/clip.wav");
  ASSERT_TRUE(features::WriteWav16(wav_path, samples, 22050).ok());
  auto wav = base::ReadFile(wav_path);
  ASSERT_TRUE(wav.ok());
  ASSERT_TRUE((*writer)->AddAudioWav("audio/sample", 20, *wav, 22050, samples.size()).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  const double after = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());

  const std::vector<tensorboard::Event> events = ReadEvents(path);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  for (const auto& e : events) {
    EXPECT_GE(e.wall_time(), std::floor(before));
    EXPECT_LE(e.wall_time(), after);
  }
  EXPECT_EQ(events[1].step(), 10);
  ASSERT_EQ(events[1].summary().value_size(), 1);
  EXPECT_EQ(events[1].summary().value(0).tag(), "loss/mel");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.25f);
  EXPECT_EQ(events[2].step(), 20);
  EXPECT_EQ(events[2].summary().value(0).simple_value(), 0.125f);

  const auto& image = events[3].summary().value(0);
  EXPECT_EQ(image.tag(), "mel/predicted");
  EXPECT_EQ(image.image().width(), 60);
  EXPECT_EQ(image.image().height(), 16);
  EXPECT_EQ(image.image().colorspace(), 3);
  EXPECT_EQ(image.image().encoded_image_string(), *png);

  const auto& audio = events[4].summary().value(0);
  EXPECT_EQ(events[4].step(), 20);
  EXPECT_EQ(audio.tag(), "audio/sample");
  EXPECT_EQ(audio.audio().sample_rate(), 22050.0f);
  EXPECT_EQ(audio.audio().num_channels(), 1);
  EXPECT_EQ(audio.audio().length_frames(), 2205);
  EXPECT_EQ(audio.audio().content_type(), "audio/wav");
  EXPECT_EQ(audio.audio().encoded_audio_string(), *wav);

  // A second writer in the same second gets its own file.
  auto second = EventWriter::Create(logdir);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*second)->path(), path);
  EXPECT_EQ(ReadEvents((*second)->path()).size(), 1u);
}

// The field numbers and wire types TensorBoard relies on, checked on hand-assembled bytes.
TEST(EventWriterTest, WireFormatMatchesTensorFlowFieldNumbers) {
  tensorboard::Event e;
  e.set_wall_time(1.5);
  e.set_step(7);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag("x");
  v->set_simple_value(2.0f);
  std::string bytes;
  ASSERT_TRUE(e.SerializeToString(&bytes));
  const std::string expected = std::string(
      // wall_time: field 1, fixed64 (tag 0x09), 1.5 as a little-endian double
      "\x09\x00\x00\x00\x00\x00\x00\xf8\x3f"
      // step: field 2, varint
      "\x10\x07"
      // summary: field 5, length-delimited (0x2a), 10 bytes: Value (field 1, 0x0a), 8 bytes:
      // tag (field 1, 0x0a) "x", simple_value (field 2, fixed32 0x15) 2.0f
      "\x2a\x0a\x0a\x08\x0a\x01x\x15\x00\x00\x00\x40",
      23);
  EXPECT_EQ(bytes, expected);

  tensorboard::Summary::Value image;
  image.mutable_image()->set_height(1);
  image.mutable_image()->set_width(2);
  image.mutable_image()->set_colorspace(3);
  image.mutable_image()->set_encoded_image_string("p");
  ASSERT_TRUE(image.SerializeToString(&bytes));
  // image: field 4 (0x22); height (0x08), width (0x10), colorspace (0x18), encoded_image_string
  // (0x22).
  EXPECT_EQ(bytes, std::string("\x22\x09\x08\x01\x10\x02\x18\x03\x22\x01p", 11));

  tensorboard::Summary::Value audio;
  audio.mutable_audio()->set_sample_rate(1.0f);
  audio.mutable_audio()->set_num_channels(1);
  audio.mutable_audio()->set_length_frames(4);
  audio.mutable_audio()->set_encoded_audio_string("w");
  audio.mutable_audio()->set_content_type("a");
  ASSERT_TRUE(audio.SerializeToString(&bytes));
  // audio: field 6 (0x32); sample_rate fixed32 (0x0d), num_channels (0x10), length_frames (0x18),
  // encoded_audio_string (0x22), content_type (0x2a).
  EXPECT_EQ(bytes, std::string("\x32\x0f\x0d\x00\x00\x80\x3f\x10\x01\x18\x04\x22\x01w\x2a\x01"
                               "a",
                               17));
}

TEST(EventWriterTest, RejectsMalformedMedia) {
  auto writer = EventWriter::Create(absl::StrCat(::testing::TempDir(), "/logs/bad"));
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->AddImagePng("img", 1, "not a png", 2, 2),
            absl::InvalidArgumentError("event image img: not a PNG file"));
  std::vector<float> mel(4 * 3, 0.5f);
  auto png = features::RenderMelPng(mel, 4, 3, {}, {});
  ASSERT_TRUE(png.ok());
  EXPECT_EQ((*writer)->AddImagePng("img", 1, *png, 8, 5),
            absl::InvalidArgumentError("event image img: the PNG is 8x6, not 8x5"));
  EXPECT_EQ((*writer)->AddAudioWav("clip", 1, "RIFF", 22050, 0),
            absl::InvalidArgumentError("event audio clip: not a WAV file"));
  EXPECT_EQ((*writer)->AddAudioWav("clip", 1, std::string("RIFF\0\0\0\0WAVE", 12), 0, 0),
            absl::InvalidArgumentError("event audio clip: bad sample rate 0 or length 0"));
  EXPECT_EQ(ReadEvents((*writer)->path()).size(), 1u) << "nothing written for rejected media";
}

TEST(EventWriterTest, UnwritableLogFolderIsAnError) {
  const std::string file = absl::StrCat(::testing::TempDir(), "/plain_file");
  ASSERT_TRUE(base::WriteFileAtomically(file, "x").ok());
  auto writer = EventWriter::Create(absl::StrCat(file, "/logs"));
  EXPECT_FALSE(writer.ok());
  EXPECT_TRUE(absl::StrContains(writer.status().message(), absl::StrCat(file, "/logs")))
      << writer.status();
}

}  // namespace
}  // namespace lightspeech::train
