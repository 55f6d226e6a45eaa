#include "records/utterance_io.h"

#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::records {
namespace {

Utterance MakeUtterance() {
  Utterance u;
  u.set_format_version(kUtteranceFormatVersion);
  u.set_id("LJ001-0001");
  u.set_text("Hello, world.");
  u.set_normalized_text("hello, world.");
  for (int i : {8, 5, 12, 12, 15}) u.add_symbol_ids(i);
  u.set_sample_rate(22050);
  u.set_hop_length(256);
  u.set_n_mels(3);
  u.set_n_frames(4);
  u.set_num_samples(3 * 256 + 10);
  for (int i = 0; i < 12; ++i) u.add_mel(-11.5f + 0.5f * i);
  u.set_speaker("ljs");
  auto* a = u.mutable_alignment();
  auto* w = a->add_words();
  w->set_start_frame(0);
  w->set_end_frame(4);
  w->set_label("hello");
  for (int d : {1, 1, 0, 1, 1}) a->add_durations(d);
  return u;
}

TEST(UtteranceIoTest, RoundTrip) {
  const Utterance u = MakeUtterance();
  std::string payload;
  ASSERT_TRUE(EncodeUtterance(u, &payload).ok());
  Utterance back;
  ASSERT_TRUE(DecodeUtterance(payload, "test", &back).ok());
  EXPECT_EQ(back.SerializeAsString(), payload);
  EXPECT_EQ(back.mel(11), u.mel(11));
  EXPECT_EQ(back.alignment().durations_size(), 5);
}

TEST(UtteranceIoTest, GarbageIsDataLossNamingThePlace) {
  Utterance u;
  const absl::Status s = DecodeUtterance(std::string("\xff\xff\xff", 3), "a.tfrecord: record at byte 7", &u);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "a.tfrecord: record at byte 7: not a valid Utterance protobuf (3 bytes)");
}

TEST(UtteranceIoTest, InconsistentRecordsAreRejectedWithReason) {
  std::string payload;
  {
    Utterance u = MakeUtterance();
    u.mutable_mel()->RemoveLast();
    EXPECT_EQ(EncodeUtterance(u, &payload).message(),
              "utterance 'LJ001-0001': mel has 11 values, expected 4 x 3 = 12");
  }
  {
    Utterance u = MakeUtterance();
    u.set_mel(4, std::numeric_limits<float>::quiet_NaN());
    EXPECT_EQ(EncodeUtterance(u, &payload).message(),
              "utterance 'LJ001-0001': non-finite mel value at frame 1, bin 1");
  }
  {
    Utterance u = MakeUtterance();
    u.mutable_alignment()->set_durations(0, 2);
    EXPECT_EQ(EncodeUtterance(u, &payload).message(),
              "utterance 'LJ001-0001': durations sum to 5 frames, expected n_frames=4");
  }
  {
    Utterance u = MakeUtterance();
    u.mutable_alignment()->mutable_words(0)->set_end_frame(5);
    EXPECT_EQ(EncodeUtterance(u, &payload).message(),
              "utterance 'LJ001-0001': word interval 0 [0, 5) is out of order or outside [0, 4)");
  }
  {
    Utterance u = MakeUtterance();
    u.set_format_version(kUtteranceFormatVersion + 1);
    EXPECT_EQ(EncodeUtterance(u, &payload).message(),
              "utterance 'LJ001-0001': unsupported format_version 2 (this build reads 1..1)");
  }
}

}  // namespace
}  // namespace lightspeech::records
