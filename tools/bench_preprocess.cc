// Benchmarks the whole preprocessing job (preprocess/pipeline.h) against a torchaudio peer.
//   bazel run -c opt //tools:bench_preprocess
// 1. Generates, deterministically and untimed, --hours of 16 kHz speech-like audio as an LJSpeech
//    corpus in a temporary folder: clips of 2-6 s from a cheap source-filter generator (glottal
//    pulse train through three formant resonators for vowels, resonant noise for fricatives,
//    pauses, a syllable envelope and a wandering f0), 16-bit WAV, with English sentences that
//    exercise the cleaner (numbers, abbreviations, punctuation).
// 2. Runs RunPipeline (read, resample to 22050 Hz, log-mel, cleaning, symbols, record encoding,
//    shard writing, manifest) with --threads threads, --runs times, each into a fresh folder.
// 3. Runs tools/bench_preprocess_torchaudio.py on the same files (--threads processes), --peer_runs
//    times, and prints both medians as multiples of real time.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "features/audio.h"
#include "preprocess/pipeline.h"

ABSL_FLAG(double, hours, 1.0, "Hours of generated audio.");
ABSL_FLAG(int, threads, 2, "Pipeline threads (and peer processes).");
ABSL_FLAG(int, num_shards, 0, "Training shards (0: the pipeline's default).");
ABSL_FLAG(int, runs, 5, "Timed pipeline runs (median reported).");
ABSL_FLAG(int, peer_runs, 3, "Timed peer runs (median reported); 0 skips the peer.");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torchaudio.");
ABSL_FLAG(std::string, peer_script, "tools/bench_preprocess_torchaudio.py", "torchaudio peer.");
ABSL_FLAG(std::string, workdir, "", "Folder for the corpus and outputs (default: a new temp folder, "
          "removed at the end).");

namespace lightspeech::tools {
namespace {

constexpr int kRate = 16000;

// Deterministic 64-bit LCG (Knuth's MMIX constants); uniform in [0, 1).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 2862933555777941757ULL + 3037000493ULL) {}
  double Uniform() {
    s_ = s_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s_ >> 11) * (1.0 / 9007199254740992.0);
  }
  double Range(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

 private:
  uint64_t s_;
};

// Two-pole resonator at `freq` Hz with bandwidth `bw` Hz, unit gain at its peak (roughly).
struct Resonator {
  double a1 = 0, a2 = 0, gain = 0, y1 = 0, y2 = 0;
  void Set(double freq, double bw) {
    const double r = std::exp(-M_PI * bw / kRate);
    a1 = 2 * r * std::cos(2 * M_PI * freq / kRate);
    a2 = -r * r;
    gain = 1 - r;
  }
  double Step(double x) {
    const double y = gain * x + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = y;
    return y;
  }
};

std::vector<float> SpeechLike(double seconds, Rng& rng) {
  const size_t n = static_cast<size_t>(seconds * kRate);
  std::vector<float> x(n, 0.0f);
  const double f0_base = rng.Range(90, 220);
  Resonator f1, f2, f3, fric;
  double phase = 0;
  size_t i = 0;
  while (i < n) {
    const double kind = rng.Uniform();  // < 0.65 vowel, < 0.9 fricative, else pause
    const size_t len = std::min(n - i, static_cast<size_t>(rng.Range(0.08, 0.3) * kRate));
    f1.Set(rng.Range(300, 850), 80);
    f2.Set(rng.Range(900, 2300), 120);
    f3.Set(rng.Range(2400, 3200), 160);
    fric.Set(rng.Range(2500, 6000), 900);
    const double amp = rng.Range(0.3, 1.0);
    for (size_t k = 0; k < len; ++k, ++i) {
      const double env = amp * std::sin(M_PI * (k + 0.5) / len);
      double v = 0;
      if (kind < 0.65) {
        const double f0 = f0_base * (1 + 0.15 * std::sin(2 * M_PI * 0.7 * i / kRate));
        phase += f0 / kRate;
        double pulse = 0;
        if (phase >= 1) {
          phase -= 1;
          pulse = 40;
        }
        const double src = pulse + 0.3 * (rng.Uniform() - 0.5);
        v = f1.Step(src) + 0.6 * f2.Step(src) + 0.3 * f3.Step(src);
      } else if (kind < 0.9) {
        v = 3 * fric.Step(rng.Uniform() - 0.5);
      } else {
        v = 0.002 * (rng.Uniform() - 0.5);
      }
      x[i] = static_cast<float>(env * v);
    }
  }
  float peak = 1e-9f;
  for (float v : x) peak = std::max(peak, std::fabs(v));
  for (float& v : x) v *= 0.5f / peak;
  return x;
}

std::string Sentence(Rng& rng) {
  static const char* kWords[] = {
      "the",   "committee", "reported", "that",   "Mr.",     "Smith", "had",    "seen",  "a",
      "large", "crowd",     "near",     "Dr.",    "Brown's", "house", "on",     "May",   "3rd",
      "with",  "over",      "1,200",    "people", "waiting", "since", "9",      "o'clock", "and",
      "it",    "was",       "clear",    "to",     "all",     "of",    "them",   "$25",   "St."};
  std::string s;
  const int n = static_cast<int>(rng.Range(6, 16));
  for (int k = 0; k < n; ++k) {
    std::string w = kWords[static_cast<int>(rng.Uniform() * (sizeof(kWords) / sizeof(kWords[0])))];
    if (k == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    absl::StrAppend(&s, k > 0 ? " " : "", w);
    if (k + 1 < n && rng.Uniform() < 0.1) s += ",";
  }
  return s + (rng.Uniform() < 0.2 ? "?" : ".");
}

// Writes the corpus; returns its seconds of audio.
double MakeCorpus(const std::string& dir, double hours) {
  if (std::system(absl::StrCat("mkdir -p '", dir, "/wavs'").c_str()) != 0) return -1;
  Rng rng(20261124);
  std::string meta;
  double total = 0;
  for (int k = 0; total < hours * 3600; ++k) {
    const double seconds = std::min(rng.Range(2, 6), hours * 3600 - total + 0.5);
    const std::vector<float> x = SpeechLike(seconds, rng);
    const std::string id = absl::StrFormat("BENCH%05d", k);
    if (!features::WriteWav16(absl::StrCat(dir, "/wavs/", id, ".wav"), x, kRate).ok()) return -1;
    const std::string text = Sentence(rng);
    absl::StrAppend(&meta, id, "|", text, "|", text, "\n");
    total += static_cast<double>(x.size()) / kRate;
  }
  if (!base::WriteFileAtomically(absl::StrCat(dir, "/metadata.csv"), meta).ok()) return -1;
  return total;
}

// User + system CPU seconds of this process (RUSAGE_SELF) or of its waited-for children.
double CpuSeconds(int who) {
  struct rusage u {};
  ::getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main() {
  const double hours = absl::GetFlag(FLAGS_hours);
  const int threads = absl::GetFlag(FLAGS_threads);
  std::string work = absl::GetFlag(FLAGS_workdir);
  const bool temp = work.empty();
  if (temp) {
    char tmpl[] = "/tmp/bench_preprocess.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    work = tmpl;
  }
  const std::string corpus = absl::StrCat(work, "/corpus");
  std::cerr << "generating " << hours << " h of 16 kHz speech-like audio in " << corpus << " ...\n";
  const double audio_seconds = MakeCorpus(corpus, hours);
  if (audio_seconds < 0) {
    std::cerr << "error: cannot write the corpus\n";
    return 1;
  }

  std::vector<double> ours, ours_cpu;
  for (int r = 0; r < absl::GetFlag(FLAGS_runs); ++r) {
    const std::string out = absl::StrCat(work, "/out");
    if (std::system(absl::StrCat("rm -rf '", out, "'").c_str()) != 0) return 1;
    preprocess::PipelineOptions o;
    o.dataset = corpus;
    o.out = out;
    o.threads = threads;
    o.num_shards = absl::GetFlag(FLAGS_num_shards);
    o.progress = false;
    std::ostringstream log;
    const double cpu0 = CpuSeconds(RUSAGE_SELF);
    absl::StatusOr<preprocess::PipelineSummary> s = preprocess::RunPipeline(o, log);
    ours_cpu.push_back(CpuSeconds(RUSAGE_SELF) - cpu0);
    if (!s.ok()) {
      std::cerr << "error: " << s.status().message() << "\n" << log.str();
      return 1;
    }
    ours.push_back(s->wall_seconds);
    std::cerr << absl::StrFormat(
        "run %d: %d utterances, %.1f s of audio in %.3f s = %.0fx real time (%.3f CPU s)\n", r + 1,
        s->utterances, s->seconds_of_audio, s->wall_seconds, s->seconds_of_audio / s->wall_seconds,
        ours_cpu.back());
  }

  std::vector<double> peer, peer_cpu;
  const std::string python = absl::GetFlag(FLAGS_python);
  for (int r = 0; r < absl::GetFlag(FLAGS_peer_runs) && !python.empty(); ++r) {
    const std::string out = absl::StrCat(work, "/peer_out");
    const std::string command =
        absl::StrCat("rm -rf '", out, "' && ", python, " ", absl::GetFlag(FLAGS_peer_script), " '",
                     corpus, "' '", out, "' ", threads);
    const double cpu0 = CpuSeconds(RUSAGE_CHILDREN);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) break;
    char line[512];
    double seconds = -1;
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
      std::sscanf(line, "wall_seconds %lf", &seconds);
    }
    if (::pclose(pipe) != 0 || seconds <= 0) {
      std::cerr << "peer failed: " << command << "\n";
      break;
    }
    peer.push_back(seconds);
    peer_cpu.push_back(CpuSeconds(RUSAGE_CHILDREN) - cpu0);  // includes the interpreter's start-up
    std::cerr << absl::StrFormat("peer run %d: %.3f s = %.0fx real time (%.3f CPU s)\n", r + 1,
                                 seconds, audio_seconds / seconds, peer_cpu.back());
  }

  const double t_ours = Median(ours);
  std::cout << absl::StrFormat("audio: %.1f s (%.3f h) of 16 kHz 16-bit WAV, %d threads/processes\n",
                               audio_seconds, audio_seconds / 3600, threads);
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  std::cout << absl::StrFormat("load average at the end: %.2f %.2f %.2f (%ld CPUs online)\n", load[0],
                               load[1], load[2], ::sysconf(_SC_NPROCESSORS_ONLN));
  std::cout << absl::StrFormat("lightspeech //preprocess: median %.3f s of %d runs = %.0fx real time; "
                               "median %.3f CPU s\n",
                               t_ours, static_cast<int>(ours.size()), audio_seconds / t_ours,
                               Median(ours_cpu));
  if (!peer.empty()) {
    const double t_peer = Median(peer);
    std::cout << absl::StrFormat("torchaudio peer:          median %.3f s of %d runs = %.0fx real time; "
                                 "median %.3f CPU s\n",
                                 t_peer, static_cast<int>(peer.size()), audio_seconds / t_peer,
                                 Median(peer_cpu));
    std::cout << absl::StrFormat("speed ratio lightspeech / torchaudio: %.2f\n", t_peer / t_ours);
  }
  if (temp && std::system(absl::StrCat("rm -rf '", work, "'").c_str()) != 0) return 1;
  return 0;
}

}  // namespace
}  // namespace lightspeech::tools

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  lightspeech::preprocess::KeepLargeBuffersInHeap();  // as //preprocess's main() does
  return lightspeech::tools::Main();
}
