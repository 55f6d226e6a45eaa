#include "records/manifest_io.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::records {
namespace {

using ::testing::HasSubstr;

Manifest MakeManifest() {
  Manifest m;
  m.set_format_version(kManifestFormatVersion);
  m.set_corpus("testdata/corpus");
  auto* f = m.mutable_features();
  f->set_sample_rate(22050);
  f->set_n_fft(1024);
  f->set_hop_length(256);
  f->set_win_length(1024);
  f->set_n_mels(80);
  f->set_fmax(8000);
  m.mutable_symbols()->add_symbols("_");
  m.mutable_symbols()->add_symbols("a");
  auto* s = m.add_shards();
  s->set_path("train-00000-of-00001.tfrecord");
  s->set_split(TRAIN);
  s->set_num_records(3);
  s->set_num_frames(300);
  s->set_seconds(3.48);
  s = m.add_shards();
  s->set_path("validation-00000-of-00001.tfrecord");
  s->set_split(VALIDATION);
  s->set_num_records(1);
  s->set_num_frames(50);
  UpdateManifestTotals(&m);
  return m;
}

TEST(ManifestIoTest, RoundTripsThroughTextFormat) {
  const std::string dir = ::testing::TempDir();
  const Manifest m = MakeManifest();
  EXPECT_EQ(m.num_records(), 4);
  ASSERT_TRUE(WriteManifest(dir, m).ok());
  auto back = ReadManifest(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), m.SerializeAsString());
  EXPECT_THAT(*base::ReadFile(absl::StrCat(dir, "/manifest.pbtxt")), HasSubstr("split: VALIDATION"));
}

TEST(ManifestIoTest, ParseErrorNamesFileLineAndColumn) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/bad.pbtxt");
  ASSERT_TRUE(base::WriteFileAtomically(path, "format_version: 1\nshards {\n  pathh: \"x\"\n}\n").ok());
  auto m = ReadManifest(path);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("bad.pbtxt: line 3, column 8:"));
  EXPECT_THAT(m.status().message(), HasSubstr("pathh"));
}

TEST(ManifestIoTest, ShardPathsMustStayInsideTheFolder) {
  for (const char* bad : {"../evil.tfrecord", "/etc/passwd", "a/../../b", ""}) {
    Manifest m = MakeManifest();
    m.mutable_shards(0)->set_path(bad);
    const absl::Status s = ValidateManifest(m);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("manifest: shard 0")) << bad;
  }
}

TEST(ManifestIoTest, TotalsMustMatchShards) {
  Manifest m = MakeManifest();
  m.set_num_records(5);
  EXPECT_EQ(ValidateManifest(m).message(),
            "manifest: totals (5 records, 350 frames) differ from the sums over shards (4, 350)");
}

TEST(ManifestIoTest, DuplicateShardAndMissingSplitAreRejected) {
  Manifest m = MakeManifest();
  m.mutable_shards(1)->set_path(m.shards(0).path());
  EXPECT_THAT(ValidateManifest(m).message(), HasSubstr("listed twice"));
  m = MakeManifest();
  m.mutable_shards(1)->set_split(SPLIT_UNSPECIFIED);
  EXPECT_THAT(ValidateManifest(m).message(), HasSubstr("split must be TRAIN or VALIDATION"));
}

}  // namespace
}  // namespace lightspeech::records
