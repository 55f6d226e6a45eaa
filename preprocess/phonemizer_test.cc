#include "preprocess/phonemizer.h"

#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "preprocess/alignment.h"
#include "sndfile.h"

namespace lightspeech::preprocess {
namespace {

using ::testing::ElementsAre;

// testdata/corpus_en was made by tools:make_corpus at --voice=en-us (see its README.md).
constexpr char kCorpus[] = "testdata/corpus_en";

struct Utterance {
  std::string id, text;
};

std::vector<Utterance> ReadMetadata() {
  std::vector<Utterance> out;
  std::ifstream in(std::string(kCorpus) + "/metadata.csv");
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, '|');
    if (f.size() == 3) out.push_back({f[0], f[2]});
  }
  return out;
}

int64_t NumSamples(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return -1;
  sf_close(f);
  return info.frames;
}

TEST(PhonemizerTest, CreateRejectsBadSpecs) {
  EXPECT_EQ(Phonemizer::Create("festival:en").status().message(),
            "phonemizer: expected 'espeak:VOICE', got 'festival:en'");
  EXPECT_EQ(Phonemizer::Create("espeak:").status().message(),
            "phonemizer: expected 'espeak:VOICE', got 'espeak:'");
  EXPECT_EQ(Phonemizer::Create("espeak:xx-nonexistent").status().message(),
            "phonemizer 'espeak:xx-nonexistent': espeak-ng: unknown voice 'xx-nonexistent'");
}

TEST(PhonemizerTest, KeepsWordBoundaries) {
  absl::StatusOr<std::unique_ptr<Phonemizer>> p = Phonemizer::Create("espeak:en-us");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::vector<std::string>> s = (*p)->Phonemize("Let there be light.");
  ASSERT_TRUE(s.ok()) << s.status();
  // espeak-ng 1.51, en-us; "there be" is one unit for espeak-ng (see espeak_synth.h).
  EXPECT_THAT(*s, ElementsAre("l", "E", "t", "|", "D", "e@", "b", "i:", "|", "l", "aI", "t"));
}

// English voices spell out currency and abbreviations before espeak-ng reads them (issue 23: "$5"
// was "dollar five", "Jan." ended the sentence); the phones of "$5" stay one word of the text.
TEST(PhonemizerTest, SpellsOutCurrencyAndAbbreviationsWithinTheTextsWords) {
  absl::StatusOr<std::unique_ptr<Phonemizer>> p = Phonemizer::Create("espeak:en-us");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::vector<std::vector<std::string>>> written = (*p)->PhonemizeWords("It cost $5 on Jan. 3.");
  absl::StatusOr<std::vector<std::vector<std::string>>> spelled =
      (*p)->PhonemizeWords("It cost five dollars on January 3.");
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE(spelled.ok()) << spelled.status();
  ASSERT_EQ(written->size(), 6u);  // it, cost, $5, on, Jan., 3
  ASSERT_EQ(spelled->size(), 7u);
  std::vector<std::string> five_dollars = (*spelled)[2];
  five_dollars.insert(five_dollars.end(), (*spelled)[3].begin(), (*spelled)[3].end());
  EXPECT_EQ((*written)[2], five_dollars);
  EXPECT_EQ((*written)[4], (*spelled)[5]);  // "Jan." as "January"
  EXPECT_EQ((*written)[5], (*spelled)[6]);  // and the sentence goes on to "3"
  // Other voices read the text as written.
  absl::StatusOr<std::unique_ptr<Phonemizer>> de = Phonemizer::Create("espeak:de");
  ASSERT_TRUE(de.ok()) << de.status();
  EXPECT_NE((*de)->PhonemizeWords("Jan. 3").value(), (*de)->PhonemizeWords("January 3").value());
}

TEST(PhonemizerTest, LexiconSpellsKnownWordsAndNamesEveryUnknownOne) {
  std::unique_ptr<Phonemizer> p = Phonemizer::FromLexicon(
      {{"let", {"L", "EH1", "T"}}, {"there", {"DH", "EH1", "R"}}, {"there be", {"DH", "EH1", "B", "IY0"}},
       {"light", {"L", "AY1", "T"}}});
  absl::StatusOr<std::vector<std::string>> s = p->Phonemize("Let there be light!");
  ASSERT_TRUE(s.ok()) << s.status();
  // "there be" is one unit in the lexicon (as make_corpus labels it), taken before "there" alone.
  EXPECT_THAT(*s, ElementsAre("L", "EH1", "T", "|", "DH", "EH1", "B", "IY0", "|", "L", "AY1", "T"));
  EXPECT_THAT(p->Phonemize("THERE, let").value(), ElementsAre("DH", "EH1", "R", "|", "L", "EH1", "T"));
  EXPECT_EQ(p->Phonemize("Let darkness be, darkness").status().message(),
            "not in the lexicon of the training alignments (4 words): 'darkness', 'be'");
  EXPECT_EQ(p->Phonemize("--").status().message(), "no words in text '--'");
}

// The corpus's TextGrid phones are exactly the phonemizer's symbols (pauses aside), its phone
// durations sum to the frame count, and durations per phonemizer symbol can be taken from it.
TEST(PhonemizerTest, MatchesMakeCorpusTimingsOnTheEmbeddedCorpus) {
  absl::StatusOr<std::unique_ptr<Phonemizer>> p = Phonemizer::Create("espeak:en-us");
  ASSERT_TRUE(p.ok()) << p.status();
  const std::vector<Utterance> utts = ReadMetadata();
  ASSERT_EQ(utts.size(), 12u);
  for (const Utterance& u : utts) {
    SCOPED_TRACE(u.id);
    const int64_t n = NumSamples(std::string(kCorpus) + "/wavs/" + u.id + ".flac");
    ASSERT_GT(n, 0);
    const int64_t n_frames = 1 + n / 256;
    absl::StatusOr<Alignment> a =
        ReadAlignmentFile(std::string(kCorpus) + "/textgrids/" + u.id + ".TextGrid");
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(CheckWords(*a, u.text).ok()) << CheckWords(*a, u.text);
    absl::StatusOr<FrameAlignment> f = ToFrames(*a, n_frames, FrameOptions{});
    ASSERT_TRUE(f.ok()) << f.status();
    int64_t sum = 0;
    for (const FrameInterval& iv : f->phones) sum += iv.end - iv.start;
    EXPECT_EQ(sum, n_frames);

    absl::StatusOr<std::vector<std::vector<std::string>>> words = (*p)->PhonemizeWords(u.text);
    ASSERT_TRUE(words.ok()) << words.status();
    std::vector<std::string> from_phonemizer, from_textgrid;
    for (const auto& w : *words) from_phonemizer.insert(from_phonemizer.end(), w.begin(), w.end());
    for (const Interval& iv : a->phones) {
      if (!iv.label.empty()) from_textgrid.push_back(iv.label);
    }
    EXPECT_EQ(from_phonemizer, from_textgrid);
    int tier_words = 0;
    for (const Interval& iv : a->words) tier_words += !iv.label.empty();
    EXPECT_EQ(static_cast<int>(words->size()), tier_words);

    absl::StatusOr<std::vector<std::string>> symbols = (*p)->Phonemize(u.text);
    ASSERT_TRUE(symbols.ok());
    absl::StatusOr<std::vector<int64_t>> d = SymbolDurations(*f, *symbols, kWordSeparator, u.id);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(std::accumulate(d->begin(), d->end(), int64_t{0}), n_frames);
  }
}

TEST(PhonemizerTest, IsThreadSafe) {
  absl::StatusOr<std::unique_ptr<Phonemizer>> p = Phonemizer::Create("espeak:en-us");
  ASSERT_TRUE(p.ok());
  const std::vector<Utterance> utts = ReadMetadata();
  ASSERT_FALSE(utts.empty());
  std::vector<std::vector<std::string>> expected;
  for (const Utterance& u : utts) expected.push_back(*(*p)->Phonemize(u.text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < utts.size(); ++i) {
        absl::StatusOr<std::vector<std::string>> s = (*p)->Phonemize(utts[i].text);
        if (!s.ok() || *s != expected[i]) ++mismatches[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace lightspeech::preprocess
