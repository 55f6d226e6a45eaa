// kill -9 fault injection: the `preprocess` binary (a subprocess on testdata/corpus_en) is killed
// with SIGKILL at seeded random moments and re-run. After every kill nothing that looks complete is
// partial: each shard under its final name reads to the end with every CRC verified, and a manifest,
// if present, lists only such shards. The final re-run gives every utterance exactly once.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gtest/gtest.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::preprocess {
namespace {

constexpr char kBinary[] = "preprocess/preprocess";
constexpr char kCorpus[] = "testdata/corpus_en";  // 12 utterances
constexpr int kEpisodes = 4;                      // each: kKillsPerEpisode kills, then a full run
constexpr int kKillsPerEpisode = 3;
constexpr uint32_t kSeed = 12;

// Starts the binary writing to `out` (6 training shards, 1 validation shard, one thread).
pid_t Start(const std::string& out) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string dataset = absl::StrCat("--dataset=", kCorpus), dir = absl::StrCat("--out=", out);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    ::execl(kBinary, kBinary, dataset.c_str(), dir.c_str(), "--threads=1", "--num_shards=6", "--val_fraction=0.2",
            "--progress=false", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Runs the binary to the end; its exit status.
int RunToEnd(const std::string& out) {
  int status = 0;
  ::waitpid(Start(out), &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Reads a shard to the end, verifying every record; the ids in it.
absl::StatusOr<std::vector<std::string>> ReadShard(const std::string& path) {
  absl::StatusOr<std::unique_ptr<records::RecordReader>> r = records::RecordReader::Open(path);
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  std::string payload;
  for (;;) {
    absl::StatusOr<bool> more = (*r)->Next(&payload);
    if (!more.ok()) return more.status();
    if (!*more) return ids;
    records::Utterance u;
    if (absl::Status s = records::DecodeUtterance(payload, path, &u); !s.ok()) return s;
    ids.push_back(u.id());
  }
}

bool IsShardName(const std::string& name) {
  return (absl::StartsWith(name, "train-") || absl::StartsWith(name, "validation-")) &&
         absl::EndsWith(name, ".tfrecord");
}

// After a kill: every shard under its final name is complete, and a manifest lists only those.
void ExpectNothingPartialLooksComplete(const std::string& out, const std::string& when) {
  absl::StatusOr<std::vector<std::string>> names = base::ListDirectory(out);
  if (!names.ok()) return;  // killed before the folder existed
  for (const std::string& name : *names) {
    if (!IsShardName(name)) continue;
    absl::StatusOr<std::vector<std::string>> ids = ReadShard(absl::StrCat(out, "/", name));
    EXPECT_TRUE(ids.ok()) << when << ": " << ids.status();
  }
  if (base::IsRegularFile(absl::StrCat(out, "/", records::kManifestFileName))) {
    absl::StatusOr<records::Manifest> m = records::ReadManifest(out);
    ASSERT_TRUE(m.ok()) << when << ": " << m.status();
    for (const auto& s : m->shards()) {
      absl::StatusOr<std::vector<std::string>> ids = ReadShard(absl::StrCat(out, "/", s.path()));
      ASSERT_TRUE(ids.ok()) << when << ": " << ids.status();
      EXPECT_EQ(static_cast<int64_t>(ids->size()), s.num_records()) << when << ": " << s.path();
    }
  }
}

// Every id in the manifest's shards, with its count; fails on any damaged record.
std::map<std::string, int> ManifestIds(const std::string& out) {
  std::map<std::string, int> count;
  absl::StatusOr<records::Manifest> m = records::ReadManifest(out);
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return count;
  for (const auto& s : m->shards()) {
    absl::StatusOr<std::vector<std::string>> ids = ReadShard(absl::StrCat(out, "/", s.path()));
    EXPECT_TRUE(ids.ok()) << ids.status();
    if (ids.ok()) {
      for (const std::string& id : *ids) ++count[id];
    }
  }
  return count;
}

TEST(KillTest, KilledRunsResumeToEveryUtteranceExactlyOnce) {
  const std::string reference = ::testing::TempDir() + "/reference";
  // The kill times are drawn over the length of a full run: the fastest of three, since one run
  // slowed down by other tests on a busy machine would put most kills after the end.
  double full_seconds = 0;
  for (int run = 0; run < 3; ++run) {
    const std::string out = run == 0 ? reference : absl::StrCat(reference, run);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(RunToEnd(out), 0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    full_seconds = run == 0 ? seconds : std::min(full_seconds, seconds);
  }
  const std::map<std::string, int> expected = ManifestIds(reference);
  ASSERT_EQ(expected.size(), 12u);
  for (const auto& [id, n] : expected) ASSERT_EQ(n, 1) << id;

  std::mt19937 rng(kSeed);
  std::uniform_real_distribution<double> when(0.0, full_seconds);
  int killed_running = 0;
  for (int episode = 0; episode < kEpisodes; ++episode) {
    const std::string out = absl::StrCat(::testing::TempDir(), "/episode", episode);
    for (int k = 0; k < kKillsPerEpisode; ++k) {
      const double delay = when(rng);
      const pid_t pid = Start(out);
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      ::kill(pid, SIGKILL);
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      if (WIFSIGNALED(status)) ++killed_running;
      ExpectNothingPartialLooksComplete(out, absl::StrCat("episode ", episode, ", kill ", k, " after ", delay, " s"));
    }
    ASSERT_EQ(RunToEnd(out), 0) << "episode " << episode;
    EXPECT_EQ(ManifestIds(out), expected) << "episode " << episode;
  }
  std::printf("full run %.2f s; %d of %d kills hit a running process\n", full_seconds, killed_running,
              kEpisodes * kKillsPerEpisode);
  // Most kills must hit a running process, or the test shows nothing.
  EXPECT_GE(killed_running, kEpisodes * kKillsPerEpisode / 2);
}

}  // namespace
}  // namespace lightspeech::preprocess
