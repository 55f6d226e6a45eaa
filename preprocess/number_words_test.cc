#include "preprocess/number_words.h"

#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

TEST(NumberWordsTest, Cardinals) {
  EXPECT_EQ(CardinalWords(0), "zero");
  EXPECT_EQ(CardinalWords(13), "thirteen");
  EXPECT_EQ(CardinalWords(40), "forty");
  EXPECT_EQ(CardinalWords(101), "one hundred one");
  EXPECT_EQ(CardinalWords(1234), "one thousand two hundred thirty four");
  EXPECT_EQ(CardinalWords(2000000), "two million");
  EXPECT_EQ(CardinalWords(1000000000000001ull), "one zero zero zero zero zero zero zero zero zero zero zero zero zero zero one");
}

TEST(NumberWordsTest, Ordinals) {
  EXPECT_EQ(OrdinalWords(1), "first");
  EXPECT_EQ(OrdinalWords(2), "second");
  EXPECT_EQ(OrdinalWords(12), "twelfth");
  EXPECT_EQ(OrdinalWords(20), "twentieth");
  EXPECT_EQ(OrdinalWords(22), "twenty second");
  EXPECT_EQ(OrdinalWords(100), "one hundredth");
  EXPECT_EQ(OrdinalWords(4), "fourth");
}

TEST(NumberWordsTest, Years) {
  EXPECT_EQ(YearWords(1885), "eighteen eighty five");
  EXPECT_EQ(YearWords(1900), "nineteen hundred");
  EXPECT_EQ(YearWords(1905), "nineteen oh five");
  EXPECT_EQ(YearWords(2005), "two thousand five");
  EXPECT_EQ(YearWords(2019), "twenty nineteen");
  EXPECT_EQ(YearWords(999), "nine hundred ninety nine");
}

}  // namespace
}  // namespace lightspeech::preprocess
