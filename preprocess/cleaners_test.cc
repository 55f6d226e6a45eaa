#include "preprocess/cleaners.h"

#include <string>

#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

std::string CleanEnglish(const std::string& s) {
  static auto* cleaner = TextCleaner::Create(CleanerKind::kEnglish)->release();
  auto r = cleaner->Clean(s);
  return r.ok() ? *r : "ERROR: " + std::string(r.status().message());
}

TEST(CleanersTest, EnglishSpellsOutNumbersMoneyAndAbbreviations) {
  EXPECT_EQ(CleanEnglish("Mr. Smith paid $3.50 on the 22nd of May, 1885."),
            "mister smith paid three dollars, fifty cents on the twenty second of may, eighteen eighty five.");
  EXPECT_EQ(CleanEnglish("Dr. Jones owns 1,234 sheep & 2 goats."),
            "doctor jones owns one thousand two hundred thirty four sheep and two goats.");
  EXPECT_EQ(CleanEnglish("It cost \xC2\xA3" "5, about 3.14 times more."), "it cost five pounds, about three point one four times more.");
  EXPECT_EQ(CleanEnglish("$1"), "one dollar");
  // Month abbreviations (issue 23): "Jan." used to stay "jan".
  EXPECT_EQ(CleanEnglish("On Jan. 5th and Sept. 3rd, not in jan"), "on january fifth and september third, not in jan");
}

TEST(CleanersTest, EnglishTransliteratesToAsciiAndCollapsesWhitespace) {
  EXPECT_EQ(CleanEnglish("  Caf\xC3\xA9   na\xC3\xAFve\t\"quoted\"  "), "cafe naive quoted");
  EXPECT_EQ(CleanEnglish("\xE2\x80\x9CHello\xE2\x80\x9D \xE2\x80\x94 she said"), "hello - she said");
}

TEST(CleanersTest, EnglishRejectsInvalidUtf8AndEmptyResults) {
  EXPECT_EQ(CleanEnglish("bad \xff byte"), "ERROR: invalid UTF-8");
  EXPECT_EQ(CleanEnglish("   \"\"  "), "ERROR: empty text after cleaning");
}

TEST(CleanersTest, UnicodeLowercasesAndNormalizes) {
  auto cleaner = TextCleaner::Create(CleanerKind::kUnicode);
  ASSERT_TRUE(cleaner.ok());
  // NFKC folds the "fi" ligature and full-width letters; lowercasing is Unicode-aware.
  EXPECT_EQ(*(*cleaner)->Clean("\xEF\xAC\x81n  \xEF\xBC\xA1" "BC \xC3\x9C" "ber \xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91"),
            "fin abc \xC3\xBC" "ber \xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1");
}

TEST(CleanersTest, ParseCleanerKind) {
  EXPECT_EQ(*ParseCleanerKind("english"), CleanerKind::kEnglish);
  EXPECT_EQ(*ParseCleanerKind("unicode"), CleanerKind::kUnicode);
  EXPECT_EQ(ParseCleanerKind("klingon").status().message(), "unknown cleaner 'klingon' (choices: english, unicode)");
}

}  // namespace
}  // namespace lightspeech::preprocess

namespace lightspeech::preprocess {
namespace {

TEST(SpokenEnglishToken, SpellsOutWhatEspeakReadsWrongKeepingCaseAndPunctuation) {
  EXPECT_EQ(SpokenEnglishToken("$5", ""), "five dollars");
  EXPECT_EQ(SpokenEnglishToken("($5.50),", "and"), "(five dollars, fifty cents),");
  EXPECT_EQ(SpokenEnglishToken("$1.", ""), "one dollar.");
  EXPECT_EQ(SpokenEnglishToken("\xC2\xA3" "3", ""), "three pounds");
  EXPECT_EQ(SpokenEnglishToken("Jan.", "5"), "January");
  EXPECT_EQ(SpokenEnglishToken("capt.", "Cook"), "captain");
  EXPECT_EQ(SpokenEnglishToken("No.", "5"), "Number");
  EXPECT_EQ(SpokenEnglishToken("1990s", ""), "nineteen nineties");
  EXPECT_EQ(SpokenEnglishToken("1800s,", ""), "eighteen hundreds,");
}

TEST(SpokenEnglishToken, LeavesWhatEspeakReadsRight) {
  for (const char* token : {"no.", "1st", "42", "10%", "hello,", "U.S.", "$", "$5m", "Sam.", "1995", "-", ""}) {
    EXPECT_EQ(SpokenEnglishToken(token, "word"), "") << token;
  }
  EXPECT_EQ(SpokenEnglishToken("No.", "more"), "");  // "No." ends a sentence unless a number follows
}

}  // namespace
}  // namespace lightspeech::preprocess
