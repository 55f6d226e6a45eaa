// Benchmarks synthesis on one CPU core: text -> log-mel (inference/synthesizer.h: cleaner, symbols, the
// acoustic model) and Griffin-Lim, as real-time factors (compute seconds per second of audio).
//   bazel run -c opt //tools:bench_synthesis [-- --checkpoint=CKPT]
// The default checkpoint is the newest under runs/light_mas/checkpoints in the workspace (what the
// README's "Train and listen" commands write). Times are medians over --runs passes after a warm-up.
// The process is pinned to one CPU (--pin_cpu) and LibTorch to one thread, so the numbers are per core.

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "features/griffin_lim.h"
#include "inference/synthesizer.h"
#include "tools/synthesize_lib.h"
#include "train/checkpoint.h"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint; default: the newest in WORKSPACE/runs/light_mas/checkpoints.");
ABSL_FLAG(std::string, data, "", "Corpus folder for the feature settings (see //tools:synthesize --data).");
ABSL_FLAG(int, runs, 7, "Timed passes per measurement (median reported).");
ABSL_FLAG(int, gl_iterations, 32, "Griffin-Lim iterations.");
ABSL_FLAG(bool, pin_cpu, true, "Pin the process to one CPU (the first it may run on).");
ABSL_FLAG(int, batch, 1,
          "1: one sentence per call (latency); N > 1: all sentences in one call, decoded N at a time (throughput).");
ABSL_FLAG(double, target_rtf, 0.01, "The text -> mel real-time factor to meet.");

namespace lightspeech::tools {
namespace {

// Sentences of ordinary English prose, written for this benchmark.
const std::vector<std::string>& Sentences() {
  static const auto* s = new std::vector<std::string>{
      "The morning train left the station eleven minutes late, and nobody on board seemed to mind.",
      "She folded the map twice, put it in her coat pocket, and walked toward the river.",
      "A small dog slept under the bench while the band played its last song of the evening.",
      "Please remember to water the plants on the balcony before you leave for the weekend.",
      "The old bridge was closed for repairs, so the bus took the long way around the hill.",
      "He wrote the numbers on the back of an envelope and checked them again the next day.",
      "Rain fell all afternoon, and the children built a tower of books in the living room.",
      "When the lights came back on, the whole street cheered from open windows.",
  };
  return *s;
}

// The BLAS library this process mapped (LibTorch's CPU matrix products go through it), from
// /proc/self/maps; Debian's libtorch uses whatever libblas.so.3 the alternatives system selects.
std::string BlasLibrary() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash != std::string::npos && line.find("libblas") != std::string::npos) return line.substr(slash);
    if (slash != std::string::npos && line.find("libopenblas") != std::string::npos) return line.substr(slash);
  }
  return "none mapped";
}

template <typename Fn>
double Median(int runs, Fn fn) {
  fn();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Main() {
  int pinned = -1;
  if (absl::GetFlag(FLAGS_pin_cpu)) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &allowed)) {
          cpu_set_t one;
          CPU_ZERO(&one);
          CPU_SET(c, &one);
          if (sched_setaffinity(0, sizeof(one), &one) == 0) pinned = c;
          break;
        }
      }
    }
  }
  std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  if (checkpoint.empty()) {
    absl::StatusOr<std::string> latest =
        train::LatestCheckpoint(absl::StrCat(base::WorkspaceDir(), "/runs/light_mas/checkpoints"));
    if (!latest.ok()) {
      std::fprintf(stderr, "error: %s\n(train first, see the README's \"Train and listen\", or pass --checkpoint)\n",
                   std::string(latest.status().message()).c_str());
      return 1;
    }
    checkpoint = *latest;
  } else {
    checkpoint = base::ResolveUserPath(checkpoint);
  }
  inference::SynthesizerOptions so;
  so.threads = 1;
  const int batch = std::max(1, absl::GetFlag(FLAGS_batch));
  so.max_batch = batch;
  absl::StatusOr<std::unique_ptr<inference::Synthesizer>> synth = inference::Synthesizer::Create(checkpoint, so);
  if (!synth.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(synth.status().message()).c_str());
    return 1;
  }
  const inference::Synthesizer& s = **synth;
  std::string source;
  const std::string data = absl::GetFlag(FLAGS_data);
  absl::StatusOr<features::LogMelOptions> mel =
      ResolveFeatureSettings(data.empty() ? "" : base::ResolveUserPath(data), s.feature_settings(), s.config(),
                             s.n_mels(), &source);
  if (!mel.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(mel.status().message()).c_str());
    return 1;
  }
  features::GriffinLimOptions gl_options;
  gl_options.iterations = absl::GetFlag(FLAGS_gl_iterations);
  absl::StatusOr<features::GriffinLim> gl = features::GriffinLim::Create(*mel, gl_options);
  if (!gl.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(gl.status().message()).c_str());
    return 1;
  }

  // One sentence per call (latency, batch 1), as an interactive user would.
  std::vector<inference::SynthesizedUtterance> last(Sentences().size());
  bool failed = false;
  const int runs = absl::GetFlag(FLAGS_runs);
  const double text_to_mel = Median(runs, [&] {
    if (batch > 1) {
      absl::StatusOr<inference::SynthesisResult> r = s.SynthesizeText(Sentences());
      if (!r.ok()) {
        std::fprintf(stderr, "error: %s\n", std::string(r.status().message()).c_str());
        failed = true;
        return;
      }
      last = std::move(r->utterances);
      return;
    }
    for (size_t i = 0; i < Sentences().size(); ++i) {
      absl::StatusOr<inference::SynthesisResult> r = s.SynthesizeText({Sentences()[i]});
      if (!r.ok()) {
        std::fprintf(stderr, "error: %s\n", std::string(r.status().message()).c_str());
        failed = true;
        return;
      }
      last[i] = std::move(r->utterances[0]);
    }
  });
  if (failed) return 1;
  int64_t frames = 0, symbols = 0;
  for (const auto& u : last) {
    frames += u.n_frames;
    symbols += static_cast<int64_t>(u.symbol_ids.size());
  }
  const double audio_seconds = static_cast<double>(frames) * mel->hop_length / mel->sample_rate;
  const double vocoder = Median(std::max(1, runs / 3), [&] {
    for (const auto& u : last) {
      if (u.n_frames >= 2 && !gl->Synthesize(u.mel, u.n_frames).ok()) failed = true;
    }
  });
  if (failed) return 1;

  const double rtf_mel = text_to_mel / audio_seconds, rtf_gl = vocoder / audio_seconds;
  std::printf("checkpoint      %s (step %lld, %s, %lld parameters)\n", checkpoint.c_str(),
              static_cast<long long>(s.step()), train::ModelConfig::Preset_Name(s.config().model().preset()).c_str(),
              static_cast<long long>(s.num_parameters()));
  std::printf("cpu             %s, LibTorch threads 1, %s\n",
              pinned >= 0 ? absl::StrCat("pinned to CPU ", pinned).c_str() : "not pinned",
              batch > 1 ? absl::StrCat("all sentences in one call, batches of ", batch).c_str()
                        : "one sentence per call");
  std::printf("blas            %s\n", BlasLibrary().c_str());
  std::printf("%s\n", source.c_str());
  std::printf("input           %zu sentences, %lld symbols -> %lld frames (%.2f per symbol), %.2f s of audio\n",
              Sentences().size(), static_cast<long long>(symbols), static_cast<long long>(frames),
              static_cast<double>(frames) / symbols, audio_seconds);
  std::printf("text -> mel     %8.4f s  RTF %.5f  (target <= %.3f: %s)\n", text_to_mel, rtf_mel,
              absl::GetFlag(FLAGS_target_rtf), rtf_mel <= absl::GetFlag(FLAGS_target_rtf) ? "met" : "NOT met");
  std::printf("griffin-lim     %8.4f s  RTF %.5f  (%d iterations)\n", vocoder, rtf_gl, gl_options.iterations);
  std::printf("mel / GL        %.1f%% of Griffin-Lim's time\n", 100.0 * text_to_mel / vocoder);
  return 0;
}

}  // namespace
}  // namespace lightspeech::tools

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lightspeech::tools::Main();
}
