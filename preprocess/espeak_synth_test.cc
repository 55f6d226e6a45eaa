#include "preprocess/espeak_synth.h"

#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

using ::testing::ElementsAre;

// Genesis 1:3 (KJV), as tools:make_corpus would take it.
constexpr char kText[] = "And God said, Let there be light: and there was light.";

TEST(EspeakSynthTest, PhonesTileTheAudioAndWordsFollowTheText) {
  absl::StatusOr<EspeakUtterance> u = EspeakSynthesize(kText, EspeakOptions{});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->sample_rate, 22050);
  EXPECT_EQ(static_cast<int64_t>(u->samples.size()), u->num_samples);
  ASSERT_FALSE(u->phones.empty());
  EXPECT_EQ(u->phones.front().start_sample, 0);
  EXPECT_EQ(u->phones.back().end_sample, u->num_samples);
  for (size_t i = 0; i < u->phones.size(); ++i) {
    EXPECT_LT(u->phones[i].start_sample, u->phones[i].end_sample) << i;
    if (i > 0) {
      EXPECT_EQ(u->phones[i].start_sample, u->phones[i - 1].end_sample) << i;
    }
    EXPECT_EQ(u->phones[i].word < 0, IsEspeakPause(u->phones[i].symbol)) << i;
  }
  std::vector<std::string> labels;
  for (const EspeakWord& w : u->words) labels.push_back(w.label);
  // espeak-ng speaks "there be" and "there was" as units (dictionary entries): one word each.
  EXPECT_THAT(labels, ElementsAre("and", "god", "said", "let", "there be", "light", "and",
                                  "there was", "light"));
  for (size_t w = 0; w + 1 < u->words.size(); ++w) {
    EXPECT_LE(u->words[w].end_sample, u->words[w + 1].start_sample) << w;
  }
  // The audio is speech, not silence.
  int peak = 0;
  for (int16_t s : u->samples) peak = std::max(peak, std::abs(static_cast<int>(s)));
  EXPECT_GT(peak, 1000);
}

// Issue 23: a spaced dash and a sentence break inside one line used to be refused ("phone 'w' at
// character 8 lies outside every word"): espeak-ng reports the next word's first phone at the break.
TEST(EspeakSynthTest, ClauseBreaksThatAreNotWordsKeepEveryWord) {
  absl::StatusOr<EspeakUtterance> u = EspeakSynthesize("He said - well, nothing - and left.", EspeakOptions{});
  ASSERT_TRUE(u.ok()) << u.status();
  std::vector<std::string> labels;
  for (const EspeakWord& w : u->words) labels.push_back(w.label);
  EXPECT_THAT(labels, ElementsAre("he", "said", "well", "nothing", "and", "left"));
  EspeakOptions ru;
  ru.voice = "ru";
  absl::StatusOr<EspeakUtterance> r = EspeakSynthesize("она упала и опала. соам, проговорил он.", ru);
  ASSERT_TRUE(r.ok()) << r.status();
  labels.clear();
  for (const EspeakWord& w : r->words) labels.push_back(w.label);
  EXPECT_THAT(labels, ElementsAre("она", "упала", "и", "опала", "соам", "проговорил", "он"));
}

TEST(EspeakSynthTest, WordPhonesAreEspeakMnemonics) {
  absl::StatusOr<EspeakUtterance> u = EspeakSynthesize("Let there be light.", EspeakOptions{});
  ASSERT_TRUE(u.ok()) << u.status();
  std::vector<std::vector<std::string>> words(u->words.size());
  for (const EspeakPhone& p : u->phones) {
    if (p.word >= 0) words[p.word].push_back(p.symbol);
  }
  // espeak-ng 1.51 (Debian 12), voice en-us.
  EXPECT_THAT(words, ElementsAre(ElementsAre("l", "E", "t"), ElementsAre("D", "e@", "b", "i:"),
                                 ElementsAre("l", "aI", "t")));
}

TEST(EspeakSynthTest, RateChangesDurationsNotPhones) {
  EspeakOptions slow, fast;
  slow.rate_wpm = 120;
  fast.rate_wpm = 260;
  absl::StatusOr<EspeakUtterance> a = EspeakSynthesize(kText, slow);
  absl::StatusOr<EspeakUtterance> b = EspeakSynthesize(kText, fast);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(a->num_samples, b->num_samples * 3 / 2);
  std::vector<std::string> pa, pb;
  for (const EspeakPhone& p : a->phones)
    if (p.word >= 0) pa.push_back(p.symbol);
  for (const EspeakPhone& p : b->phones)
    if (p.word >= 0) pb.push_back(p.symbol);
  EXPECT_EQ(pa, pb);
}

// Concurrent calls are serialized and each gets its own, complete utterance. (Audio is not
// compared bit for bit: espeak-ng carries state between utterances, see espeak_synth.h.)
TEST(EspeakSynthTest, IsThreadSafe) {
  absl::StatusOr<EspeakUtterance> ref = EspeakSynthesize(kText, EspeakOptions{});
  ASSERT_TRUE(ref.ok());
  std::vector<EspeakUtterance> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&got, t] {
      absl::StatusOr<EspeakUtterance> u = EspeakSynthesize(kText, EspeakOptions{});
      if (u.ok()) got[t] = *std::move(u);
    });
  }
  for (std::thread& t : threads) t.join();
  auto symbols = [](const EspeakUtterance& u) {
    std::vector<std::string> s;
    for (const EspeakPhone& p : u.phones) s.push_back(p.symbol);
    return s;
  };
  for (const EspeakUtterance& u : got) {
    EXPECT_EQ(symbols(u), symbols(*ref));
    EXPECT_NEAR(u.num_samples, ref->num_samples, 0.01 * ref->num_samples);
    EXPECT_EQ(u.phones.back().end_sample, u.num_samples);
  }
}

TEST(EspeakSynthTest, RejectsBadArguments) {
  EspeakOptions bad_voice;
  bad_voice.voice = "xx-nonexistent";
  EXPECT_EQ(EspeakSynthesize(kText, bad_voice).status().message(),
            "espeak-ng: unknown voice 'xx-nonexistent'");
  EspeakOptions bad_rate;
  bad_rate.rate_wpm = 20;
  EXPECT_EQ(EspeakSynthesize(kText, bad_rate).status().message(),
            "espeak-ng: rate 20 wpm is outside 80..450");
  EXPECT_EQ(EspeakSynthesize(" -- ", EspeakOptions{}).status().message(),
            "espeak-ng: no words in text ' -- '");
  // A voice failure leaves the engine usable.
  EXPECT_TRUE(EspeakSynthesize(kText, EspeakOptions{}).ok());
}

}  // namespace
}  // namespace lightspeech::preprocess
