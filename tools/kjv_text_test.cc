#include "tools/kjv_text.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::tools {
namespace {

// Packs 9-bit codes as compress(1) does (least significant bit first).
std::string Pack9(const std::vector<int>& codes) {
  std::string out((codes.size() * 9 + 7) / 8, '\0');
  for (size_t i = 0; i < codes.size(); ++i) {
    for (int b = 0; b < 9; ++b) {
      if (codes[i] >> b & 1) out[(i * 9 + b) / 8] |= static_cast<char>(1 << ((i * 9 + b) % 8));
    }
  }
  return out;
}

TEST(LzwTest, DecodesLiteralsTableEntriesAndKwKwK) {
  // 'A', 'B', then entry 257 = "AB" (made after 'B').
  absl::StatusOr<std::string> s = LzwDecompress(Pack9({65, 66, 257}), 16);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "ABAB");
  // 'A', then 257 before it exists: the KwKwK case, "A" + "A".
  s = LzwDecompress(Pack9({65, 257}), 16);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "AAA");
  EXPECT_EQ(LzwDecompress(Pack9({65, 300}), 16).status().message(),
            "LZW: code 300 beyond the table (257 entries) at output byte 1");
}

TEST(KjvTest, RejectsFilesThatAreNotKjvData) {
  EXPECT_EQ(DecodeKjvData("short", "x").status().message(),
            "x: not a bible-kjv data file: shorter than its 92-byte header");
  EXPECT_EQ(DecodeKjvData(std::string(100, 'Z'), "y").status().message(),
            "y: not a bible-kjv data file: magic is 'ZZZZ', not 'EC02'");
}

// The installed package (Debian bible-kjv-text 4.38), read like any other system data file.
TEST(KjvTest, ReadsTheInstalledBible) {
  absl::StatusOr<std::vector<Verse>> verses = ReadKjv(kDefaultKjvPath);
  ASSERT_TRUE(verses.ok()) << verses.status();
  ASSERT_EQ(verses->size(), 31102u);
  EXPECT_EQ(verses->front().ref, "Ge1:1");
  EXPECT_EQ(verses->front().text, "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(verses->back().ref, "Rev22:21");
  EXPECT_EQ(verses->back().text, "The grace of our Lord Jesus Christ be with you all. Amen.");

  const std::vector<Sentence> s = ExtractSentences(*verses, 5, 25);
  EXPECT_EQ(s.size(), 17712u);
  EXPECT_EQ(s[0].id, "kjv_Ge1_1_1");
  EXPECT_EQ(s[0].text, "In the beginning God created the heaven and the earth.");
  for (const Sentence& x : s) ASSERT_TRUE(IsUsableSentence(x.text, 5, 25)) << x.id;
}

TEST(KjvTest, ExtractionRule) {
  const std::vector<Verse> v = {
      {"Ge1:3", "And God said, Let there be light: and there was light."},
      {"Ex2:1", "Too short. And he said unto them, Go ye into the city and wait! and this"},
      {"Ps3:2", "Many there be which say of my soul, There is no help for him in God. Selah."},
      {"Jn4:5", "Then (as it is written) he came to the city 12 times over and over."}};
  const std::vector<Sentence> s = ExtractSentences(v, 5, 25);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].id, "kjv_Ge1_3_1");
  EXPECT_EQ(s[1].id, "kjv_Ex2_1_1");
  EXPECT_EQ(s[1].text, "And he said unto them, Go ye into the city and wait!");
  EXPECT_EQ(s[2].id, "kjv_Ps3_2_1");
  EXPECT_EQ(s[2].text, "Many there be which say of my soul, There is no help for him in God.");
  EXPECT_FALSE(IsUsableSentence("He said to them | go away now.", 5, 25));
  EXPECT_FALSE(IsUsableSentence("One two three four.", 5, 25));
  EXPECT_TRUE(IsUsableSentence("One two three four five.", 5, 25));
}

}  // namespace
}  // namespace lightspeech::tools
