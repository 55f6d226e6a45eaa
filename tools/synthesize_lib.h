#ifndef LIGHTSPEECH_TOOLS_SYNTHESIZE_LIB_H_
#define LIGHTSPEECH_TOOLS_SYNTHESIZE_LIB_H_

// The body of //tools:synthesize: checkpoint + text -> log-mel (inference/synthesizer.h) -> Griffin-Lim
// -> 16-bit wav, a PNG of each mel, optional .npy mels for neural vocoders, and the real-time factor
// of each stage.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "features/log_mel.h"
#include "records/manifest.pb.h"
#include "train/train_config.pb.h"

namespace lightspeech::tools {

struct SynthesizeOptions {
  std::string checkpoint;
  // Exactly one input: one text, a file with one text per line (blank lines skipped), or symbols
  // separated by spaces (phones with "|" between words, as in the checkpoint's table).
  std::string text, text_file, phonemes;
  std::string out = "out.wav";  // with text_file: OUT-NNNN.wav for line NNNN; a PNG beside each wav
  std::string mel_out;          // "" or a .npy path (numbered like `out` with text_file)
  std::string data;             // a //preprocess folder or manifest: its feature settings
  double speed = 1.0;
  int batch_size = 16;
  int threads = 1;
  std::string device = "cpu";
  int griffin_lim_iterations = 32;
};

// The feature settings Griffin-Lim needs (sample rate, FFT, hop, mel band edges): the checkpoint's
// own (`checkpoint_features`; null for a checkpoint written before checkpoints recorded them) first;
// for such an old checkpoint, the manifest at `data` when given, else the checkpoint's training data's
// (config.data.data_dir) when its manifest is still there, else the docs/DESIGN.md defaults with n_mels
// bins. `*source` says which (and, when `data` is given with a checkpoint that has its own, whether
// the manifest's differ; the checkpoint's are used). Fails (InvalidArgument) when the chosen
// settings' n_mels differs from the checkpoint's, naming both, or with ReadManifest's error for an
// unreadable `data`.
absl::StatusOr<features::LogMelOptions> ResolveFeatureSettings(const std::string& data,
                                                                const records::FeatureSettings* checkpoint_features,
                                                                const train::TrainConfig& config, int n_mels,
                                                                std::string* source);

// `path` with "-NNNN" (4 digits, more when needed) before its extension: ("a/out.wav", 7) ->
// "a/out-0007.wav".
std::string NumberedPath(const std::string& path, int number);

// Runs the tool: report lines to `out`, warnings (unknown symbols, feature-settings source) to
// `err`. Fails (InvalidArgument) on bad options (naming the flag), or with the first error of the
// synthesizer, Griffin-Lim or a write, naming the file.
absl::Status RunSynthesize(const SynthesizeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_SYNTHESIZE_LIB_H_
