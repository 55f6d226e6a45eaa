#include "tools/error_rate.h"

#include "gtest/gtest.h"

namespace lightspeech::tools {
namespace {

TEST(ErrorRateTest, NormalizesAsAnAsrScores) {
  EXPECT_EQ(NormalizeForScoring("The LORD's, 2 sons! 'Go' -- now."), "the lord's 2 sons go now");
  EXPECT_EQ(NormalizeForScoring("  "), "");
}

TEST(ErrorRateTest, CountsSubstitutionsDeletionsAndInsertions) {
  // the cat sat -> the bat sat down: one substitution, one insertion.
  const ErrorCount w = WordErrors("The cat sat.", "the bat sat down");
  EXPECT_EQ(w.errors, 2);
  EXPECT_EQ(w.reference_length, 3);
  EXPECT_DOUBLE_EQ(w.Rate(), 2.0 / 3.0);
  EXPECT_EQ(WordErrors("a b c d", "").errors, 4);
  EXPECT_EQ(WordErrors("a b c d", "a c d").errors, 1);
  EXPECT_EQ(WordErrors("", "x").Rate(), 0.0);  // no reference words: no rate
  // "cat" -> "bat": one character of 3.
  const ErrorCount c = CharErrors("cat", "bat");
  EXPECT_EQ(c.errors, 1);
  EXPECT_EQ(c.reference_length, 3);
  ErrorCount sum = w;
  sum += c;
  EXPECT_EQ(sum.errors, 3);
  EXPECT_EQ(sum.reference_length, 6);
}

}  // namespace
}  // namespace lightspeech::tools
