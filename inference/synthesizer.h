#ifndef LIGHTSPEECH_INFERENCE_SYNTHESIZER_H_
#define LIGHTSPEECH_INFERENCE_SYNTHESIZER_H_

// Inference from a training checkpoint: text (or symbols) -> the checkpoint's cleaner, phonemizer
// and symbol table (//preprocess) -> token ids -> the acoustic model's durations -> log-mel. The
// model is loaded by train::InferenceModel (train/inference_model.h): rebuilt from the checkpoint's
// TrainConfig exactly as the trainer built it and its tensors loaded by name, so loading runs no
// code. LibTorch stays behind this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "train/train_config.pb.h"

namespace lightspeech::inference {

struct SynthesizerOptions {
  std::string device = "cpu";  // a train::ResolveDevice name: "auto", "cpu", "cuda", "cuda:N"
  // Intra-op threads (torch::set_num_threads, process-wide); 0 leaves LibTorch's setting alone.
  int threads = 1;
  int max_batch = 16;  // utterances decoded together (padded); >= 1
};

// One utterance's result.
struct SynthesizedUtterance {
  std::vector<std::string> symbols;  // what the model read (phones with "|" between words, or characters)
  std::vector<int64_t> symbol_ids;
  std::vector<int64_t> durations;    // frames per symbol, after the speed factor
  // Input symbols missing from the checkpoint's table, each once, in order of appearance; they were
  // skipped and synthesis went on.
  std::vector<std::string> unknown_symbols;
  // Notes for the user (e.g. the unknown symbols, or a phonemizer fallback), one sentence each.
  std::vector<std::string> warnings;
  int64_t n_frames = 0;
  int n_mels = 0;
  std::vector<float> mel;  // natural-log mel, frame-major [n_frames][n_mels] (as in the records)
};

// Wall-clock seconds of one call, per stage.
struct SynthesisTiming {
  double frontend_seconds = 0;  // cleaning, phonemizing, symbol lookup
  double model_seconds = 0;     // tensors in, encoder, durations, length regulation, decoder, mel out
};

struct SynthesisResult {
  std::vector<SynthesizedUtterance> utterances;  // in input order
  SynthesisTiming timing;
};

class Synthesizer {
 public:
  // Loads the checkpoint's model in eval mode on options.device (train::InferenceModel::Create),
  // then its text front end. Fails naming the path: (DataLoss / FailedPrecondition) from
  // ReadCheckpoint, (FailedPrecondition) for a checkpoint without a symbol table, n_mels or K, or
  // whose tensors do not fit the model its config describes; (InvalidArgument) for bad options, an
  // unknown cleaner or phonemizer.
  static absl::StatusOr<std::unique_ptr<Synthesizer>> Create(const std::string& checkpoint_path,
                                                             const SynthesizerOptions& options = {});
  ~Synthesizer();
  Synthesizer(const Synthesizer&) = delete;
  Synthesizer& operator=(const Synthesizer&) = delete;

  // Text -> symbols, as //preprocess made the training symbols: with a phonemizer in the table, the
  // text as written goes to espeak-ng (falling back to the cleaner's output, with a warning, when
  // espeak-ng's phones cannot be matched to the words); otherwise the table's cleaner, then one
  // symbol per code point. Unknown symbols are skipped with a warning (with the English cleaner, which
  // drops what it cannot spell, the characters it dropped). Fails (InvalidArgument) for
  // invalid UTF-8, text that cleans to nothing, or no known symbol at all, quoting the text.
  absl::StatusOr<SynthesizedUtterance> Encode(const std::string& text) const;

  // Symbols given directly (phones, "|" between words, or characters of a character table), looked up
  // in the table; unknown ones are skipped with a warning. Fails (InvalidArgument) when none is known.
  absl::StatusOr<SynthesizedUtterance> EncodeSymbols(const std::vector<std::string>& symbols) const;

  // Encode() of every text, then the model in batches of at most max_batch utterances of similar
  // length. `speed` > 0 divides every duration (2 speaks twice as fast). Fails (InvalidArgument) for
  // an empty list, a bad speed or a text Encode() rejects (naming its index), (Internal) on a
  // LibTorch error.
  absl::StatusOr<SynthesisResult> SynthesizeText(const std::vector<std::string>& texts, double speed = 1.0) const;
  // The same from EncodeSymbols() of each list.
  absl::StatusOr<SynthesisResult> SynthesizeSymbols(const std::vector<std::vector<std::string>>& symbols,
                                                    double speed = 1.0) const;

  const records::SymbolTable& symbol_table() const;
  // The training data's feature settings as the checkpoint records them (sample rate, FFT, hop, mel
  // band: what Griffin-Lim needs); null for a checkpoint written before checkpoints had them.
  const records::FeatureSettings* feature_settings() const;
  const train::TrainConfig& config() const;
  int n_mels() const;
  int64_t step() const;  // the checkpoint's optimizer step
  int64_t num_parameters() const;

 private:
  struct State;
  explicit Synthesizer(std::unique_ptr<State> state);
  absl::Status Decode(std::vector<SynthesizedUtterance>& utterances, double speed) const;
  // Encodes `count` inputs with `encode(i)`, then decodes them all, timing both stages.
  absl::StatusOr<SynthesisResult> Synthesize(
      size_t count, const std::function<absl::StatusOr<SynthesizedUtterance>(size_t)>& encode, double speed) const;
  // EncodeSymbols with `dropped` (characters the cleaner removed) counted as unknown.
  absl::StatusOr<SynthesizedUtterance> EncodeSymbols(const std::vector<std::string>& symbols,
                                                     const std::vector<std::string>& dropped) const;
  std::unique_ptr<State> s_;
};

}  // namespace lightspeech::inference

#endif  // LIGHTSPEECH_INFERENCE_SYNTHESIZER_H_
