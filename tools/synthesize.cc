// bazel run //tools:synthesize -- --checkpoint=CKPT --text="..." --out=out.wav [--mel_out=mel.npy]
// Thin binary over tools/synthesize_lib.h.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "base/file_util.h"
#include "tools/synthesize_lib.h"

ABSL_FLAG(std::string, checkpoint, "", "A checkpoint written by //train (RUN_DIR/checkpoints/ckpt-NNNNNNNN.pb).");
ABSL_FLAG(std::string, text, "", "The text to speak.");
ABSL_FLAG(std::string, text_file, "",
          "A file with one text per line (blank lines skipped); line N is written to OUT-000N.wav.");
ABSL_FLAG(std::string, phonemes, "",
          "Symbols of the checkpoint's table separated by spaces (phones with | between words), instead of text.");
ABSL_FLAG(std::string, out, "out.wav", "The wav to write (Griffin-Lim); a PNG of the mel is written beside it.");
ABSL_FLAG(std::string, mel_out, "",
          "Also write the mel as float32 .npy, [n_mels, frames], natural log (HiFi-GAN-style vocoders' input).");
ABSL_FLAG(std::string, data, "",
          "For checkpoints that do not record their feature settings (written before they did): the "
          "//preprocess folder (or manifest) whose settings (sample rate, hop, FFT, mel band) Griffin-Lim uses. "
          "Default: the checkpoint's own settings; for older checkpoints the training data's when its manifest "
          "is still there, else the docs/DESIGN.md defaults.");
ABSL_FLAG(double, speed, 1.0, "Speaking rate: durations are divided by it (2 speaks twice as fast).");
ABSL_FLAG(int, batch_size, 16, "Utterances decoded together.");
ABSL_FLAG(int, threads, 1, "LibTorch intra-op threads.");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda, cuda:N or auto.");
ABSL_FLAG(int, griffin_lim_iterations, 32, "Griffin-Lim iterations.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Speaks text with a trained checkpoint: log-mel from the acoustic model, Griffin-Lim to a wav, a PNG of "
      "the mel, optional .npy mels for neural vocoders, and the real-time factor of each stage.\n"
      "Usage: synthesize --checkpoint=CKPT (--text=TEXT | --text_file=FILE | --phonemes=P) [--out=out.wav]");
  absl::ParseCommandLine(argc, argv);
  using lightspeech::base::ResolveUserPath;
  lightspeech::tools::SynthesizeOptions o;
  const auto path = [](const std::string& p) { return p.empty() ? p : ResolveUserPath(p); };
  o.checkpoint = path(absl::GetFlag(FLAGS_checkpoint));
  o.text = absl::GetFlag(FLAGS_text);
  o.text_file = path(absl::GetFlag(FLAGS_text_file));
  o.phonemes = absl::GetFlag(FLAGS_phonemes);
  o.out = path(absl::GetFlag(FLAGS_out));
  o.mel_out = path(absl::GetFlag(FLAGS_mel_out));
  o.data = path(absl::GetFlag(FLAGS_data));
  o.speed = absl::GetFlag(FLAGS_speed);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.device = absl::GetFlag(FLAGS_device);
  o.griffin_lim_iterations = absl::GetFlag(FLAGS_griffin_lim_iterations);
  if (absl::Status s = lightspeech::tools::RunSynthesize(o, std::cout, std::cerr); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
