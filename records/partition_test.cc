#include "records/partition.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace lightspeech::records {
namespace {

// Golden hashes pin the function: changing it would move utterances between shards and splits of
// corpora already written. Values computed independently in Python from the definition (FNV-1a 64,
// then the SplitMix64 finalizer: x ^= x>>30; x *= 0xbf58476d1ce4e5b9; x ^= x>>27;
// x *= 0x94d049bb133111eb; x ^= x>>31, all mod 2^64).
TEST(PartitionTest, HashIsStable) {
  EXPECT_EQ(StableIdHash(""), 0xf52a15e9a9b5e89bull);
  EXPECT_EQ(StableIdHash("LJ001-0001"), 0xa312677e8fa16b40ull);
  EXPECT_EQ(StableIdHash("a"), 0x2c0bdbf481420f8ull);
  EXPECT_EQ(ShardForId("", 8), 3);
  EXPECT_EQ(ShardFileName(TRAIN, 3, 8), "train-00003-of-00008.tfrecord");
  EXPECT_EQ(ShardFileName(VALIDATION, 0, 1), "validation-00000-of-00001.tfrecord");
}

TEST(PartitionTest, SplitFractionIsRespected) {
  const int n = 20000;
  int val = 0;
  for (int i = 0; i < n; ++i) val += SplitForId(absl::StrCat("utt", i), 0.05) == VALIDATION;
  // Binomial(20000, 0.05): sd ~ 31; allow 5 sd.
  EXPECT_NEAR(val, 1000, 155);
  EXPECT_EQ(SplitForId("x", 0.0), TRAIN);
  EXPECT_EQ(SplitForId("x", 1.0), VALIDATION);
}

TEST(PartitionTest, ShardsAreBalancedAndDeterministic) {
  std::map<int, int> counts;
  for (int i = 0; i < 8000; ++i) {
    const std::string id = absl::StrCat("LJ", i);
    const int s = ShardForId(id, 8);
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 8);
    ASSERT_EQ(s, ShardForId(id, 8));
    ++counts[s];
  }
  for (const auto& [shard, c] : counts) EXPECT_NEAR(c, 1000, 150) << "shard " << shard;
  EXPECT_EQ(ShardForId("anything", 1), 0);
}

}  // namespace
}  // namespace lightspeech::records
