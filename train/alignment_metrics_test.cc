#include "train/alignment_metrics.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::train {
namespace {

// 256-sample hop at 22050 Hz.
constexpr double kMsPerFrame = 256.0 * 1000.0 / 22050.0;
constexpr double kTolerance = 1e-9;

// Table: 0 <pad>, 1 ' ', 2 'a', 3 'b', 4 ',', 5 '|', 6 "eI".
const std::vector<std::string> kTable = {"<pad>", " ", "a", "b", ",", "|", "eI"};

TEST(WordSymbolMask, SeparatorsPadAndPunctuationAreNotWords) {
  EXPECT_EQ(WordSymbolMask(kTable), (std::vector<bool>{false, false, true, true, false, false, true}));
}

TEST(WordSymbolMask, PhonesWrittenWithPunctuationAreWordSymbols) {
  // eSpeak's schwa "@" and ";" are phones in a phonemizer's table, punctuation in a character table.
  const std::vector<std::string> table = {"<pad>", "|", "s", "@", ";", "3:"};
  EXPECT_EQ(WordSymbolMask(table, /*phones=*/true), (std::vector<bool>{false, false, true, true, true, true}));
  EXPECT_EQ(WordSymbolMask(table), (std::vector<bool>{false, false, true, false, false, true}));
}

TEST(PredictedWordSpans, GroupsRunsOfWordSymbols) {
  // "ab, a" with durations 1 2 3 4 5 -> word "ab" frames [0,3), then ',' and ' ' (7 frames), "a" [10,15).
  auto spans = PredictedWordSpans({2, 3, 4, 1, 2}, {1, 2, 3, 4, 5}, WordSymbolMask(kTable));
  ASSERT_TRUE(spans.ok()) << spans.status();
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[0].start_frame, 0);
  EXPECT_EQ((*spans)[0].end_frame, 3);
  EXPECT_EQ((*spans)[1].start_frame, 10);
  EXPECT_EQ((*spans)[1].end_frame, 15);
}

TEST(PredictedWordSpans, PunctuationBetweenTwoWordSymbolsJoinsThem) {
  // "a,b ,a," with durations 1..7: with joiners the ',' inside "a,b" belongs to the word [0, 3);
  // the ',' after a space and the final ',' do not. Without joiners "a,b" is two words.
  const std::vector<int64_t> ids = {2, 4, 3, 1, 4, 2, 4}, durations = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(WordJoinerMask(kTable), (std::vector<bool>{false, false, false, false, true, false, false}));
  EXPECT_EQ(WordJoinerMask(kTable, /*phones=*/true), std::vector<bool>(kTable.size(), false));
  auto joined = PredictedWordSpans(ids, durations, WordSymbolMask(kTable), WordJoinerMask(kTable));
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->size(), 2u);
  EXPECT_EQ((*joined)[0].start_frame, 0);
  EXPECT_EQ((*joined)[0].end_frame, 6);
  EXPECT_EQ((*joined)[1].start_frame, 15);
  EXPECT_EQ((*joined)[1].end_frame, 21);
  auto apart = PredictedWordSpans(ids, durations, WordSymbolMask(kTable));
  ASSERT_TRUE(apart.ok());
  EXPECT_EQ(apart->size(), 3u);
}

TEST(PredictedWordSpans, RejectsBadInput) {
  const auto mask = WordSymbolMask(kTable);
  EXPECT_EQ(PredictedWordSpans({2, 3}, {1}, mask).status().message(), "2 symbols but 1 durations");
  EXPECT_EQ(PredictedWordSpans({2, 9}, {1, 1}, mask).status().message(), "symbol 1 has id 9, outside the table of 7");
  EXPECT_EQ(PredictedWordSpans({2}, {-1}, mask).status().message(), "symbol 0 has negative duration -1");
}

TEST(AddWordBoundaries, OnePredictedWordPerMultiWordInterval) {
  // "of the" is one interval and, phonemized without a separator, one predicted word.
  BoundaryStats stats;
  AddWordBoundaries({{0, 4, "of the"}, {4, 6, ""}, {6, 10, "thing"}}, {{0, 5, ""}, {6, 10, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.utterances, 1);
  EXPECT_EQ(stats.skipped, 0);
  EXPECT_EQ(stats.boundaries, 4);
  EXPECT_NEAR(stats.abs_error_frames, 1.0, kTolerance);  // only "of the"'s end is one frame off
  // Neither 3 label words nor 2 intervals: skipped.
  AddWordBoundaries({{0, 4, "of the"}, {6, 10, "thing"}}, {{0, 10, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.boundaries, 4);
}

TEST(AddWordBoundaries, ExactMatchHasZeroError) {
  BoundaryStats stats;
  AddWordBoundaries({{0, 3, "ab"}, {3, 10, ""}, {10, 15, "a"}}, {{0, 3, ""}, {10, 15, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.utterances, 1);
  EXPECT_EQ(stats.boundaries, 4);
  EXPECT_NEAR(stats.MaeMs(kMsPerFrame), 0.0, kTolerance);
  EXPECT_NEAR(stats.ShareWithin20ms(), 1.0, kTolerance);
}

TEST(AddWordBoundaries, CountsFramesOffAndShares) {
  BoundaryStats stats;
  // Errors per boundary: start 0 -> 1 frame (11.6 ms), end 3 -> 3 frames (34.8 ms), start 10 -> 0,
  // end 15 -> 5 frames (58 ms).
  AddWordBoundaries({{0, 3, "ab"}, {10, 15, "a"}}, {{1, 6, ""}, {10, 20, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.boundaries, 4);
  EXPECT_NEAR(stats.MaeMs(kMsPerFrame), (1 + 3 + 0 + 5) / 4.0 * kMsPerFrame, kTolerance);
  EXPECT_NEAR(stats.ShareWithin20ms(), 0.5, kTolerance);   // 0 and 1 frame
  EXPECT_NEAR(stats.ShareWithin50ms(), 0.75, kTolerance);  // and 3 frames
}

TEST(AddWordBoundaries, SignedErrorsOfStartsAndEndsApart) {
  BoundaryStats stats;
  // Starts: 0 -> 2 (+2), 10 -> 7 (-3); ends: 3 -> 6 (+3), 15 -> 15 (0). The absolute errors are the
  // same whatever the sign; the biases tell early from late.
  AddWordBoundaries({{0, 3, "ab"}, {10, 15, "a"}}, {{2, 6, ""}, {7, 15, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.starts, 2);
  EXPECT_EQ(stats.ends, 2);
  EXPECT_NEAR(stats.StartBiasMs(kMsPerFrame), (2 - 3) / 2.0 * kMsPerFrame, kTolerance);
  EXPECT_NEAR(stats.EndBiasMs(kMsPerFrame), (3 + 0) / 2.0 * kMsPerFrame, kTolerance);
  EXPECT_NEAR(stats.MaeMs(kMsPerFrame), (2 + 3 + 3 + 0) / 4.0 * kMsPerFrame, kTolerance);
}

TEST(AddPhoneBoundaries, CountNeitherStartsNorEnds) {
  PhoneStats stats;
  ASSERT_TRUE(AddPhoneBoundaries({2, 3, 4}, {3, 3, 3}, {true, true, true}, kMsPerFrame, &stats).ok());
  EXPECT_EQ(stats.boundaries.boundaries, 2);
  EXPECT_EQ(stats.boundaries.starts, 0);
  EXPECT_EQ(stats.boundaries.ends, 0);
  EXPECT_NEAR(stats.boundaries.StartBiasMs(kMsPerFrame), 0.0, kTolerance);
}

TEST(AddWordGaps, RunOnAndPausedJunctionsApart) {
  GapStats stats;
  // Reference: a [0,3) b [3,6) pause c [10,15): a-b runs on, b-c has a 4-frame pause. Predicted:
  // a [0,2) gap 2 b [4,6) gap 3 c [9,15).
  AddWordGaps({{0, 3, "a"}, {3, 6, "b"}, {6, 10, ""}, {10, 15, "c"}}, {{0, 2, ""}, {4, 6, ""}, {9, 15, ""}}, &stats);
  EXPECT_EQ(stats.run_on, 1);
  EXPECT_NEAR(stats.RunOnMeanFrames(), 2.0, kTolerance);
  EXPECT_EQ(stats.paused, 1);
  EXPECT_NEAR(stats.PausedMeanFrames(), 3.0, kTolerance);
  EXPECT_NEAR(stats.PausedReferenceMeanFrames(), 4.0, kTolerance);
  // Word counts that differ, or an interval of two words: nothing counted.
  AddWordGaps({{0, 3, "a"}, {3, 6, "b"}}, {{0, 6, ""}}, &stats);
  AddWordGaps({{0, 3, "a b"}, {3, 6, "c"}}, {{0, 2, ""}, {3, 6, ""}}, &stats);
  EXPECT_EQ(stats.run_on + stats.paused, 2);
}

TEST(AddWordBoundaries, ReferenceIntervalWithTwoWordsSpansTwoPredictedWords) {
  BoundaryStats stats;
  AddWordBoundaries({{0, 8, "there be"}}, {{0, 3, ""}, {4, 8, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.boundaries, 2);
  EXPECT_NEAR(stats.abs_error_frames, 0.0, kTolerance);
}

TEST(AddWordBoundaries, WordCountMismatchIsSkippedNotCompared) {
  BoundaryStats stats;
  AddWordBoundaries({{0, 3, "ab"}}, {{0, 3, ""}, {4, 8, ""}}, kMsPerFrame, &stats);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.utterances, 0);
  EXPECT_EQ(stats.boundaries, 0);
}

TEST(AddPhoneBoundaries, BoundariesAndDurationErrors) {
  PhoneStats stats;
  // Symbols: p p | p ; reference 2 3 1 4, predicted 3 3 0 4. Boundaries after symbols 0, 1 (the
  // separator is not counted, the last is the total): ref 2, 5; pred 3, 6 -> 1 frame each.
  ASSERT_TRUE(AddPhoneBoundaries({2, 3, 1, 4}, {3, 3, 0, 4}, {true, true, false, true}, kMsPerFrame, &stats).ok());
  EXPECT_EQ(stats.boundaries.boundaries, 2);
  EXPECT_NEAR(stats.boundaries.abs_error_frames, 2.0, kTolerance);
  EXPECT_EQ(stats.symbols, 3);
  EXPECT_NEAR(stats.DurationMaeFrames(), 1.0 / 3.0, kTolerance);
  EXPECT_EQ(AddPhoneBoundaries({1}, {1, 2}, {true}, kMsPerFrame, &stats).message(),
            "lengths differ: reference 1, predicted 2, mask 1");
}

TEST(DtwMelL1, EqualSequencesGiveZeroAndPlainL1OnDiagonal) {
  const std::vector<float> a = {0, 1, 2, 3, 4, 5};  // 3 frames x 2 mels
  EXPECT_NEAR(*DtwMelL1(a, a, 2), 0.0, kTolerance);
  std::vector<float> b = a;
  for (float& v : b) v += 0.5f;
  EXPECT_NEAR(*DtwMelL1(a, b, 2), 0.5, 1e-6);
}

TEST(DtwMelL1, RepeatedFramesAlignAtNoCost) {
  // b repeats every frame of a twice: the warping path absorbs the repetition.
  const std::vector<float> a = {0, 0, 5, 5, 9, 9};
  const std::vector<float> b = {0, 0, 0, 0, 5, 5, 5, 5, 9, 9, 9, 9};
  EXPECT_NEAR(*DtwMelL1(a, b, 2), 0.0, kTolerance);
  // Shifting b by a constant costs that constant per value along the path.
  std::vector<float> c = b;
  for (float& v : c) v -= 1.0f;
  EXPECT_NEAR(*DtwMelL1(a, c, 2), 1.0, 1e-6);
}

TEST(DtwMelL1, RejectsBadSizes) {
  EXPECT_EQ(DtwMelL1({1, 2, 3}, {1, 2}, 2).status().message(),
            "DTW needs non-empty mels with a multiple of 2 values; got 3 and 2");
}

}  // namespace
}  // namespace lightspeech::train
