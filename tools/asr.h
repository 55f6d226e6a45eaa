#ifndef LIGHTSPEECH_TOOLS_ASR_H_
#define LIGHTSPEECH_TOOLS_ASR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace lightspeech::tools {

// Debian's English model for PocketSphinx (package pocketsphinx-en-us).
inline constexpr char kDefaultAsrModelDir[] = "/usr/share/pocketsphinx/model/en-us";

// An English speech recognizer (CMU PocketSphinx, its C API; 16 kHz mono input), the judge of
// intelligibility: what it recognizes of synthesized speech, against the text, next to what it
// recognizes of recordings. An old recognizer: its error rate on recordings is the floor to compare
// with. Not thread-safe (one decoder); no LibTorch.
class SpeechRecognizer {
 public:
  // Loads the acoustic model (model_dir/en-us), language model (model_dir/en-us.lm.bin) and
  // dictionary (model_dir/cmudict-en-us.dict). Fails (NotFound) naming a missing file, (Internal)
  // when PocketSphinx cannot start. PocketSphinx's own log goes to /dev/null.
  static absl::StatusOr<std::unique_ptr<SpeechRecognizer>> Create(absl::string_view model_dir = kDefaultAsrModelDir);
  ~SpeechRecognizer();
  SpeechRecognizer(const SpeechRecognizer&) = delete;
  SpeechRecognizer& operator=(const SpeechRecognizer&) = delete;

  // The words recognized in `samples` (16 kHz mono, full scale 1.0; clipped to int16), lower case,
  // space-separated, fillers such as <sil> and [NOISE] left out; empty when nothing was recognized.
  // Fails (Internal) when the decoder reports an error.
  absl::StatusOr<std::string> Recognize(absl::Span<const float> samples_16k);

 private:
  struct Decoder;
  explicit SpeechRecognizer(std::unique_ptr<Decoder> decoder);
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_ASR_H_
