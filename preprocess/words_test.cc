#include "preprocess/words.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

using ::testing::ElementsAre;

TEST(WordsTest, LabelsStripOuterPunctuationAndLowercase) {
  EXPECT_EQ(WordLabel("LORD's,"), "lord's");
  EXPECT_EQ(WordLabel("burnt-offering;"), "burnt-offering");
  EXPECT_EQ(WordLabel("(Selah.)"), "selah");
  EXPECT_EQ(WordLabel("--"), "");
  EXPECT_EQ(WordLabel("Caf\xC3\xA9!"), "caf\xC3\xA9");
}

TEST(WordsTest, WordLabelsSkipPunctuationOnlyTokens) {
  EXPECT_THAT(WordLabels("  And God said -- Let there be light.  "),
              ElementsAre("and", "god", "said", "let", "there", "be", "light"));
}

TEST(WordsTest, TokenRangesCountCodePoints) {
  const std::vector<TextToken> t = Tokenize("Caf\xC3\xA9 au  lait");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].begin_char, 0);
  EXPECT_EQ(t[0].end_char, 4);  // 5 bytes, 4 code points
  EXPECT_EQ(t[1].begin_char, 5);
  EXPECT_EQ(t[1].end_char, 7);
  EXPECT_EQ(t[2].begin_char, 9);
  EXPECT_EQ(t[2].text, "lait");
}

TEST(WordKeyTest, FoldsNormalizesAndKeepsLettersAndDigits) {
  EXPECT_EQ(WordKey("Когда"), "когда");
  EXPECT_EQ(WordKey("+Окна"), "окна");
  EXPECT_EQ(WordKey("Servant's,"), "servants");
  EXPECT_EQ(WordKey("STRASSE"), WordKey("Straße"));  // full case folding: ß -> ss
  EXPECT_EQ(WordKey("ﬁne"), "fine");                  // NFKC: the ligature
  EXPECT_EQ(WordKey("--"), "");
}

}  // namespace
}  // namespace lightspeech::preprocess
