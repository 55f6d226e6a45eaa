#include "tools/asr.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "pocketsphinx/pocketsphinx.h"

namespace lightspeech::tools {

struct SpeechRecognizer::Decoder {
  cmd_ln_t* config = nullptr;
  ps_decoder_t* ps = nullptr;
  ~Decoder() {
    if (ps != nullptr) ps_free(ps);
    if (config != nullptr) cmd_ln_free_r(config);
  }
};

SpeechRecognizer::SpeechRecognizer(std::unique_ptr<Decoder> decoder) : decoder_(std::move(decoder)) {}
SpeechRecognizer::~SpeechRecognizer() = default;

absl::StatusOr<std::unique_ptr<SpeechRecognizer>> SpeechRecognizer::Create(absl::string_view model_dir) {
  const std::string hmm = absl::StrCat(model_dir, "/en-us"), lm = absl::StrCat(model_dir, "/en-us.lm.bin"),
                    dict = absl::StrCat(model_dir, "/cmudict-en-us.dict");
  if (!base::IsDirectory(hmm)) return absl::NotFoundError(absl::StrCat(hmm, ": no acoustic model (apt-get install pocketsphinx-en-us)"));
  for (const std::string& f : {lm, dict}) {
    if (!base::IsRegularFile(f)) return absl::NotFoundError(absl::StrCat(f, ": missing (apt-get install pocketsphinx-en-us)"));
  }
  auto d = std::make_unique<Decoder>();
  // -remove_noise no: the noise filter adapts across utterances, so the same clip would be recognized
  // differently depending on what came before it (measured on the test clip).
  d->config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(), "-dict", dict.c_str(),
                          "-logfn", "/dev/null", "-remove_noise", "no", nullptr);
  if (d->config == nullptr) return absl::InternalError(absl::StrCat("pocketsphinx: cannot configure the model in ", model_dir));
  d->ps = ps_init(d->config);
  if (d->ps == nullptr) return absl::InternalError(absl::StrCat("pocketsphinx: cannot load the model in ", model_dir));
  return std::unique_ptr<SpeechRecognizer>(new SpeechRecognizer(std::move(d)));
}

absl::StatusOr<std::string> SpeechRecognizer::Recognize(absl::Span<const float> samples_16k) {
  std::vector<int16_t> pcm(samples_16k.size());
  for (size_t i = 0; i < samples_16k.size(); ++i) {
    const float v = std::isfinite(samples_16k[i]) ? samples_16k[i] : 0.0f;
    pcm[i] = static_cast<int16_t>(std::lround(std::clamp(v * 32768.0f, -32768.0f, 32767.0f)));
  }
  if (ps_start_utt(decoder_->ps) < 0) return absl::InternalError("pocketsphinx: cannot start an utterance");
  if (!pcm.empty() && ps_process_raw(decoder_->ps, pcm.data(), pcm.size(), FALSE, TRUE) < 0) {
    ps_end_utt(decoder_->ps);
    return absl::InternalError("pocketsphinx: decoding failed");
  }
  if (ps_end_utt(decoder_->ps) < 0) return absl::InternalError("pocketsphinx: cannot end the utterance");
  int32 score = 0;
  const char* hyp = ps_get_hyp(decoder_->ps, &score);
  if (hyp == nullptr) return std::string();
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(hyp, ' ', absl::SkipEmpty())) {
    if (w.front() == '<' || w.front() == '[') continue;  // fillers: <s>, <sil>, [NOISE]
    // Alternative pronunciations are written "word(2)".
    const size_t paren = w.find('(');
    words.push_back(absl::AsciiStrToLower(w.substr(0, paren)));
  }
  return absl::StrJoin(words, " ");
}

}  // namespace lightspeech::tools
