#include "tools/judge_lib.h"

#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "gtest/gtest.h"
#include "inference/synthesizer_testing.h"
#include "preprocess/pipeline.h"
#include "records/manifest_io.h"

namespace lightspeech::tools {
namespace {

constexpr char kCorpusEn[] = "testdata/corpus_en";  // 12 espeak-ng sentences

// Records of the embedded corpus with half of it in validation, and a tiny (untrained) checkpoint.
struct Fixture {
  std::string records, checkpoint;
};

Fixture MakeFixture(const std::string& name, const std::string& cleaner) {
  Fixture f;
  f.records = absl::StrCat(::testing::TempDir(), "/judge_", name);
  preprocess::PipelineOptions p;
  p.dataset = kCorpusEn;
  p.out = f.records;
  p.val_fraction = 0.5;
  p.threads = 1;
  p.progress = false;
  p.cleaner = cleaner;
  std::ostringstream log;
  EXPECT_TRUE(preprocess::RunPipeline(p, log).ok()) << log.str();
  f.checkpoint = absl::StrCat(f.records, "/tiny.pb");
  EXPECT_TRUE(inference::testing::WriteTinyCheckpoint(f.checkpoint, inference::testing::EnglishTable(), 3).ok());
  return f;
}

TEST(JudgeTest, JudgesSynthesizedVocodedAndRecordedSpeech) {
  const Fixture f = MakeFixture("en", "english");
  JudgeOptions o;
  o.checkpoint = f.checkpoint;
  o.data_dir = f.records;
  o.max_utterances = 2;
  o.griffin_lim_iterations = 4;
  o.json_out = absl::StrCat(f.records, "/judge.json");
  std::ostringstream log;
  absl::StatusOr<JudgeReport> r = RunJudge(o, log);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->utterances.size(), 2u);
  EXPECT_EQ(r->synthesized.utterances, 2);
  EXPECT_EQ(r->vocoded.utterances, 2);
  EXPECT_EQ(r->recordings.utterances, 2);  // found through the manifest's corpus path
  int64_t words = 0;
  for (const JudgedUtterance& u : r->utterances) {
    words += WordErrors(u.text, "").reference_length;
    // The recordings row is the recognizer on the corpus's own file.
    absl::StatusOr<std::unique_ptr<SpeechRecognizer>> asr = SpeechRecognizer::Create();
    ASSERT_TRUE(asr.ok());
    absl::StatusOr<features::Audio> audio = features::ReadAudio(absl::StrCat(kCorpusEn, "/wavs/", u.id, ".flac"), 16000);
    ASSERT_TRUE(audio.ok()) << audio.status();
    EXPECT_EQ(*(*asr)->Recognize(audio->samples), u.recording) << u.id;
  }
  EXPECT_EQ(r->synthesized.words.reference_length, words);
  EXPECT_GT(r->asr_seconds, 0);
  const std::string report = FormatJudgeReport(*r);
  EXPECT_TRUE(absl::StrContains(report, "synthesized from text")) << report;
  absl::StatusOr<std::string> json = base::ReadFile(o.json_out);
  ASSERT_TRUE(json.ok());
  EXPECT_TRUE(absl::StrContains(*json, absl::StrCat("\"id\": \"", r->utterances[0].id, "\""))) << *json;
}

TEST(JudgeTest, SaysSoForANonEnglishCorpus) {
  const Fixture f = MakeFixture("unicode", "unicode");
  JudgeOptions o;
  o.checkpoint = f.checkpoint;
  o.data_dir = f.records;
  std::ostringstream log;
  EXPECT_EQ(RunJudge(o, log).status().message(),
            f.records + ": not an English corpus (cleaner 'unicode', phonemizer ''); the judge has only an English "
                        "ASR model (pocketsphinx-en-us), so it gives no intelligibility figure for this corpus");
}

}  // namespace
}  // namespace lightspeech::tools
