#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "train/testing/in_memory_source.h"
#include "train/testing/trainer_fixtures.h"
#include "train/trainer.h"

// The Trainer's treatment of word separators and punctuation: separator_frame_penalty and
// separator_penalty_covers_punctuation.

namespace lightspeech::train {
namespace {

using testing::FreshDir;
using testing::kMaxDuration;
using testing::kMels;
using testing::MemorySink;
using testing::SyntheticBatches;
using testing::SyntheticSymbols;
using testing::TinyConfig;
using testing::TrainFreshWithSymbols;
using testing::UsePerFrameScoreRl;

// separator_frame_penalty shortens separators in MAS: with a penalty far above any log-attention
// difference every separator gets exactly its one forced frame; without it, an untrained aligner
// gives some separator more. The per-frame rl trains with it too. A table without a separator is
// accepted (the presets hold the penalty; the prior then holds nothing short).
TEST(TrainerTest, SeparatorFramePenaltyShortensSeparators) {
  records::SymbolTable with_separator = SyntheticSymbols();
  for (int i = 1; i <= 8; ++i) with_separator.set_symbols(i, "|");
  const std::vector<HostBatch> batches = SyntheticBatches(1, 3);
  std::map<double, std::pair<int64_t, int64_t>> separator_frames;  // penalty -> (most on one, count)
  for (double penalty : {0.0, 50.0}) {
    TrainConfig c = TinyConfig(TrainConfig::MAS, FreshDir(absl::StrCat("penalty_", penalty)));
    c.set_separator_frame_penalty(penalty);
    absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, with_separator, kMels, kMaxDuration, "cpu", nullptr, "");
    ASSERT_TRUE(t.ok()) << t.status();
    absl::StatusOr<std::vector<EvalDurations>> d = (*t)->EvaluationDurations(batches[0]);
    ASSERT_TRUE(d.ok()) << d.status();
    int64_t most = 0, count = 0;
    for (size_t i = 0; i < d->size(); ++i) {
      for (int64_t n = 0; n < (*d)[i].tokens; ++n) {
        const int64_t id = batches[0].tokens[i * batches[0].max_tokens + n];
        if (id < 1 || id > 8) continue;
        most = std::max(most, (*d)[i].training[n]);
        ++count;
      }
    }
    separator_frames[penalty] = {most, count};
  }
  ASSERT_GT(separator_frames[0.0].second, 0);  // the synthetic utterances hold separators
  EXPECT_GT(separator_frames[0.0].first, 1);
  EXPECT_EQ(separator_frames[50.0].first, 1);

  TrainConfig c = TinyConfig(TrainConfig::RL, FreshDir("penalty_rl"));
  c.set_steps(2);
  c.set_separator_frame_penalty(2.0);
  UsePerFrameScoreRl(c);
  MemorySink sink;
  const absl::Status s = TrainFreshWithSymbols(c, with_separator, sink);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(sink.scalars["train/reward"].count(2), 1u);
  EXPECT_TRUE(std::isfinite(sink.scalars["train/reward"][2]));

  for (TrainConfig::Aligner aligner : {TrainConfig::MAS, TrainConfig::RL}) {
    TrainConfig missing = TinyConfig(aligner, FreshDir(absl::StrCat("separators_missing_", aligner)));
    missing.set_separator_frame_penalty(2.0);
    if (aligner == TrainConfig::RL) UsePerFrameScoreRl(missing);
    absl::StatusOr<std::unique_ptr<Trainer>> t =
        Trainer::Create(missing, SyntheticSymbols(), kMels, kMaxDuration, "cpu", nullptr, "");
    EXPECT_TRUE(t.ok()) << TrainConfig::Aligner_Name(aligner) << ": " << t.status();
  }
}

// The most MAS frames any token with an id in [first, last] gets on the batch, and how many such
// tokens it holds, for a fresh (untrained) MAS trainer with config `c` and symbol table `symbols`.
std::pair<int64_t, int64_t> MostMasFramesOn(const TrainConfig& c, const records::SymbolTable& symbols, int first, int last) {
  const std::vector<HostBatch> batches = SyntheticBatches(1, 3);
  absl::StatusOr<std::unique_ptr<Trainer>> t = Trainer::Create(c, symbols, kMels, kMaxDuration, "cpu", nullptr, "");
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return {-1, -1};
  absl::StatusOr<std::vector<EvalDurations>> d = (*t)->EvaluationDurations(batches[0]);
  EXPECT_TRUE(d.ok()) << d.status();
  if (!d.ok()) return {-1, -1};
  int64_t most = 0, count = 0;
  for (size_t i = 0; i < d->size(); ++i) {
    for (int64_t n = 0; n < (*d)[i].tokens; ++n) {
      const int64_t id = batches[0].tokens[i * batches[0].max_tokens + n];
      if (id < first || id > last) continue;
      most = std::max(most, (*d)[i].training[n]);
      ++count;
    }
  }
  return {most, count};
}

// separator_penalty_covers_punctuation: with character input the penalty also holds punctuation
// symbols to their one forced frame; without the option, or with a phonemizer's table (where such
// symbols are phones), it does not.
TEST(TrainerTest, SeparatorPenaltyCoversPunctuationOfCharacterInput) {
  records::SymbolTable symbols = SyntheticSymbols();
  for (int i = 1; i <= 4; ++i) symbols.set_symbols(i, "|");
  const char* const kPunctuation[] = {",", ".", "-", "+"};
  for (int i = 5; i <= 8; ++i) symbols.set_symbols(i, kPunctuation[i - 5]);
  std::map<std::string, std::pair<int64_t, int64_t>> punctuation_frames;
  for (const std::string variant : {"off", "on", "phones"}) {
    TrainConfig c = TinyConfig(TrainConfig::MAS, FreshDir(absl::StrCat("penalty_punctuation_", variant)));
    c.set_separator_frame_penalty(50.0);
    c.set_separator_penalty_covers_punctuation(variant != "off");
    records::SymbolTable table = symbols;
    if (variant == "phones") table.set_phonemizer("espeak:en-us");
    punctuation_frames[variant] = MostMasFramesOn(c, table, 5, 8);
    EXPECT_EQ(MostMasFramesOn(c, table, 1, 4).first, 1) << variant;  // separators: always penalized
  }
  ASSERT_GT(punctuation_frames["off"].second, 0);  // the synthetic utterances hold punctuation
  EXPECT_GT(punctuation_frames["off"].first, 1);
  EXPECT_EQ(punctuation_frames["on"].first, 1);
  EXPECT_EQ(punctuation_frames["phones"], punctuation_frames["off"]);

  TrainConfig bad = TinyConfig(TrainConfig::MAS, FreshDir("penalty_punctuation_bad"));
  bad.set_separator_penalty_covers_punctuation(true);
  EXPECT_EQ(Trainer::Create(bad, symbols, kMels, kMaxDuration, "cpu", nullptr, "").status().message(),
            "TrainConfig: separator_penalty_covers_punctuation needs separator_frame_penalty > 0");
}

}  // namespace
}  // namespace lightspeech::train
