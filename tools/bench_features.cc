// Benchmarks features/: log-mel extraction and Griffin-Lim (32 iterations), in-process on one core
// and against Debian's torchaudio (one thread, /usr/bin/python3) with identical settings.
//   bazel run -c opt //tools:bench_features
// Prints multiples of real time (audio seconds per compute second), real-time factors (compute
// seconds per audio second) and the ratios; all times are medians over --runs runs after a warm-up.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "features/audio.h"
#include "features/griffin_lim.h"
#include "features/log_mel.h"

ABSL_FLAG(std::string, wav, "features/testdata/speech.wav", "Speech clip (runfiles-relative).");
ABSL_FLAG(int, repeat, 5, "The log-mel input is the clip repeated this many times.");
ABSL_FLAG(int, runs, 9, "Timed runs per measurement (median reported).");
ABSL_FLAG(int, gl_iterations, 32, "Griffin-Lim iterations.");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torchaudio; empty skips the peer.");
ABSL_FLAG(std::string, peer_script, "tools/bench_features_torchaudio.py", "torchaudio peer.");

namespace lightspeech::features {
namespace {

template <typename Fn>
double MedianSeconds(int runs, Fn fn) {
  fn();  // Warm-up: creates this thread's FFTW plans.
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int Main() {
  const int runs = absl::GetFlag(FLAGS_runs);
  auto clip = ReadAudio(absl::GetFlag(FLAGS_wav));
  if (!clip.ok()) {
    std::fprintf(stderr, "%s\n", clip.status().ToString().c_str());
    return 1;
  }
  std::vector<float> long_audio;
  for (int i = 0; i < absl::GetFlag(FLAGS_repeat); ++i) {
    long_audio.insert(long_audio.end(), clip->samples.begin(), clip->samples.end());
  }
  const double long_seconds = long_audio.size() / 22050.0;
  const double clip_seconds = clip->samples.size() / 22050.0;

  auto log_mel = LogMel::Create(LogMelOptions());
  GriffinLimOptions gl_options;
  gl_options.iterations = absl::GetFlag(FLAGS_gl_iterations);
  auto gl = GriffinLim::Create(LogMelOptions(), gl_options);
  if (!log_mel.ok() || !gl.ok()) return 1;

  std::vector<float> mel;
  const double mel_s = MedianSeconds(runs, [&] { (void)log_mel->Compute(long_audio, &mel); });
  std::vector<float> clip_mel;
  (void)log_mel->Compute(clip->samples, &clip_mel);
  const int64_t frames = clip_mel.size() / 80;
  std::vector<float> magnitude, out;
  (void)gl->MelToMagnitude(clip_mel, frames, &magnitude);
  const int gl_runs = std::max(1, runs / 2);
  const double gl_s = MedianSeconds(gl_runs, [&] { (void)gl->Synthesize(clip_mel, frames); });
  const double gl_phase_s =
      MedianSeconds(gl_runs, [&] { (void)gl->Reconstruct(magnitude, frames, &out); });

  std::printf("input: %s, log-mel on %.2f s (clip x %d), Griffin-Lim on %.2f s; %d runs, median\n",
              absl::GetFlag(FLAGS_wav).c_str(), long_seconds, absl::GetFlag(FLAGS_repeat),
              clip_seconds, runs);
  std::printf("log-mel     lightspeech: %9.1f x real time (%.2f ms)\n", long_seconds / mel_s,
              mel_s * 1e3);
  std::printf("griffin-lim lightspeech: RTF %.4f from log-mel (%d iterations, %.1f ms), "
              "RTF %.4f phase recovery only\n",
              gl_s / clip_seconds, gl_options.iterations, gl_s * 1e3, gl_phase_s / clip_seconds);

  const std::string python = absl::GetFlag(FLAGS_python);
  if (python.empty()) return 0;
  const std::string long_wav = "/tmp/bench_features_long.wav";
  if (!WriteWav16(long_wav, long_audio, 22050).ok()) return 1;
  const std::string command =
      absl::StrCat(python, " ", absl::GetFlag(FLAGS_peer_script), " ", long_wav, " ", runs, " ",
                   absl::GetFlag(FLAGS_wav), " ", gl_options.iterations);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::fprintf(stderr, "cannot run %s\n", command.c_str());
    return 1;
  }
  double ta_mel = 0.0, ta_gl = 0.0;
  char line[256];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::sscanf(line, "logmel_seconds %lf", &ta_mel);
    std::sscanf(line, "griffinlim_seconds %lf", &ta_gl);
  }
  if (pclose(pipe) != 0 || ta_mel <= 0.0 || ta_gl <= 0.0) {
    std::fprintf(stderr, "torchaudio peer failed: %s\n", command.c_str());
    return 1;
  }
  std::printf("log-mel     torchaudio:  %9.1f x real time (%.2f ms); lightspeech / torchaudio "
              "speed = %.2fx\n",
              long_seconds / ta_mel, ta_mel * 1e3, ta_mel / mel_s);
  std::printf("griffin-lim torchaudio:  RTF %.4f phase recovery only (%.1f ms); lightspeech "
              "phase-only speed = %.2fx, from-log-mel speed = %.2fx\n",
              ta_gl / clip_seconds, ta_gl * 1e3, ta_gl / gl_phase_s, ta_gl / gl_s);
  return 0;
}

}  // namespace
}  // namespace lightspeech::features

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lightspeech::features::Main();
}
