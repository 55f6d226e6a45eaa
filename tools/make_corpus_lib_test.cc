#include "tools/make_corpus_lib.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "preprocess/alignment.h"
#include "sndfile.h"

namespace lightspeech::tools {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  fs::path p = fs::path(t ? t : "/tmp") / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SampleIndicesTest, SeededDistinctSortedSample) {
  const std::vector<int> a = SampleIndices(1000, 10, 7);
  EXPECT_EQ(a, SampleIndices(1000, 10, 7));
  EXPECT_NE(a, SampleIndices(1000, 10, 8));
  ASSERT_EQ(a.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), 10u);
  for (int i : a) EXPECT_TRUE(i >= 0 && i < 1000);
  EXPECT_THAT(SampleIndices(3, 0, 1), ::testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(SampleIndices(3, 5, 1), ::testing::ElementsAre(0, 1, 2));
}

TEST(MakeCorpusTest, WritesAConsistentCorpusFromASentencesFile) {
  const fs::path dir = TempDir("corpus");
  const fs::path sentences = dir / "sentences.txt";
  {
    std::ofstream f(sentences);
    f << "# Genesis 1 (KJV)\n"
         "And God said, Let there be light: and there was light.\n"
         "\n"
         "Too short.\n"
         "And God called the light Day, and the darkness he called Night.\n";
  }
  for (const std::string format : {"flac", "wav"}) {
    MakeCorpusOptions o;
    o.out_dir = (dir / format).string();
    o.sentences_file = sentences.string();
    o.rate_wpm = 190;
    o.audio_format = format;
    int calls = 0;
    o.progress = [&calls](int done, int total, double) {
      ++calls;
      EXPECT_EQ(total, 2);
      EXPECT_EQ(done, calls);
    };
    absl::StatusOr<CorpusSummary> s = MakeCorpus(o);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->utterances, 2);
    EXPECT_EQ(s->skipped_sentences, 1);
    EXPECT_THAT(s->warnings, ::testing::ElementsAre(
                                 sentences.string() +
                                 ":4: skipped: not 5..25 words of letters and , ; : . ? ! ' -"));
    EXPECT_EQ(calls, 2);

    const std::string metadata = ReadAll(dir / format / "metadata.csv");
    EXPECT_EQ(metadata,
              "line00002|And God said, Let there be light: and there was light.|And God said, Let "
              "there be light: and there was light.\n"
              "line00005|And God called the light Day, and the darkness he called Night.|And God "
              "called the light Day, and the darkness he called Night.\n");
    double total = 0;
    for (const std::string id : {"line00002", "line00005"}) {
      const fs::path audio = dir / format / "wavs" / (id + "." + format);
      SF_INFO info{};
      SNDFILE* f = sf_open(audio.c_str(), SFM_READ, &info);
      ASSERT_NE(f, nullptr) << audio;
      sf_close(f);
      EXPECT_EQ(info.samplerate, 22050);
      EXPECT_EQ(info.channels, 1);
      EXPECT_EQ(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_PCM_16);
      const int64_t n = info.frames;
      total += n / 22050.0;

      absl::StatusOr<preprocess::Alignment> a =
          preprocess::ReadAlignmentFile((dir / format / "textgrids" / (id + ".TextGrid")).string());
      ASSERT_TRUE(a.ok()) << a.status();
      EXPECT_EQ(a->duration, n / 22050.0);  // exact: same double, printed with 17 digits
      const std::vector<std::string> fields = absl::StrSplit(metadata, '|');
      const std::string text = id == "line00002" ? fields[2].substr(0, fields[2].find('\n'))
                                                 : fields[4].substr(0, fields[4].find('\n'));
      EXPECT_TRUE(preprocess::CheckWords(*a, text).ok()) << preprocess::CheckWords(*a, text);
      const int64_t n_frames = 1 + n / 256;
      absl::StatusOr<preprocess::FrameAlignment> fa =
          preprocess::ToFrames(*a, n_frames, preprocess::FrameOptions{});
      ASSERT_TRUE(fa.ok()) << fa.status();
      int64_t sum = 0;
      for (const preprocess::FrameInterval& iv : fa->phones) sum += iv.end - iv.start;
      EXPECT_EQ(sum, n_frames);
    }
    EXPECT_NEAR(s->seconds, total, 1e-9);
    for (const auto& e : fs::recursive_directory_iterator(dir / format)) {
      EXPECT_NE(e.path().extension(), ".tmp") << e.path();
    }
  }
}

TEST(MakeCorpusTest, FailureLeavesNoMetadata) {
  const fs::path dir = TempDir("bad");
  const fs::path sentences = dir / "s.txt";
  { std::ofstream(sentences) << "And God said, Let there be light.\n"; }
  { std::ofstream(dir / "metadata.csv") << "old|corpus|corpus\n"; }
  MakeCorpusOptions o;
  o.out_dir = dir.string();
  o.sentences_file = sentences.string();
  o.voice = "xx-nonexistent";
  EXPECT_EQ(MakeCorpus(o).status().message(), "espeak-ng: unknown voice 'xx-nonexistent'");
  EXPECT_FALSE(fs::exists(dir / "metadata.csv"));

  o.voice = "en-us";
  o.audio_format = "mp3";
  EXPECT_EQ(MakeCorpus(o).status().message(), "make_corpus: audio format 'mp3' is not flac or wav");
}

}  // namespace
}  // namespace lightspeech::tools
