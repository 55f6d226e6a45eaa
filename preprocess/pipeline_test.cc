#include "preprocess/pipeline.h"

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "gmock/gmock.h"
#include "preprocess/alignment.h"
#include "preprocess/phonemizer.h"
#include "gtest/gtest.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::preprocess {
namespace {

using ::testing::HasSubstr;

constexpr int kGood = 12;
constexpr int kSourceRate = 16000;  // resampled to 22050 by the pipeline

std::vector<float> Tone(double seconds, double freq, double amp) {
  std::vector<float> x(static_cast<size_t>(seconds * kSourceRate));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(amp * std::sin(2 * M_PI * freq * i / kSourceRate) + 0.01 * std::sin(i * 12.9898));
  }
  return x;
}

void WriteFloatWav(const std::string& path, const std::vector<float>& x) {
  SF_INFO info{};
  info.samplerate = kSourceRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  sf_write_float(f, x.data(), static_cast<sf_count_t>(x.size()));
  sf_close(f);
}

// A corpus with kGood good utterances and one of each kind of bad input.
std::string MakeCorpus(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name);
  EXPECT_EQ(system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "/wavs'").c_str()), 0);
  std::string meta;
  for (int i = 0; i < kGood; ++i) {
    const std::string id = absl::StrCat("utt", i);
    EXPECT_TRUE(features::WriteWav16(absl::StrCat(dir, "/wavs/", id, ".wav"), Tone(0.5 + 0.1 * i, 200 + 40 * i, 0.3), kSourceRate).ok());
    absl::StrAppend(&meta, id, "|Sentence number ", i, ".|Sentence number ", i, ".\n");
  }
  absl::StrAppend(&meta, "wrongfields|only|three|four\n");     // fields
  absl::StrAppend(&meta, "../escape|text|text\n");             // bad_id
  absl::StrAppend(&meta, "utt0|duplicate|duplicate\n");        // duplicate_id
  absl::StrAppend(&meta, "bad_utf8|caf\xff|caf\xff\n");        // utf8
  absl::StrAppend(&meta, "emptytext|\"\"|\n");                 // empty_text (nothing left after cleaning)
  absl::StrAppend(&meta, "missing|No audio here.|\n");         // missing_audio
  absl::StrAppend(&meta, "silent|Silence.|\n");                // silent_audio
  EXPECT_TRUE(features::WriteWav16(absl::StrCat(dir, "/wavs/silent.wav"), std::vector<float>(8000, 0.0f), kSourceRate).ok());
  absl::StrAppend(&meta, "nan|Not a number.|\n");              // non_finite_audio
  std::vector<float> nan = Tone(0.5, 300, 0.3);
  nan[100] = std::numeric_limits<float>::quiet_NaN();
  WriteFloatWav(absl::StrCat(dir, "/wavs/nan.wav"), nan);
  absl::StrAppend(&meta, "long|Too long.|\n");                 // too_long
  EXPECT_TRUE(features::WriteWav16(absl::StrCat(dir, "/wavs/long.wav"), Tone(3.5, 300, 0.3), kSourceRate).ok());
  absl::StrAppend(&meta, "corrupt|Corrupt audio.|\n");         // unreadable_audio
  EXPECT_TRUE(base::WriteFileAtomically(absl::StrCat(dir, "/wavs/corrupt.wav"), "RIFF\x10\0\0\0WAVEgarbage").ok());
  EXPECT_TRUE(base::WriteFileAtomically(absl::StrCat(dir, "/metadata.csv"), meta).ok());
  return dir;
}

PipelineOptions Options(const std::string& dataset, const std::string& out) {
  PipelineOptions o;
  o.dataset = dataset;
  o.out = out;
  o.num_shards = 3;
  o.val_fraction = 0.2;
  o.threads = 2;
  o.max_seconds = 3.0;
  o.progress = false;
  return o;
}

// id -> count over every shard of the manifest; also checks CRCs and frame counts.
std::map<std::string, int> ReadIds(const std::string& out) {
  std::map<std::string, int> ids;
  auto m = records::ReadManifest(out);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return ids;
  for (const auto& s : m->shards()) {
    auto r = records::RecordReader::Open(absl::StrCat(out, "/", s.path()));
    EXPECT_TRUE(r.ok());
    std::string payload;
    int n = 0;
    for (;;) {
      auto more = (*r)->Next(&payload);
      EXPECT_TRUE(more.ok()) << more.status().message();
      if (!more.ok() || !*more) break;
      records::Utterance u;
      EXPECT_TRUE(records::DecodeUtterance(payload, s.path(), &u).ok());
      // Frames follow the contract: 1 + floor(samples / hop) at 22050 Hz.
      EXPECT_EQ(u.n_frames(), 1 + u.num_samples() / 256) << u.id();
      EXPECT_EQ(u.sample_rate(), 22050);
      ++ids[u.id()];
      ++n;
    }
    EXPECT_EQ(n, s.num_records()) << s.path();
  }
  return ids;
}

TEST(PipelineTest, GoodUtterancesLandOnceAndEachBadKindIsNamed) {
  const std::string dataset = MakeCorpus("corpus_a");
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_a");
  std::ostringstream log;
  auto s = RunPipeline(Options(dataset, out), log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, kGood);
  EXPECT_TRUE(s->manifest_written);
  const std::map<std::string, int64_t> expected_skips = {
      {"bad_id", 1},       {"duplicate_id", 1},     {"empty_text", 1},   {"fields", 1},
      {"missing_audio", 1}, {"non_finite_audio", 1}, {"silent_audio", 1}, {"too_long", 1},
      {"unreadable_audio", 1}, {"utf8", 1}};
  EXPECT_EQ(s->skipped, expected_skips);
  const std::string l = log.str();
  EXPECT_THAT(l, HasSubstr("metadata.csv:13: expected 2 or 3 '|'-separated fields"));
  EXPECT_THAT(l, HasSubstr("metadata.csv:14: unsafe id '../escape'"));
  EXPECT_THAT(l, HasSubstr("metadata.csv:15: duplicate id 'utt0' (first on line 1)"));
  EXPECT_THAT(l, HasSubstr("metadata.csv:16: invalid UTF-8"));
  EXPECT_THAT(l, HasSubstr("metadata.csv:17: empty text after cleaning (id 'emptytext')"));
  EXPECT_THAT(l, HasSubstr("wavs/missing.wav: missing audio (line 18 of metadata.csv"));
  EXPECT_THAT(l, HasSubstr("wavs/silent.wav: silent clip (peak 0)"));
  EXPECT_THAT(l, HasSubstr("wavs/nan.wav: 1 NaN/Inf samples"));
  EXPECT_THAT(l, HasSubstr("wavs/long.wav: 3.50 s is longer than --max_seconds=3"));
  EXPECT_THAT(l, HasSubstr("wavs/corrupt.wav: "));
  const auto ids = ReadIds(out);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kGood));
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << id;
  EXPECT_THAT(FormatSummary(*s), HasSubstr("utterances written"));
}

TEST(PipelineTest, RerunResumesAndRedoesOnlyAnIncompleteShard) {
  const std::string dataset = MakeCorpus("corpus_b");
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_b");
  std::ostringstream log;
  ASSERT_TRUE(RunPipeline(Options(dataset, out), log).ok());
  auto again = RunPipeline(Options(dataset, out), log);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->shards_written, 0);
  EXPECT_EQ(again->shards_resumed, 4);  // 3 train + 1 validation
  EXPECT_EQ(again->resumed_utterances, kGood);
  // Simulate a crash mid-shard: stats sidecar gone, a stale partial file and a truncated shard.
  const std::string shard = absl::StrCat(out, "/train-00001-of-00003.tfrecord");
  ASSERT_EQ(::unlink((shard + ".stats.pbtxt").c_str()), 0);
  std::string bytes = *base::ReadFile(shard);
  ASSERT_TRUE(base::WriteFileAtomically(shard, bytes.substr(0, bytes.size() / 2)).ok());
  ASSERT_TRUE(base::WriteFileAtomically(shard + ".partial", "junk").ok());
  auto third = RunPipeline(Options(dataset, out), log);
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(third->shards_written, 1);
  EXPECT_EQ(third->shards_resumed, 3);
  const auto ids = ReadIds(out);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kGood));
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << id;
  EXPECT_FALSE(base::IsRegularFile(shard + ".partial"));
}

TEST(PipelineTest, TwoWorkersSplitShardsAndTheLastOneWritesTheManifest) {
  const std::string dataset = MakeCorpus("corpus_c");
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_c");
  std::ostringstream log;
  PipelineOptions o = Options(dataset, out);
  o.num_workers = 2;
  o.worker_index = 0;
  auto w0 = RunPipeline(o, log);
  ASSERT_TRUE(w0.ok()) << w0.status().message();
  EXPECT_FALSE(w0->manifest_written);
  EXPECT_FALSE(base::IsRegularFile(absl::StrCat(out, "/manifest.pbtxt")));
  o.worker_index = 1;
  auto w1 = RunPipeline(o, log);
  ASSERT_TRUE(w1.ok());
  EXPECT_TRUE(w1->manifest_written);
  EXPECT_EQ(w0->utterances + w1->utterances, kGood);
  const auto ids = ReadIds(out);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kGood));
}

TEST(PipelineTest, StrictFailsWhenAnythingIsSkippedAndBadOptionsAreNamed) {
  const std::string dataset = MakeCorpus("corpus_d");
  std::ostringstream log;
  PipelineOptions o = Options(dataset, absl::StrCat(::testing::TempDir(), "/out_d"));
  o.strict = true;
  auto s = RunPipeline(o, log);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "10 utterance(s) skipped and --strict is set (see the messages above)");
  o.strict = false;
  o.worker_index = 3;
  EXPECT_EQ(RunPipeline(o, log).status().message(), "--worker_index must be in [0, --num_workers) (got 3 of 1)");
  o = Options(absl::StrCat(::testing::TempDir(), "/no_such_corpus"), absl::StrCat(::testing::TempDir(), "/out_e"));
  EXPECT_THAT(std::string(RunPipeline(o, log).status().message()), HasSubstr("no_such_corpus: dataset folder not found"));
}

// testdata/corpus_bad (see its README.md): 3 good clips and one example of each bad input.
TEST(PipelineTest, EachKindOfBadInputInTestdataIsNamedAndSkipped) {
  constexpr char kBad[] = "testdata/corpus_bad";
  constexpr double kSecondsTolerance = 1e-3;
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_bad");
  std::ostringstream log;
  PipelineOptions o = Options(kBad, out);
  o.max_seconds = 1.5;
  auto s = RunPipeline(o, log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, 3);
  const std::map<std::string, int64_t> expected_skips = {
      {"bad_id", 2},         {"duplicate_id", 1},     {"empty_audio", 1},  {"empty_text", 1},
      {"fields", 1},         {"missing_audio", 1},    {"non_finite_audio", 1}, {"silent_audio", 1},
      {"too_long", 1},       {"truncated_audio", 1},  {"unreadable_audio", 1}, {"utf8", 1}};
  EXPECT_EQ(s->skipped, expected_skips);
  std::set<std::string> lines;
  std::istringstream in(log.str());
  for (std::string line; std::getline(in, line);) lines.insert(line);
  const std::string m = absl::StrCat(kBad, "/metadata.csv:");
  const std::string w = absl::StrCat(kBad, "/wavs/");
  for (const std::string& expected : {
           absl::StrCat(m, "10: expected 2 or 3 '|'-separated fields (id|text|normalized text), found 4"),
           absl::StrCat(m, "11: invalid UTF-8"),
           absl::StrCat(m, "12: empty text for id 'emptytext'"),
           absl::StrCat(m, "13: unsafe id 'sub/dir' (empty, leading '.', path separator or control character)"),
           absl::StrCat(m, "14: unsafe id '..' (empty, leading '.', path separator or control character)"),
           absl::StrCat(m, "15: duplicate id 'good1' (first on line 1)"),
           absl::StrCat(w, "missing.wav: missing audio (line 3 of metadata.csv; looked for .wav, .flac, .ogg)"),
           absl::StrCat(w, "notaudio.wav: Format not recognised."),  // libsndfile 1.2's message
           absl::StrCat(w, "truncated.wav: truncated: the header declares 8000 samples but the file holds 4000"),
           absl::StrCat(w, "empty.wav: empty clip (0 samples)"),
           absl::StrCat(w, "silent.wav: silent clip (peak 0)"),
           absl::StrCat(w, "nonfinite.wav: 3 NaN/Inf samples"),
           absl::StrCat(w, "long.wav: 2.00 s is longer than --max_seconds=1.5"),
       }) {
    EXPECT_EQ(lines.count(expected), 1u) << expected << "\nlog:\n" << log.str();
  }
  // Clips that could be read: truncated 0.25 s (what is there) + silent 0.5 + nonfinite 0.3 + long 2.0.
  EXPECT_NEAR(s->seconds_skipped, 3.05, kSecondsTolerance);
  EXPECT_NEAR(s->seconds_of_audio, 0.6 + 0.7 + 0.8, kSecondsTolerance);
  EXPECT_THAT(FormatSummary(*s), HasSubstr("\nhours of audio (skipped)            0.001\n"));
  const auto ids = ReadIds(out);
  EXPECT_EQ(ids, (std::map<std::string, int>{{"good1", 1}, {"good2", 1}, {"good3", 1}}));
}

constexpr char kCorpusEn[] = "testdata/corpus_en";  // 12 espeak-ng sentences with exact TextGrids

// Every record of `out`, by id.
std::map<std::string, records::Utterance> ReadRecords(const std::string& out) {
  std::map<std::string, records::Utterance> all;
  auto m = records::ReadManifest(out);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return all;
  for (const auto& s : m->shards()) {
    auto r = records::RecordReader::Open(absl::StrCat(out, "/", s.path()));
    EXPECT_TRUE(r.ok());
    std::string payload;
    for (;;) {
      auto more = (*r)->Next(&payload);
      if (!more.ok() || !*more) break;
      records::Utterance u;
      EXPECT_TRUE(records::DecodeUtterance(payload, s.path(), &u).ok());
      all[u.id()] = u;
    }
  }
  return all;
}

PipelineOptions AlignedOptions(const std::string& dataset, const std::string& out) {
  PipelineOptions o = Options(dataset, out);
  o.max_seconds = 20;
  o.alignments = absl::StrCat(dataset, "/textgrids");
  o.phonemizer = "espeak:en-us";
  return o;
}

TEST(PipelineTest, AlignmentsAndPhonemesGiveDurationsThatSumToTheFrames) {
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_aligned");
  std::ostringstream log;
  auto s = RunPipeline(AlignedOptions(kCorpusEn, out), log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, 12) << log.str();
  EXPECT_TRUE(s->skipped.empty()) << log.str();
  auto m = records::ReadManifest(out);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->symbols().phonemizer(), "espeak:en-us");
  ASSERT_GE(m->symbols().symbols_size(), 3);
  EXPECT_EQ(m->symbols().symbols(0), "<pad>");
  EXPECT_EQ(m->symbols().symbols(1), "|");
  const auto records = ReadRecords(out);
  ASSERT_EQ(records.size(), 12u);
  int64_t longest = 0;
  for (const auto& [id, u] : records) {
    const auto& a = u.alignment();
    EXPECT_EQ(a.source(), absl::StrCat(kCorpusEn, "/textgrids/", id, ".TextGrid"));
    ASSERT_EQ(a.durations_size(), u.symbol_ids_size()) << id;
    int64_t sum = 0;
    for (int i = 0; i < a.durations_size(); ++i) {
      sum += a.durations(i);
      longest = std::max<int64_t>(longest, a.durations(i));
      EXPECT_GE(a.durations(i), 0) << id;
    }
    EXPECT_EQ(sum, u.n_frames()) << id;
    ASSERT_GT(a.words_size(), 0) << id;
    ASSERT_GT(a.phones_size(), 0) << id;
    EXPECT_EQ(a.phones(0).start_frame(), 0) << id;
    EXPECT_EQ(a.phones(a.phones_size() - 1).end_frame(), u.n_frames()) << id;
    EXPECT_EQ(a.words(a.words_size() - 1).end_frame(), u.n_frames()) << id;
    for (int i = 1; i < a.phones_size(); ++i) EXPECT_EQ(a.phones(i).start_frame(), a.phones(i - 1).end_frame());
  }
  EXPECT_GT(longest, 0);
  EXPECT_EQ(m->max_token_frames(), longest);
  EXPECT_EQ(s->max_token_frames, longest);
  // The Job 35:4 sentence starts with "I": phones of the text as written, not of the lowercased text.
  EXPECT_THAT(records.at("kjv_Job35_4_1").normalized_text(), ::testing::StartsWith("aI | w I2 l |"));
}

// --phonemizer=alignment: the symbols are the TextGrids' own phone labels, the durations still sum
// to the frames, and the manifest carries the lexicon of the alignments' words (issue 23 item 4).
TEST(PipelineTest, AlignmentPhonesBecomeTheSymbolsWithALexicon) {
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_alignment_phones");
  PipelineOptions o = AlignedOptions(kCorpusEn, out);
  o.phonemizer = "alignment";
  std::ostringstream log;
  auto s = RunPipeline(o, log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, 12) << log.str();
  EXPECT_TRUE(s->skipped.empty()) << log.str();
  auto m = records::ReadManifest(out);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->symbols().phonemizer(), "alignment");
  EXPECT_EQ(m->symbols().symbols(1), "|");
  std::map<std::string, std::vector<std::string>> lexicon;
  for (const auto& e : m->symbols().lexicon()) lexicon[e.word()] = {e.phones().begin(), e.phones().end()};
  ASSERT_GT(lexicon.size(), 50u);
  int spelled_exactly = 0;
  for (const auto& [id, u] : ReadRecords(out)) {
    ASSERT_EQ(u.alignment().durations_size(), u.symbol_ids_size()) << id;
    int64_t sum = 0;
    for (int64_t d : u.alignment().durations()) sum += d;
    EXPECT_EQ(sum, u.n_frames()) << id;
    // The record's symbols are its TextGrid's non-silent phone labels, "|" between words.
    absl::StatusOr<Alignment> a = ReadAlignmentFile(u.alignment().source());
    ASSERT_TRUE(a.ok()) << a.status();
    std::vector<std::string> expected;
    absl::StatusOr<std::vector<WordPhones>> words = AlignmentWordPhones(*a, "|");
    ASSERT_TRUE(words.ok()) << words.status();
    for (const WordPhones& w : *words) {
      if (!expected.empty()) expected.push_back("|");
      expected.insert(expected.end(), w.phones.begin(), w.phones.end());
    }
    std::vector<std::string> symbols;
    for (int id_ : u.symbol_ids()) symbols.push_back(m->symbols().symbols(id_));
    EXPECT_EQ(symbols, expected) << id;
    // Its text, spelled with the lexicon, gives as many words; the same phones unless a word was
    // spoken in another of its variants here (espeak-ng's "the" is D@2 or DI2; the lexicon keeps one).
    absl::StatusOr<std::vector<std::string>> spelled = Phonemizer::FromLexicon(lexicon)->Phonemize(u.text());
    ASSERT_TRUE(spelled.ok()) << id << ": " << spelled.status();
    EXPECT_EQ(std::count(spelled->begin(), spelled->end(), "|"), std::count(expected.begin(), expected.end(), "|")) << id;
    spelled_exactly += *spelled == expected;
  }
  EXPECT_GT(spelled_exactly, 0);
  PipelineOptions bad = o;
  bad.alignments.clear();
  EXPECT_EQ(bad.Validate().message(), "--phonemizer=alignment takes the phones of --alignments, which is not set");
}

// The non-silent word intervals of a record, as (start, end) frames.
std::vector<std::pair<int, int>> SpokenWords(const records::Utterance& u) {
  std::vector<std::pair<int, int>> out;
  for (const auto& w : u.alignment().words()) {
    if (!w.label().empty()) out.emplace_back(w.start_frame(), w.end_frame());
  }
  return out;
}

TEST(PipelineTest, TrimmingSilenceShiftsTheReferenceAndNeverCutsIntoSpeech) {
  const std::string whole = absl::StrCat(::testing::TempDir(), "/out_untrimmed");
  std::ostringstream log;
  ASSERT_TRUE(RunPipeline(AlignedOptions(kCorpusEn, whole), log).ok()) << log.str();
  const auto untrimmed = ReadRecords(whole);
  // 40 dB, and 3 dB, at which nearly every frame counts as silence and only the reference's speech
  // keeps the clip from being cut away.
  for (double db : {40.0, 3.0}) {
    const std::string out = absl::StrCat(::testing::TempDir(), "/out_trimmed_", db);
    PipelineOptions o = AlignedOptions(kCorpusEn, out);
    o.trim_silence_db = db;
    auto s = RunPipeline(o, log);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->utterances, 12) << log.str();
    EXPECT_EQ(records::ReadManifest(out)->features().trim_silence_db(), db);
    int64_t cut = 0;
    for (const auto& [id, u] : ReadRecords(out)) {
      const records::Utterance& ref = untrimmed.at(id);
      EXPECT_LE(u.n_frames(), ref.n_frames()) << id;
      cut += ref.n_frames() - u.n_frames();
      int64_t sum = 0;
      for (int d : u.alignment().durations()) sum += d;
      EXPECT_EQ(sum, u.n_frames()) << id;
      // The same words, shifted by the frames cut at the start (+-1 frame of rounding).
      const auto words = SpokenWords(u), ref_words = SpokenWords(ref);
      ASSERT_EQ(words.size(), ref_words.size()) << id;
      const int shift = ref_words[0].first - words[0].first;
      EXPECT_GE(shift, 0) << id;
      EXPECT_GE(words[0].first, 0) << id;
      EXPECT_LE(words.back().second, u.n_frames()) << id;
      for (size_t i = 0; i < words.size(); ++i) {
        EXPECT_NEAR(words[i].first + shift, ref_words[i].first, 1) << id << " word " << i;
        EXPECT_NEAR(words[i].second + shift, ref_words[i].second, 1) << id << " word " << i;
      }
    }
    EXPECT_GT(cut, 0) << "trimming at " << db << " dB cut nothing";
  }
  PipelineOptions bad = AlignedOptions(kCorpusEn, whole);
  bad.trim_silence_db = -1;
  EXPECT_EQ(RunPipeline(bad, log).status().message(), "--trim_silence_db must be >= 0 (0: off)");
}

TEST(PipelineTest, WorkersDeriveTheSamePhoneTable) {
  // Each worker phonemizes the whole metadata, so the plan (with its table) is the same on every
  // worker, whatever shards it processes.
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_aligned_workers");
  std::ostringstream log;
  PipelineOptions o = AlignedOptions(kCorpusEn, out);
  o.num_workers = 2;
  o.worker_index = 1;
  ASSERT_TRUE(RunPipeline(o, log).ok());
  const std::string plan1 = *base::ReadFile(absl::StrCat(out, "/plan.pbtxt"));
  o.worker_index = 0;
  auto s = RunPipeline(o, log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->manifest_written);
  EXPECT_EQ(*base::ReadFile(absl::StrCat(out, "/plan.pbtxt")), plan1);
  EXPECT_THAT(plan1, HasSubstr("phonemizer: \"espeak:en-us\""));
  EXPECT_EQ(ReadRecords(out).size(), 12u);
}

TEST(PipelineTest, AlignmentsWithoutPhonemesKeepIntervalsOnly) {
  const std::string out = absl::StrCat(::testing::TempDir(), "/out_aligned_chars");
  std::ostringstream log;
  PipelineOptions o = AlignedOptions(kCorpusEn, out);
  o.phonemizer = "";
  auto s = RunPipeline(o, log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, 12);
  for (const auto& [id, u] : ReadRecords(out)) {
    EXPECT_EQ(u.alignment().durations_size(), 0) << id;
    EXPECT_GT(u.alignment().words_size(), 0) << id;
  }
  EXPECT_EQ(records::ReadManifest(out)->max_token_frames(), 0);
}

TEST(PipelineTest, MismatchedOrMissingAlignmentsAreNamedAndSkipped) {
  // A copy of corpus_en where one TextGrid belongs to another utterance (Ruth 3:2 lasts 2.886 s =
  // frame round(2.886 * 22050 / 256) = 249, Job 35:4 has 229 frames), one is missing and one is
  // replaced by an HTK .lab of the same phones (read like the TextGrid, without words).
  const std::string dir = absl::StrCat(::testing::TempDir(), "/corpus_mismatch");
  ASSERT_EQ(system(absl::StrCat("rm -rf '", dir, "' && cp -rL ", kCorpusEn, " '", dir, "' && chmod -R u+w '", dir, "'").c_str()), 0);
  const std::string tg = absl::StrCat(dir, "/textgrids/");
  ASSERT_EQ(system(absl::StrCat("cp '", tg, "kjv_Ruth3_2_2.TextGrid' '", tg, "kjv_Job35_4_1.TextGrid'").c_str()), 0);
  ASSERT_EQ(::unlink(absl::StrCat(tg, "kjv_Psa50_2_1.TextGrid").c_str()), 0);
  // Proverbs 5:17 with "thine" (word 5, its interval read from line 32) misspelt in its words tier.
  const std::string prv = absl::StrCat(tg, "kjv_Prv5_17_1.TextGrid");
  std::string text = *base::ReadFile(prv);
  const size_t at = text.find("text = \"thine\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 15, "text = \"thin\"");
  ASSERT_TRUE(base::WriteFileAtomically(prv, text).ok());
  auto grid = ReadAlignmentFile(absl::StrCat(tg, "kjv_Prv4_24_1.TextGrid"));
  ASSERT_TRUE(grid.ok());
  std::string lab;
  for (const Interval& iv : grid->phones) {
    absl::StrAppend(&lab, std::llround(iv.start * 1e7), " ", std::llround(iv.end * 1e7), " ",
                    iv.label.empty() ? "sil" : iv.label, "\n");
  }
  ASSERT_TRUE(base::WriteFileAtomically(absl::StrCat(tg, "kjv_Prv4_24_1.lab"), lab).ok());
  ASSERT_EQ(::unlink(absl::StrCat(tg, "kjv_Prv4_24_1.TextGrid").c_str()), 0);

  const std::string out = absl::StrCat(::testing::TempDir(), "/out_mismatch");
  std::ostringstream log;
  auto s = RunPipeline(AlignedOptions(dir, out), log);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->utterances, 9);
  const std::map<std::string, int64_t> expected_skips = {{"bad_alignment", 2}, {"missing_alignment", 1}};
  EXPECT_EQ(s->skipped, expected_skips);
  const std::string l = log.str();
  EXPECT_THAT(l, HasSubstr(absl::StrCat(tg, "kjv_Job35_4_1.TextGrid: alignment ends at 2.88553288 s = frame 249 "
                                        "but the audio has 229 frames (tolerance 2)\n")));
  EXPECT_THAT(l, HasSubstr(absl::StrCat(prv, ":32: word 5 is 'thin' but the text has 'thine'\n")));
  EXPECT_THAT(l, HasSubstr(absl::StrCat(tg, "kjv_Psa50_2_1.TextGrid: missing alignment (looked for .TextGrid, .lab)\n")));
  const auto records = ReadRecords(out);
  const records::Utterance& from_lab = records.at("kjv_Prv4_24_1");
  EXPECT_EQ(from_lab.alignment().source(), absl::StrCat(tg, "kjv_Prv4_24_1.lab"));
  EXPECT_EQ(from_lab.alignment().words_size(), 0);
  int64_t sum = 0;
  for (int d : from_lab.alignment().durations()) sum += d;
  EXPECT_EQ(sum, from_lab.n_frames());
}

}  // namespace
}  // namespace lightspeech::preprocess
