#include "inference/synthesizer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "preprocess/symbols.h"
#include "train/checkpoint.h"
#include "inference/synthesizer_testing.h"

namespace lightspeech::inference {
namespace {

using testing::EnglishTable;
using testing::TinyConfig;

constexpr int kMels = testing::kTinyMels;
constexpr int64_t kFramesPerToken = 6;  // what the tiny checkpoints' duration predictor says
constexpr float kBatchTolerance = 1e-4f;

std::string WriteTinyCheckpoint(const std::string& name, const records::SymbolTable& table,
                                const train::TrainConfig& config = TinyConfig()) {
  const std::string path = ::testing::TempDir() + "/" + name;
  EXPECT_TRUE(testing::WriteTinyCheckpoint(path, table, kFramesPerToken, config).ok());
  return path;
}

std::unique_ptr<Synthesizer> Make(const std::string& path, int max_batch = 16) {
  SynthesizerOptions o;
  o.max_batch = max_batch;
  absl::StatusOr<std::unique_ptr<Synthesizer>> s = Synthesizer::Create(path, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(SynthesizerTest, TextToMel) {
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("a.pb", EnglishTable()));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->n_mels(), kMels);
  EXPECT_EQ(s->step(), 7);
  absl::StatusOr<SynthesisResult> r = s->SynthesizeText({"Hi, Bob!"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->utterances.size(), 1u);
  const SynthesizedUtterance& u = r->utterances[0];
  EXPECT_EQ(u.symbols, (std::vector<std::string>{"h", "i", ",", " ", "b", "o", "b", "!"}));
  EXPECT_EQ(u.symbol_ids.size(), 8u);
  EXPECT_EQ(u.durations, std::vector<int64_t>(8, kFramesPerToken));
  EXPECT_EQ(u.n_frames, 8 * kFramesPerToken);
  EXPECT_EQ(u.n_mels, kMels);
  ASSERT_EQ(u.mel.size(), static_cast<size_t>(u.n_frames * kMels));
  for (float v : u.mel) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TRUE(u.unknown_symbols.empty());
  EXPECT_TRUE(u.warnings.empty());
  // Eval mode (no dropout) and no random numbers: the same text gives the same mel.
  absl::StatusOr<SynthesisResult> again = s->SynthesizeText({"Hi, Bob!"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->utterances[0].mel, u.mel);
}

TEST(SynthesizerTest, BatchesGiveTheSameMelsInInputOrder) {
  const std::string path = WriteTinyCheckpoint("b.pb", EnglishTable());
  std::unique_ptr<Synthesizer> one = Make(path, 1), batched = Make(path, 2);
  ASSERT_NE(one, nullptr);
  ASSERT_NE(batched, nullptr);
  const std::vector<std::string> texts = {"a short one.", "and a much longer sentence, with a comma.", "hm", "mid length text"};
  absl::StatusOr<SynthesisResult> a = one->SynthesizeText(texts), b = batched->SynthesizeText(texts);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->utterances.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const SynthesizedUtterance &x = a->utterances[i], &y = b->utterances[i];
    EXPECT_EQ(y.symbol_ids.size(), preprocess::SplitCodePoints(texts[i]).size()) << i;
    ASSERT_EQ(x.n_frames, y.n_frames) << i;
    ASSERT_EQ(x.mel.size(), y.mel.size()) << i;
    float worst = 0;
    for (size_t j = 0; j < x.mel.size(); ++j) worst = std::max(worst, std::abs(x.mel[j] - y.mel[j]));
    EXPECT_LE(worst, kBatchTolerance) << "utterance " << i;
  }
}

TEST(SynthesizerTest, SpeedDividesDurations) {
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("c.pb", EnglishTable()));
  ASSERT_NE(s, nullptr);
  absl::StatusOr<SynthesisResult> fast = s->SynthesizeText({"abcd"}, 2.0);
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(fast->utterances[0].durations, std::vector<int64_t>(4, kFramesPerToken / 2));
  EXPECT_EQ(fast->utterances[0].n_frames, 4 * kFramesPerToken / 2);

  absl::StatusOr<SynthesisResult> bad = s->SynthesizeText({"abcd"}, 0.0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Synthesizer: speed must be > 0, got 0");
}

TEST(SynthesizerTest, UnknownSymbolsAreNamedAndSkipped) {
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("d.pb", EnglishTable()));
  ASSERT_NE(s, nullptr);
  absl::StatusOr<SynthesisResult> r = s->SynthesizeSymbols({{"a", "@@", "b", "<pad>", "@@"}});
  ASSERT_TRUE(r.ok()) << r.status();
  const SynthesizedUtterance& u = r->utterances[0];
  EXPECT_EQ(u.symbols, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(u.unknown_symbols, (std::vector<std::string>{"@@", "<pad>"}));
  ASSERT_EQ(u.warnings.size(), 1u);
  EXPECT_EQ(u.warnings[0], "symbols not in the checkpoint's table, skipped: '@@', '<pad>'");
  EXPECT_EQ(u.n_frames, 2 * kFramesPerToken);

  // The English cleaner drops what it cannot spell: those characters are named too.
  absl::StatusOr<SynthesizedUtterance> e = s->Encode("ok \xE2\x98\xBA go");  // U+263A
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->unknown_symbols, (std::vector<std::string>{"\xE2\x98\xBA"}));
  EXPECT_EQ(e->symbols, (std::vector<std::string>{"o", "k", " ", "g", "o"}));

  absl::StatusOr<SynthesisResult> none = s->SynthesizeSymbols({{"a"}, {"@@"}});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "text 1: no symbol of the checkpoint's table in ['@@']");
}

TEST(SynthesizerTest, PhoneTableUsesThePhonemizer) {
  records::SymbolTable t;
  // A partial phone inventory: the rest of "hello world"'s phones are unknown.
  for (const char* p : {"<pad>", "|", "h", "l", "w"}) t.add_symbols(p);
  t.set_cleaner("english");
  t.set_phonemizer("espeak:en-us");
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("e.pb", t));
  ASSERT_NE(s, nullptr);
  absl::StatusOr<SynthesizedUtterance> u = s->Encode("Hello world");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_NE(std::find(u->symbols.begin(), u->symbols.end(), "|"), u->symbols.end());
  EXPECT_EQ(u->symbols.front(), "h");
  EXPECT_FALSE(u->unknown_symbols.empty());
  ASSERT_FALSE(u->warnings.empty());
  EXPECT_EQ(u->warnings.back().rfind("symbols not in the checkpoint's table, skipped: ", 0), 0u);
}

// A table of alignment phones (//preprocess --phonemizer=alignment) is spelled with its lexicon;
// a word outside it is named.
TEST(SynthesizerTest, AlignmentPhoneTableUsesItsLexicon) {
  records::SymbolTable t;
  for (const char* p : {"<pad>", "|", "HH", "AH0", "L", "OW1", "W", "ER1", "D"}) t.add_symbols(p);
  t.set_cleaner("english");
  t.set_phonemizer("alignment");
  records::LexiconEntry* hello = t.add_lexicon();
  hello->set_word("hello");
  for (const char* p : {"HH", "AH0", "L", "OW1"}) hello->add_phones(p);
  records::LexiconEntry* world = t.add_lexicon();
  world->set_word("world");
  for (const char* p : {"W", "ER1", "L", "D"}) world->add_phones(p);
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("lexicon.pb", t));
  ASSERT_NE(s, nullptr);
  absl::StatusOr<SynthesizedUtterance> u = s->Encode("Hello, world!");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->symbols, (std::vector<std::string>{"HH", "AH0", "L", "OW1", "|", "W", "ER1", "L", "D"}));
  EXPECT_TRUE(u->unknown_symbols.empty());
  EXPECT_EQ(s->Encode("Hello there").status().message(),
            "text 'Hello there': not in the lexicon of the training alignments (2 words): 'there'");
  t.clear_lexicon();
  EXPECT_EQ(Synthesizer::Create(WriteTinyCheckpoint("no_lexicon.pb", t), SynthesizerOptions{}).status().message(),
            absl::StrCat(::testing::TempDir(), "/no_lexicon.pb: the alignment phone table has no lexicon"));
}

TEST(SynthesizerTest, BadInputs) {
  std::unique_ptr<Synthesizer> s = Make(WriteTinyCheckpoint("f.pb", EnglishTable()));
  ASSERT_NE(s, nullptr);
  absl::StatusOr<SynthesisResult> empty = s->SynthesizeText({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "Synthesizer: no text");
  absl::StatusOr<SynthesisResult> blank = s->SynthesizeText({"fine", "  "});
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.status().message(), "text 1: text '  ': empty text after cleaning");

  SynthesizerOptions o;
  o.max_batch = 0;
  EXPECT_EQ(Synthesizer::Create("x.pb", o).status().message(), "Synthesizer: max_batch must be >= 1");
  o.max_batch = 1;
  o.device = "tpu";
  EXPECT_EQ(Synthesizer::Create("x.pb", o).status().message(), "--device=tpu: expected auto, cpu, cuda or cuda:N");
}

TEST(SynthesizerTest, CheckpointOfAnotherModelFails) {
  train::TrainConfig other = TinyConfig();
  const std::string path = WriteTinyCheckpoint("g.pb", EnglishTable(), other);
  // The same tensors under a config that describes a wider encoder.
  absl::StatusOr<train::Checkpoint> c = train::ReadCheckpoint(path);
  ASSERT_TRUE(c.ok());
  c->mutable_config()->mutable_model()->set_encoder_dim(32);
  const std::string wrong = ::testing::TempDir() + "/wrong.pb";
  ASSERT_TRUE(train::WriteCheckpoint(*c, wrong).ok());
  absl::StatusOr<std::unique_ptr<Synthesizer>> s = Synthesizer::Create(wrong);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message().rfind(wrong + ": checkpoint tensor '", 0), 0u) << s.status();

  EXPECT_FALSE(Synthesizer::Create(::testing::TempDir() + "/missing.pb").ok());
}

}  // namespace
}  // namespace lightspeech::inference
