#include "records/synthetic.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::records {
namespace {

// Writes a corpus and reads it back: every utterance exactly once, counts as the manifest says.
TEST(SyntheticTest, CorpusRoundTripsEveryUtteranceOnce) {
  const std::string dir = ::testing::TempDir();
  auto m = WriteSyntheticCorpus(dir, 50, 3, 0.2);
  ASSERT_TRUE(m.ok()) << m.status();
  auto back = ReadManifest(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->num_records(), 50);
  EXPECT_EQ(back->shards_size(), 4);
  std::set<std::string> ids;
  int64_t frames = 0;
  for (const ShardInfo& s : back->shards()) {
    auto r = RecordReader::Open(absl::StrCat(dir, "/", s.path()));
    ASSERT_TRUE(r.ok());
    std::string payload;
    int64_t n = 0;
    while (true) {
      auto more = (*r)->Next(&payload);
      ASSERT_TRUE(more.ok()) << more.status();
      if (!*more) break;
      Utterance u;
      ASSERT_TRUE(DecodeUtterance(payload, s.path(), &u).ok());
      EXPECT_TRUE(ids.insert(u.id()).second) << u.id();
      frames += u.n_frames();
      ++n;
    }
    EXPECT_EQ(n, s.num_records()) << s.path();
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(frames, back->num_frames());
}

}  // namespace
}  // namespace lightspeech::records
