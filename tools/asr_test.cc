#include "tools/asr.h"

#include <vector>

#include "features/audio.h"
#include "gtest/gtest.h"
#include "tools/error_rate.h"

namespace lightspeech::tools {
namespace {

constexpr char kClip[] = "tools/testdata/slt_moses_16k.wav";
constexpr char kText[] = "And the LORD said unto Moses, Go in.";

TEST(SpeechRecognizerTest, RecognizesAClearEnglishSentence) {
  absl::StatusOr<std::unique_ptr<SpeechRecognizer>> asr = SpeechRecognizer::Create();
  ASSERT_TRUE(asr.ok()) << asr.status();
  absl::StatusOr<features::Audio> audio = features::ReadAudio(kClip, 16000);
  ASSERT_TRUE(audio.ok()) << audio.status();
  absl::StatusOr<std::string> words = (*asr)->Recognize(audio->samples);
  ASSERT_TRUE(words.ok()) << words.status();
  // Measured when written: all 8 words right. One wrong word would still pass.
  EXPECT_LE(WordErrors(kText, *words).errors, 1) << *words;
  // Decoding again gives the same words (the decoder is reset per utterance).
  EXPECT_EQ(*(*asr)->Recognize(audio->samples), *words);
  // Silence and nothing: no words.
  EXPECT_EQ(*(*asr)->Recognize(std::vector<float>(16000, 0.0f)), "");
  EXPECT_EQ(*(*asr)->Recognize({}), "");
}

TEST(SpeechRecognizerTest, AMissingModelIsNamed) {
  EXPECT_EQ(SpeechRecognizer::Create("/nonexistent").status().message(),
            "/nonexistent/en-us: no acoustic model (apt-get install pocketsphinx-en-us)");
}

}  // namespace
}  // namespace lightspeech::tools
