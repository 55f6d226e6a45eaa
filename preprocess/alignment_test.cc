#include "preprocess/alignment.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

using ::testing::ElementsAre;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }
template <typename T>
std::string Msg(const absl::StatusOr<T>& s) {
  return std::string(s.status().message());
}

// Long text format as the Montreal Forced Aligner 2.x (praatio) writes it, trimmed to 3 words.
constexpr char kMfaLong[] = R"(File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.05
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.05
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.12
            text = ""
        intervals [2]:
            xmin = 0.12
            xmax = 0.45
            text = "let"
        intervals [3]:
            xmin = 0.45
            xmax = 0.8
            text = "there"
        intervals [4]:
            xmin = 0.8
            xmax = 1.05
            text = "sil"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.05
        intervals: size = 7
        intervals [1]:
            xmin = 0
            xmax = 0.12
            text = ""
        intervals [2]:
            xmin = 0.12
            xmax = 0.2
            text = "L"
        intervals [3]:
            xmin = 0.2
            xmax = 0.33
            text = "EH1"
        intervals [4]:
            xmin = 0.33
            xmax = 0.45
            text = "T"
        intervals [5]:
            xmin = 0.45
            xmax = 0.55
            text = "DH"
        intervals [6]:
            xmin = 0.55
            xmax = 0.8
            text = "EH1"
        intervals [7]:
            xmin = 0.8
            xmax = 1.05
            text = "sp"
)";

// The same grid in Praat's short text format, as "Save as short text file" writes it.
constexpr char kShort[] = R"(File type = "ooTextFile"
Object class = "TextGrid"

0
1.05
<exists>
2
"IntervalTier"
"words"
0
1.05
4
0
0.12
""
0.12
0.45
"let"
0.45
0.8
"there"
0.8
1.05
""
"IntervalTier"
"phones"
0
1.05
7
0
0.12
""
0.12
0.2
"L"
0.2
0.33
"EH1"
0.33
0.45
"T"
0.45
0.55
"DH"
0.55
0.8
"EH1"
0.8
1.05
""
)";

std::vector<std::string> Labels(const std::vector<Interval>& v) {
  std::vector<std::string> out;
  for (const Interval& iv : v) out.push_back(iv.label);
  return out;
}

void ExpectThreeWordGrid(const Alignment& a) {
  EXPECT_DOUBLE_EQ(a.duration, 1.05);
  EXPECT_THAT(Labels(a.words), ElementsAre("", "let", "there", ""));
  EXPECT_THAT(Labels(a.phones), ElementsAre("", "L", "EH1", "T", "DH", "EH1", ""));
  EXPECT_DOUBLE_EQ(a.phones[2].start, 0.2);
  EXPECT_DOUBLE_EQ(a.phones[2].end, 0.33);
}

TEST(TextGridTest, ReadsMfaLongFormat) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kMfaLong, "LJ001-0001.TextGrid");
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectThreeWordGrid(*a);
  EXPECT_EQ(a->words[1].line, 20);  // the "xmin = 0.12" line of words interval 2
}

TEST(TextGridTest, ReadsShortFormat) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kShort, "short.TextGrid");
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectThreeWordGrid(*a);
}

std::string Utf16(const std::string& ascii, bool little_endian) {
  std::string out = little_endian ? "\xFF\xFE" : "\xFE\xFF";
  for (char c : ascii) {
    if (little_endian) {
      out.push_back(c);
      out.push_back('\0');
    } else {
      out.push_back('\0');
      out.push_back(c);
    }
  }
  return out;
}

TEST(TextGridTest, ReadsUtf16WithBomAndUtf8Bom) {
  for (bool le : {true, false}) {
    absl::StatusOr<Alignment> a = ParseTextGrid(Utf16(kShort, le), "u16.TextGrid");
    ASSERT_TRUE(a.ok()) << a.status();
    ExpectThreeWordGrid(*a);
  }
  absl::StatusOr<Alignment> a =
      ParseTextGrid(std::string("\xEF\xBB\xBF") + kMfaLong, "bom.TextGrid");
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectThreeWordGrid(*a);
}

TEST(TextGridTest, DecodesUtf16SurrogatesAndEscapedQuotes) {
  std::string grid = R"(File type = "ooTextFile"
Object class = "TextGrid"
0 1 <exists> 1 "IntervalTier" "phones" 0 1 2
0 0.5 "say ""X"""
0.5 1 "Q"
)";
  // Replace Q with U+1D11E (musical G clef, a surrogate pair) in a UTF-16LE encoding.
  std::string u16 = "\xFF\xFE";
  for (char c : grid) {
    if (c == 'Q') {
      u16 += std::string("\x34\xD8\x1E\xDD", 4);
    } else {
      u16.push_back(c);
      u16.push_back('\0');
    }
  }
  absl::StatusOr<Alignment> a = ParseTextGrid(u16, "clef.TextGrid", "");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(Labels(a->phones), ElementsAre("say \"X\"", "\xF0\x9D\x84\x9E"));
}

TEST(TextGridTest, MfaSpeakerTierNamesMatch) {
  std::string grid = kShort;
  grid.replace(grid.find("\"words\""), 7, "\"spk1 - words\"");
  grid.replace(grid.find("\"phones\""), 8, "\"spk1 - phones\"");
  absl::StatusOr<Alignment> a = ParseTextGrid(grid, "spk.TextGrid");
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectThreeWordGrid(*a);
}

TEST(TextGridTest, MalformedInputsGiveExactErrors) {
  std::string gap = kMfaLong;
  gap.replace(gap.find("xmin = 0.2\n"), 11, "xmin = 0.21\n");
  EXPECT_EQ(Msg(ParseTextGrid(gap, "gap.TextGrid")),
            "gap.TextGrid:46: interval 3 of tier 'phones' starts at 0.21 s but the previous "
            "interval ends at 0.2 s");

  std::string bad_number = kShort;
  bad_number.replace(bad_number.find("0.33\n\"EH1\""), 4, "abc");
  EXPECT_EQ(Msg(ParseTextGrid(bad_number, "num.TextGrid")),
            "num.TextGrid:38: expected a number, found '\"EH1\"'");

  std::string truncated(kShort, std::string(kShort).find("0.55\n0.8"));
  EXPECT_EQ(Msg(ParseTextGrid(truncated, "cut.TextGrid")),
            "cut.TextGrid:45: expected a number, found the end of the file");

  std::string no_phones = kShort;
  no_phones.replace(no_phones.find("\"phones\""), 8, "\"phonemes\"");
  EXPECT_EQ(Msg(ParseTextGrid(no_phones, "tiers.TextGrid")),
            "tiers.TextGrid: no interval tier named 'phones' (tiers: 'words', 'phonemes')");

  EXPECT_EQ(
      Msg(ParseTextGrid("File type = \"ooTextFile\"\nObject class = \"Sound\"\n", "s.TextGrid")),
      "s.TextGrid:2: object class is 'Sound', not 'TextGrid'");

  std::string unterminated = kShort;
  unterminated.replace(unterminated.find("\"let\""), 5, "\"let");
  EXPECT_EQ(
      Msg(ParseTextGrid(unterminated.substr(0, unterminated.find("0.45\n0.8")), "q.TextGrid")),
      "q.TextGrid:18: unterminated string");

  std::string backwards = kShort;
  backwards.replace(backwards.find("0.2\n0.33"), 8, "0.2\n0.1");
  EXPECT_EQ(
      Msg(ParseTextGrid(backwards, "back.TextGrid")),
      "back.TextGrid:36: interval 3 of tier 'phones' ends at 0.1 s before it starts at 0.2 s");

  EXPECT_EQ(Msg(ParseTextGrid("\xFF\xFE\x41", "odd.TextGrid")),
            "odd.TextGrid: UTF-16 text with an odd number of bytes");
}

// HTK label file: start end label, 100 ns units (as HVite -o S / MFA's .lab export writes).
constexpr char kHtk[] =
    "0 1200000 sil\n"
    "1200000 2000000 l\n"
    "2000000 3300000 eh\n"
    "3300000 4500000 t\n"
    "4500000 10500000 sp\n";

// festival/xwaves label file.
constexpr char kFestival[] =
    "separator ;\n"
    "nfields 1\n"
    "#\n"
    "    0.120000  125 pau\n"
    "    0.200000  125 l\n"
    "    0.330000  125 eh\n"
    "    0.450000  125 t\n"
    "    1.050000  125 pau\n";

TEST(LabTest, ReadsHtkAndFestival) {
  for (const char* text : {kHtk, kFestival}) {
    absl::StatusOr<Alignment> a = ParseLab(text, "a.lab");
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(a->words.empty());
    EXPECT_THAT(Labels(a->phones), ElementsAre("", "l", "eh", "t", ""));
    EXPECT_NEAR(a->phones[2].start, 0.2, 1e-12);
    EXPECT_NEAR(a->phones[2].end, 0.33, 1e-12);
    EXPECT_NEAR(a->duration, 1.05, 1e-12);
  }
}

TEST(LabTest, MalformedInputsGiveExactErrors) {
  EXPECT_EQ(Msg(ParseLab("0 1200000 sil\n1300000 2000000 l\n", "gap.lab")),
            "gap.lab:2: interval starts at 0.13 s but the previous one ends at 0.12 s");
  EXPECT_EQ(Msg(ParseLab("0 0.12 sil\n", "sec.lab")),
            "sec.lab:1: expected 'start end label' with integer times in 100 ns units, found "
            "'0 0.12 sil'");
  EXPECT_EQ(Msg(ParseLab("#\n0.5 125 a\n0.4 125 b\n", "fest.lab")),
            "fest.lab:3: interval ends at 0.4 s before it starts at 0.5 s");
  EXPECT_EQ(Msg(ParseLab("#\nabc 125 a\n", "fest2.lab")),
            "fest2.lab:2: expected 'end_time colour label', found 'abc 125 a'");
  EXPECT_EQ(Msg(ParseLab("\n\n", "empty.lab")), "empty.lab: no intervals");
}

TEST(CheckWordsTest, AcceptsMatchingTextAndNamesMismatches) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kMfaLong, "w.TextGrid");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(CheckWords(*a, "Let there").ok());
  EXPECT_EQ(Msg(CheckWords(*a, "Let here")),
            "w.TextGrid:24: word 2 is 'there' but the text has 'here'");
  EXPECT_EQ(Msg(CheckWords(*a, "Let there be")), "w.TextGrid: 2 words but the text has 3");

  std::string merged = kMfaLong;
  merged.replace(merged.find("\"there\""), 7, "\"there be\"");
  absl::StatusOr<Alignment> m = ParseTextGrid(merged, "m.TextGrid");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(CheckWords(*m, "Let there be.").ok());
  EXPECT_EQ(Msg(CheckWords(*m, "Let there")), "m.TextGrid: 3 words but the text has 2");
}

// A words tier as festvox-ru's references (tools/festvox_ru) and MFA write it: the text's case
// differs, a label keeps a stress mark, one text word is split over several labels.
constexpr char kWordsShort[] = R"(File type = "ooTextFile"
Object class = "TextGrid"

0
2
<exists>
1
"IntervalTier"
"words"
0
2
6
0
0.5
"Когда"
0.5
0.8
"вол+ос"
0.8
1
""
1
1.2
"g"
1.2
1.4
"p"
1.4
2
"l"
)";

TEST(CheckWordsTest, FoldsCaseDropsMarksAndJoinsSplitLabels) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kWordsShort, "r.TextGrid", "words", "words");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(CheckWords(*a, "когда волос, - GPL.").ok());
  EXPECT_TRUE(CheckWords(*a, "КОГДА вол+ос gpl").ok());
  EXPECT_EQ(Msg(CheckWords(*a, "когда волос gp")), "r.TextGrid: 5 words but the text has 3");
  // A joined word that does not complete is reported at the label that began it.
  EXPECT_EQ(Msg(CheckWords(*a, "когда волос gplx")), "r.TextGrid:22: word 3 is 'g' but the text has 'gplx'");
  EXPECT_EQ(Msg(CheckWords(*a, "тогда волос gpl")), "r.TextGrid:13: word 1 is 'Когда' but the text has 'тогда'");
}

TEST(AlignmentWordPhonesTest, GroupsTheTiersOwnPhonesByWordAndNamesProblems) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kShort, "short.TextGrid");
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::vector<WordPhones>> words = AlignmentWordPhones(*a, "|");
  ASSERT_TRUE(words.ok()) << words.status();
  ASSERT_EQ(words->size(), 2u);
  EXPECT_EQ((*words)[0].word, "let");
  EXPECT_THAT((*words)[0].phones, ElementsAre("L", "EH1", "T"));
  EXPECT_EQ((*words)[1].word, "there");
  EXPECT_THAT((*words)[1].phones, ElementsAre("DH", "EH1"));

  Alignment outside = *a;
  outside.phones[6].label = "AH0";  // in the trailing silence of the words tier
  EXPECT_EQ(AlignmentWordPhones(outside, "|").status().message(),
            absl::StrCat("short.TextGrid:", outside.phones[6].line, ": phone 'AH0' lies outside every word"));
  Alignment separator = *a;
  separator.phones[1].label = "|";
  EXPECT_EQ(AlignmentWordPhones(separator, "|").status().message(),
            absl::StrCat("short.TextGrid:", separator.phones[1].line, ": phone label '|' cannot be a symbol"));
  Alignment silent_word = *a;
  silent_word.phones[4].label = silent_word.phones[5].label = "";
  EXPECT_EQ(AlignmentWordPhones(silent_word, "|").status().message(),
            absl::StrCat("short.TextGrid:", silent_word.words[2].line, ": word 'there' has no phones"));
  Alignment no_words = *a;
  no_words.words.clear();
  EXPECT_EQ(AlignmentWordPhones(no_words, "|").status().message(),
            "short.TextGrid: no words tier: the phones cannot be grouped into words");
}

TEST(FramesTest, RoundsBoundariesAndSnapsTheEnd) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kMfaLong, "f.TextGrid");
  ASSERT_TRUE(a.ok());
  // 1.05 s at 22050 Hz = 23152.5 samples -> 1 + floor(23152 / 256) = 91 frames.
  // Boundaries * 22050 / 256: 0.12 -> 10.34 -> 10, 0.2 -> 17.23 -> 17, 0.33 -> 28.42 -> 28,
  // 0.45 -> 38.76 -> 39, 0.55 -> 47.37 -> 47, 0.8 -> 68.91 -> 69, 1.05 -> 90.44 -> 90 -> 91.
  absl::StatusOr<FrameAlignment> f = ToFrames(*a, 91, FrameOptions{});
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<int64_t> bounds;
  for (const FrameInterval& iv : f->phones) bounds.push_back(iv.end);
  EXPECT_THAT(bounds, ElementsAre(10, 17, 28, 39, 47, 69, 91));
  EXPECT_EQ(f->words.back().end, 91);

  EXPECT_EQ(Msg(ToFrames(*a, 80, FrameOptions{})),
            "f.TextGrid: alignment ends at 1.05 s = frame 90 but the audio has 80 frames "
            "(tolerance 2)");
}

TEST(LabTest, NegativeHtkTimesAreRejected) {
  EXPECT_EQ(Msg(ParseLab("-10 -10 a\n", "n.lab")), "n.lab:1: negative time in '-10 -10 a'");
}

TEST(FramesTest, AbsurdTimesAreRejectedNotOverflowed) {
  // A festival file ending at 3e15 s (from a fuzzer crash: llround overflowed).
  absl::StatusOr<Alignment> a = ParseLab("#\n0.1 125 h\n3000000000000000 125 aI\n", "x.lab");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Msg(ToFrames(*a, 10, FrameOptions{})), "x.lab: a time is negative, not finite or beyond 10000000 s");
}

TEST(FramesTest, SymbolDurationsSumToFramesAndGiveSilenceToSeparators) {
  absl::StatusOr<Alignment> a = ParseTextGrid(kMfaLong, "d.TextGrid");
  ASSERT_TRUE(a.ok());
  absl::StatusOr<FrameAlignment> f = ToFrames(*a, 91, FrameOptions{});
  ASSERT_TRUE(f.ok());
  absl::StatusOr<std::vector<int64_t>> d =
      SymbolDurations(*f, {"L", "EH1", "T", "|", "DH", "EH1"}, "|", "d.TextGrid");
  ASSERT_TRUE(d.ok()) << d.status();
  // Leading silence (10) goes to the first symbol; trailing silence (22) to the last.
  EXPECT_THAT(*d, ElementsAre(17, 11, 11, 0, 8, 44));
  EXPECT_EQ(Msg(SymbolDurations(*f, {"L", "EH1", "D", "|", "DH", "EH1"}, "|", "d.TextGrid")),
            "d.TextGrid: phone 3 is 'T' but symbol 3 is 'D'");
  EXPECT_EQ(Msg(SymbolDurations(*f, {"L", "EH1", "T", "|", "DH", "EH1", "R"}, "|", "d.TextGrid")),
            "d.TextGrid: 5 phones but 7 symbols; symbol 7 ('R') and after are unmatched");
}

TEST(FormatTest, LongFormatRoundTripsExactlyAndFillsGaps) {
  Alignment a;
  a.source = "rt.TextGrid";
  a.duration = 66774.0 / 22050;
  a.words = {{1344.0 / 22050, 4928.0 / 22050, "in", 0},
             {4928.0 / 22050, 15450.0 / 22050, "the", 0}};
  a.phones = {{0, 1344.0 / 22050, "", 0},
              {1344.0 / 22050, 4928.0 / 22050, "I", 0},
              {4928.0 / 22050, 15450.0 / 22050, "D@2", 0},
              {15450.0 / 22050, 66774.0 / 22050, "_:", 0}};
  absl::StatusOr<Alignment> b = ParseTextGrid(FormatTextGridLong(a), "rt.TextGrid");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->duration, a.duration);
  ASSERT_EQ(b->words.size(), 4u);  // gaps before and after the words become empty intervals
  EXPECT_EQ(b->words[0].label, "");
  EXPECT_EQ(b->words[1].start, a.words[0].start);
  EXPECT_EQ(b->words[2].end, a.words[1].end);
  ASSERT_EQ(b->phones.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b->phones[i].start, a.phones[i].start);
    EXPECT_EQ(b->phones[i].end, a.phones[i].end);
    EXPECT_EQ(b->phones[i].label, a.phones[i].label);
  }
}

}  // namespace
}  // namespace lightspeech::preprocess
