#include "preprocess/metadata.h"

#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

TEST(MetadataTest, ParsesGoodLinesAndNamesEachBadOne) {
  const std::string contents =
      "\xEF\xBB\xBFLJ001|Hello, 2 worlds.|Hello, two worlds.\r\n"
      "LJ002|Only two fields\n"
      "\n"
      "LJ003|a|b|c\n"
      "../etc/passwd|escape|escape\n"
      "LJ004|bad \xff utf8|x\n"
      "LJ005|  |  \n"
      "LJ001|again|again\n"
      "nofields\n";
  const Metadata m = ParseMetadata(contents, "corpus/metadata.csv");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].id, "LJ001");
  EXPECT_EQ(m.entries[0].text, "Hello, 2 worlds.");
  EXPECT_EQ(m.entries[0].normalized_text, "Hello, two worlds.");
  EXPECT_EQ(m.entries[1].normalized_text, "Only two fields");
  EXPECT_EQ(m.entries[1].line, 2);
  ASSERT_EQ(m.problems.size(), 6u);
  EXPECT_EQ(m.problems[0].message,
            "corpus/metadata.csv:4: expected 2 or 3 '|'-separated fields (id|text|normalized text), found 4");
  EXPECT_EQ(m.problems[1].message,
            "corpus/metadata.csv:5: unsafe id '../etc/passwd' (empty, leading '.', path separator or control character)");
  EXPECT_EQ(m.problems[2].message, "corpus/metadata.csv:6: invalid UTF-8");
  EXPECT_EQ(m.problems[3].message, "corpus/metadata.csv:7: empty text for id 'LJ005'");
  EXPECT_EQ(m.problems[4].message, "corpus/metadata.csv:8: duplicate id 'LJ001' (first on line 1)");
  EXPECT_EQ(m.problems[5].reason, "fields");
}

TEST(MetadataTest, SafeIds) {
  EXPECT_TRUE(IsSafeId("LJ001-0001"));
  EXPECT_FALSE(IsSafeId(""));
  EXPECT_FALSE(IsSafeId(".."));
  EXPECT_FALSE(IsSafeId(".hidden"));
  EXPECT_FALSE(IsSafeId("a/b"));
  EXPECT_FALSE(IsSafeId("a\\b"));
  EXPECT_FALSE(IsSafeId(std::string("a\0b", 3)));
}

TEST(MetadataTest, MissingFileIsNotFound) {
  auto m = ReadMetadata("/nonexistent/metadata.csv");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightspeech::preprocess
