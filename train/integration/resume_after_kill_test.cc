// Crash recovery of the real //train binary: a run is killed with SIGKILL several times (once right
// after its first checkpoint, then as soon as a checkpoint is being written, then at pseudo-random
// times) and resumed each time with --resume=latest. After every kill each ckpt-*.pb in the folder
// must parse completely (only ".partial" files may be torn), and the resumed run must finish with the
// same parameters and logged losses as an uninterrupted run (docs/CHECKPOINTS.md: exact resume).

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "gtest/gtest.h"
#include "records/synthetic.h"
#include "train/checkpoint.pb.h"

namespace lightspeech::train {
namespace {

// The trainer resumes exactly on the CPU with one thread (bitwise in practice); this is its stated
// bound, relative to the largest magnitude of each tensor / loss.
constexpr double kResumeTolerance = 1e-6;
constexpr int kSteps = 24;
constexpr int kRandomKills = 3;

using Clock = std::chrono::steady_clock;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

// The //train command line: the light MAS preset shrunk to width 16, a checkpoint every step, dropout
// on (so a resume must restore the random generator), one thread.
std::vector<std::string> TrainArgs(const std::string& data, const std::string& run_dir, bool resume) {
  const std::vector<std::string> sets = {
      "model.encoder_dim=16", "model.encoder_blocks=1", "model.decoder_dim=16", "model.decoder_blocks=1",
      "model.predictor_hidden=16", "model.aligner_channels=16", "model.aligner_attention_dim=8", "model.dropout=0.1",
      "optimizer.warmup_steps=4", "data.batch_max_size=3", "data.batch_max_frames=100000", "data.loader_threads=1",
      "log_every=1", "checkpoint_every=1", "keep_checkpoints=3", "validate_every=0", "threads=1", "bf16=false"};
  std::vector<std::string> args = {"train/train",
                                   "--config=train/configs/light_mas.pbtxt",
                                   absl::StrCat("--data=", data),
                                   absl::StrCat("--run_dir=", run_dir),
                                   absl::StrCat("--set=", absl::StrJoin(sets, ",")),
                                   absl::StrCat("--steps=", kSteps),
                                   "--seed=7",
                                   "--device=cpu"};
  if (resume) args.push_back("--resume=latest");
  return args;
}

// Starts //train with stdout and stderr appended to RUN_DIR/output.txt.
pid_t Start(const std::vector<std::string>& args, const std::string& run_dir) {
  const std::string output = run_dir + "/output.txt";
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* out = std::fopen(output.c_str(), "a");
    if (out != nullptr) {
      ::dup2(::fileno(out), STDOUT_FILENO);
      ::dup2(::fileno(out), STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

// Waits for `pid`; its exit code, or 128 + signal.
int Wait(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

// The step of the newest complete checkpoint in `dir` (ckpt-<8 digits>.pb), 0 if none.
int64_t NewestStep(const std::vector<std::string>& names) {
  int64_t newest = 0;
  for (const std::string& n : names) {
    int64_t step = 0;
    if (absl::StartsWith(n, "ckpt-") && absl::EndsWith(n, ".pb") && absl::SimpleAtoi(n.substr(5, n.size() - 8), &step)) {
      newest = std::max(newest, step);
    }
  }
  return newest;
}

// Whether `dir` holds a ".partial" file written at or after `since` (a checkpoint write under way;
// older ones are leftovers of a killed run, which the next complete write prunes).
bool HasFreshPartial(const std::string& dir, const std::vector<std::string>& names, const timespec& since) {
  for (const std::string& n : names) {
    if (!absl::EndsWith(n, ".partial")) continue;
    struct stat st;
    if (::stat((dir + "/" + n).c_str(), &st) != 0) continue;  // renamed meanwhile
    if (st.st_mtim.tv_sec > since.tv_sec ||
        (st.st_mtim.tv_sec == since.tv_sec && st.st_mtim.tv_nsec >= since.tv_nsec)) {
      return true;
    }
  }
  return false;
}

bool HasPartial(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (absl::EndsWith(n, ".partial")) return true;
  }
  return false;
}

absl::StatusOr<Checkpoint> Parse(const std::string& path) {
  absl::StatusOr<std::string> bytes = base::ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  Checkpoint c;
  if (!c.ParseFromString(*bytes)) return absl::DataLossError(absl::StrCat(path, ": does not parse"));
  return c;
}

// Every complete checkpoint file in `dir` parses, has its step and every tensor's byte count.
void ExpectCompleteCheckpoints(const std::string& dir) {
  for (const std::string& n : Names(dir)) {
    if (!absl::EndsWith(n, ".pb")) continue;
    absl::StatusOr<Checkpoint> c = Parse(dir + "/" + n);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(n, absl::StrFormat("ckpt-%08d.pb", c->step()));
    EXPECT_GT(c->tensors_size(), 0) << n;
    for (const TensorProto& t : c->tensors()) {
      int64_t elements = 1;
      for (int64_t d : t.shape()) elements *= d;
      EXPECT_EQ(t.dtype(), FLOAT32) << n << " " << t.name();
      EXPECT_EQ(static_cast<int64_t>(t.data().size()), 4 * elements) << n << " " << t.name();
    }
  }
}

struct Kill {
  int64_t newest = 0;     // the newest complete checkpoint right after the kill
  bool writing = false;   // a checkpoint write of this run was under way
};

// Starts a run (resuming when asked) and kills it with SIGKILL once `kill_when(names)` says so,
// polling the checkpoint folder; fails the test when the run ends first. A resumed run must have
// started from the newest complete checkpoint.
template <typename KillWhen>
Kill RunAndKill(const std::string& data, const std::string& run, bool resume, KillWhen kill_when) {
  const std::string dir = run + "/checkpoints";
  const int64_t resume_from = NewestStep(Names(dir));
  timespec started;
  ::clock_gettime(CLOCK_REALTIME, &started);
  const pid_t pid = Start(TrainArgs(data, run, resume), run);
  EXPECT_GT(pid, 0);
  Kill kill;
  while (true) {
    const std::vector<std::string> names = Names(dir);
    if (kill_when(names)) {
      ::kill(pid, SIGKILL);
      kill.writing = HasFreshPartial(dir, Names(dir), started);
      EXPECT_EQ(Wait(pid), 128 + SIGKILL) << "the run finished before it could be killed";
      break;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ADD_FAILURE() << "the run ended before the kill; output:\n" << base::ReadFile(run + "/output.txt").value_or("");
      break;
    }
  }
  kill.newest = NewestStep(Names(dir));
  if (resume) {
    const std::string log = base::ReadFile(run + "/train.log").value_or("");
    EXPECT_TRUE(absl::StrContains(log, absl::StrFormat("resumed from %s/ckpt-%08d.pb at step %d,", dir, resume_from,
                                                       resume_from)))
        << resume_from << "\n" << log;
  }
  return kill;
}

std::string Describe(const Kill& k) {
  return absl::StrCat("ckpt ", k.newest, k.writing ? " + a write under way" : "");
}

// Per step, the logged loss terms ("step N a=1 b=2" lines of train.log; the last line of a step
// wins, i.e. the run that completed it), without the timing ones.
std::map<int64_t, std::map<std::string, double>> LoggedLosses(const std::string& log_path) {
  std::map<int64_t, std::map<std::string, double>> out;
  const std::string log = base::ReadFile(log_path).value_or("");
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    int64_t step = 0;
    if (words.size() < 3 || words[0] != "step" || !absl::SimpleAtoi(words[1], &step)) continue;
    if (!absl::StrContains(words[2], '=')) continue;  // "step N: checkpoint ...", "step N validation: ..."
    std::map<std::string, double> terms;
    for (size_t i = 2; i < words.size(); ++i) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
      if (absl::StrContains(kv.first, "per_second") || kv.first == "loader_wait_share") continue;
      double v = 0;
      if (absl::SimpleAtod(kv.second, &v)) terms[kv.first] = v;
    }
    out[step] = terms;
  }
  return out;
}

TEST(ResumeAfterKillTest, SigkilledRunsResumeToTheUninterruptedResult) {
  const Clock::time_point test_start = Clock::now();
  const std::string data = FreshDir("kill_data");
  ASSERT_TRUE(records::WriteSyntheticCorpus(data, 12, 1, 0.0).ok());

  // The reference: one uninterrupted run.
  const std::string reference = FreshDir("kill_reference");
  const Clock::time_point ref_start = Clock::now();
  ASSERT_EQ(Wait(Start(TrainArgs(data, reference, false), reference)), 0)
      << base::ReadFile(reference + "/output.txt").value_or("");
  const double run_seconds = std::chrono::duration<double>(Clock::now() - ref_start).count();

  const std::string run = FreshDir("kill_run");
  const std::string checkpoints = run + "/checkpoints";
  std::vector<std::string> kills;
  int writes_hit = 0;
  // 1. Right after the first checkpoint is complete.
  Kill k = RunAndKill(data, run, false, [](const std::vector<std::string>& names) { return NewestStep(names) >= 1; });
  kills.push_back(Describe(k));
  ExpectCompleteCheckpoints(checkpoints);
  // 2. As soon as a checkpoint write of the resumed run is seen under way, else after 4 more steps.
  timespec resumed;
  ::clock_gettime(CLOCK_REALTIME, &resumed);
  const int64_t resumed_at = k.newest;
  k = RunAndKill(data, run, true, [&](const std::vector<std::string>& names) {
    const int64_t newest = NewestStep(names);
    return (newest > resumed_at && HasFreshPartial(checkpoints, names, resumed)) || newest >= resumed_at + 4;
  });
  writes_hit += k.writing;
  kills.push_back(Describe(k));
  ExpectCompleteCheckpoints(checkpoints);
  // 3. A pseudo-random 1-3 steps later, plus a pseudo-random 0-5 ms into the next step (fixed seed).
  std::mt19937 random(12345);
  for (int i = 0; i < kRandomKills; ++i) {
    const int64_t before = k.newest;
    if (before >= kSteps - 4) break;  // too close to the end to kill it again
    const int64_t target = before + std::uniform_int_distribution<int>(1, 3)(random);
    const auto extra = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(random));
    Clock::time_point reached{};
    k = RunAndKill(data, run, true, [&](const std::vector<std::string>& names) {
      if (reached == Clock::time_point{} && NewestStep(names) >= target) reached = Clock::now();
      return reached != Clock::time_point{} && Clock::now() - reached >= extra;
    });
    writes_hit += k.writing;
    kills.push_back(Describe(k));
    ExpectCompleteCheckpoints(checkpoints);
  }
  // The last resume runs to the end.
  ASSERT_EQ(Wait(Start(TrainArgs(data, run, true), run)), 0) << base::ReadFile(run + "/output.txt").value_or("");
  std::printf("killed at: %s; %d kills during a checkpoint write\n", absl::StrJoin(kills, "; ").c_str(), writes_hit);
  EXPECT_FALSE(HasPartial(Names(checkpoints)));  // pruned by the resumed run

  // Final parameters and optimizer state against the reference.
  char name[32];
  std::snprintf(name, sizeof(name), "/ckpt-%08d.pb", kSteps);
  absl::StatusOr<Checkpoint> a = Parse(reference + "/checkpoints" + name), b = Parse(checkpoints + name);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->step(), kSteps);
  EXPECT_EQ(b->data_position().epoch(), a->data_position().epoch());
  EXPECT_EQ(b->data_position().batch_in_epoch(), a->data_position().batch_in_epoch());
  ASSERT_EQ(a->tensors_size(), b->tensors_size());
  double worst = 0;
  int bitwise_equal = 0;
  for (int i = 0; i < a->tensors_size(); ++i) {
    const TensorProto& x = a->tensors(i);
    const TensorProto& y = b->tensors(i);
    ASSERT_EQ(x.name(), y.name());
    ASSERT_EQ(x.data().size(), y.data().size()) << x.name();
    bitwise_equal += x.data() == y.data();
    const size_t n = x.data().size() / 4;
    std::vector<float> u(n), v(n);
    std::memcpy(u.data(), x.data().data(), 4 * n);
    std::memcpy(v.data(), y.data().data(), 4 * n);
    double scale = 0, diff = 0;
    for (size_t j = 0; j < n; ++j) {
      scale = std::max(scale, static_cast<double>(std::abs(u[j])));
      diff = std::max(diff, static_cast<double>(std::abs(u[j] - v[j])));
    }
    const double relative = scale > 0 ? diff / scale : diff;
    worst = std::max(worst, relative);
    EXPECT_LE(relative, kResumeTolerance) << x.name();
  }
  std::printf("%d of %d tensors bitwise equal; largest relative difference %.3g\n", bitwise_equal, a->tensors_size(),
              worst);

  // Every step's logged losses: the runs that completed each step agree with the reference.
  const auto expected = LoggedLosses(reference + "/train.log");
  const auto got = LoggedLosses(run + "/train.log");
  ASSERT_EQ(expected.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(got.size(), static_cast<size_t>(kSteps));
  for (const auto& [step, terms] : expected) {
    ASSERT_EQ(got.count(step), 1u) << step;
    ASSERT_TRUE(terms.count("mel_loss")) << step;
    for (const auto& [term, value] : terms) {
      ASSERT_EQ(got.at(step).count(term), 1u) << step << " " << term;
      // Logged with 6 significant digits.
      EXPECT_NEAR(got.at(step).at(term), value, 1e-5 * std::abs(value) + 1e-12) << "step " << step << " " << term;
    }
  }
  std::printf("reference run %.1f s, test %.1f s\n", run_seconds,
              std::chrono::duration<double>(Clock::now() - test_start).count());
}

}  // namespace
}  // namespace lightspeech::train
