#include "train/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "records/manifest_io.h"
#include "records/partition.h"
#include "records/record_io.h"
#include "records/synthetic.h"
#include "records/utterance_io.h"

namespace lightspeech::train {
namespace {

constexpr int kUtterances = 120;
constexpr double kValFraction = 0.15;

// A fresh folder under the test's temporary directory.
std::string NewDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

std::string MakeCorpus(const std::string& name) {
  const std::string dir = NewDir(name);
  auto m = records::WriteSyntheticCorpus(dir, kUtterances, 3, kValFraction);
  EXPECT_TRUE(m.ok()) << m.status();
  return dir;
}

std::set<std::string> IdsOfSplit(records::Split split) {
  std::set<std::string> ids;
  for (int i = 0; i < kUtterances; ++i) {
    const std::string id = absl::StrFormat("synth-%04d", i);
    if (records::SplitForId(id, kValFraction) == split) ids.insert(id);
  }
  return ids;
}

DatasetOptions SmallOptions() {
  DatasetOptions o;
  o.seed = 17;
  o.max_batch_frames = 1200;
  o.max_batch_size = 16;
  o.bucket_size = 32;
  o.warn = [](const std::string&) {};
  return o;
}

std::unique_ptr<Dataset> Open(const std::string& dir, const DatasetOptions& o,
                              DataPosition start = {}) {
  auto ds = Dataset::Create(dir, o, start);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

// The ids of the next `n` batches.
std::vector<std::vector<std::string>> Take(Dataset* ds, int n) {
  std::vector<std::vector<std::string>> out;
  for (int i = 0; i < n; ++i) {
    auto b = ds->Next();
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) break;
    out.push_back(b->ids);
  }
  return out;
}

TEST(DatasetTest, EveryTrainUtteranceExactlyOncePerEpoch) {
  const std::string dir = MakeCorpus("once");
  auto ds = Open(dir, SmallOptions());
  ASSERT_NE(ds, nullptr);
  const std::set<std::string> expected = IdsOfSplit(records::TRAIN);
  EXPECT_EQ(ds->num_records(), static_cast<int64_t>(expected.size()));
  std::vector<std::string> orders[2];
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<std::string> seen;
    while (true) {
      ASSERT_EQ(ds->Position().epoch, epoch);
      auto b = ds->Next();
      ASSERT_TRUE(b.ok()) << b.status();
      for (const std::string& id : b->ids) {
        seen.insert(id);
        orders[epoch].push_back(id);
      }
      if (ds->Position().epoch != epoch) break;
    }
    EXPECT_EQ(ds->Position().epoch, epoch + 1);
    EXPECT_EQ(ds->Position().batch_in_epoch, 0);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
    EXPECT_EQ(seen.size(), expected.size());
  }
  EXPECT_NE(orders[0], orders[1]) << "each epoch is shuffled anew";
}

TEST(DatasetTest, DeterministicAcrossRunsAndThreadCounts) {
  const std::string dir = MakeCorpus("determinism");
  std::vector<std::vector<std::string>> reference;
  for (int threads : {0, 1, 2, 4}) {
    for (int prefetch : {1, 3}) {
      DatasetOptions o = SmallOptions();
      o.num_threads = threads;
      o.prefetch_batches = prefetch;
      auto ds = Open(dir, o);
      ASSERT_NE(ds, nullptr);
      auto batches = Take(ds.get(), 40);  // more than two epochs
      if (reference.empty()) {
        reference = batches;
      } else {
        EXPECT_EQ(batches, reference) << "threads " << threads << " prefetch " << prefetch;
      }
    }
  }
  DatasetOptions other = SmallOptions();
  other.seed = 18;
  auto ds = Open(dir, other);
  ASSERT_NE(ds, nullptr);
  EXPECT_NE(Take(ds.get(), 40), reference) << "the seed matters";
}

TEST(DatasetTest, ResumeFromPositionEqualsUninterruptedStream) {
  const std::string dir = MakeCorpus("resume");
  const DatasetOptions o = SmallOptions();
  auto full = Open(dir, o);
  ASSERT_NE(full, nullptr);
  std::vector<DataPosition> positions;
  std::vector<std::vector<std::string>> stream;
  for (int i = 0; i < 45; ++i) {
    positions.push_back(full->Position());
    stream.push_back(Take(full.get(), 1).at(0));
  }
  ASSERT_GE(positions.back().epoch, 2);
  for (int cut : {1, 7, 13, 22, 30}) {
    auto resumed = Open(dir, o, positions[cut]);
    ASSERT_NE(resumed, nullptr);
    EXPECT_EQ(resumed->Position().epoch, positions[cut].epoch);
    EXPECT_EQ(resumed->Position().batch_in_epoch, positions[cut].batch_in_epoch);
    auto rest = Take(resumed.get(), 45 - cut);
    EXPECT_EQ(rest, std::vector<std::vector<std::string>>(stream.begin() + cut, stream.end()))
        << "resumed at batch " << cut;
  }
}

TEST(DatasetTest, StartBeyondTheEpochIsAnError) {
  const std::string dir = MakeCorpus("beyond");
  const DatasetOptions o = SmallOptions();
  auto ds = Open(dir, o);
  ASSERT_NE(ds, nullptr);
  int64_t batches = 0;
  while (ds->Position().epoch == 0) {
    ASSERT_TRUE(ds->Next().ok());
    ++batches;
  }
  // The end of an epoch is the start of the next.
  auto at_end = Open(dir, o, {0, batches});
  ASSERT_NE(at_end, nullptr);
  EXPECT_EQ(at_end->Position().epoch, 1);
  EXPECT_EQ(at_end->Position().batch_in_epoch, 0);
  auto bad = Dataset::Create(dir, o, {0, batches + 1});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            absl::StrCat("dataset: start position batch ", batches + 1, " is beyond epoch 0's ",
                         batches, " batches (different data or batching options?)"));
}

TEST(DatasetTest, PlanEpochCoversEveryIndexOnceUnderTheLimits) {
  std::vector<int64_t> frames;
  for (int i = 0; i < 1000; ++i) frames.push_back(20 + (i * 7919) % 900);
  DatasetOptions o = SmallOptions();
  o.max_batch_frames = 4000;
  for (records::Split split : {records::TRAIN, records::VALIDATION}) {
    o.split = split;
    const auto plan = PlanEpoch(frames, o, 3);
    EXPECT_EQ(plan, PlanEpoch(frames, o, 3));
    std::vector<int> count(frames.size(), 0);
    for (const auto& batch : plan) {
      int64_t longest = 0;
      for (int64_t i : batch) {
        ++count[i];
        longest = std::max(longest, frames[i]);
      }
      EXPECT_LE(static_cast<int64_t>(batch.size()) * longest, o.max_batch_frames);
      EXPECT_LE(static_cast<int64_t>(batch.size()), o.max_batch_size);
    }
    EXPECT_EQ(count, std::vector<int>(frames.size(), 1));
  }
  o.split = records::TRAIN;
  EXPECT_NE(PlanEpoch(frames, o, 3), PlanEpoch(frames, o, 4));
  // An utterance over the budget on its own is a batch of one, not dropped.
  o.max_batch_frames = 100;
  const auto plan = PlanEpoch({50, 500, 50}, o, 0);
  EXPECT_EQ(plan.size(), 2u);
}

TEST(DatasetTest, RankSharesSplitEveryGlobalBatch) {
  std::vector<int64_t> frames;
  for (int i = 0; i < 301; ++i) frames.push_back(20 + (i * 7919) % 900);
  DatasetOptions o = SmallOptions();
  o.max_batch_frames = 4000;
  o.split = records::TRAIN;
  const auto global = PlanEpoch(frames, o, 2);
  o.world_size = 3;
  std::vector<std::vector<std::vector<int64_t>>> shares;
  for (int r = 0; r < 3; ++r) {
    o.rank = r;
    ASSERT_TRUE(o.Validate().ok());
    shares.push_back(PlanEpoch(frames, o, 2));
  }
  // Every rank has the same number of batches; batch k of the ranks together is the k-th global
  // batch with at least world_size records, rank r holding its records r, r + 3, ...
  size_t k = 0;
  for (const auto& batch : global) {
    if (batch.size() < 3) continue;
    ASSERT_LT(k, shares[0].size());
    for (int r = 0; r < 3; ++r) {
      std::vector<int64_t> expected;
      for (size_t i = r; i < batch.size(); i += 3) expected.push_back(batch[i]);
      EXPECT_EQ(shares[r][k], expected) << "rank " << r << " batch " << k;
    }
    ++k;
  }
  for (int r = 0; r < 3; ++r) EXPECT_EQ(shares[r].size(), k);
  // Validation: whole batches, b % world_size == rank.
  o.split = records::VALIDATION;
  o.world_size = 1;
  o.rank = 0;
  const auto validation = PlanEpoch(frames, o, 0);
  o.world_size = 2;
  o.rank = 1;
  const auto odd = PlanEpoch(frames, o, 0);
  ASSERT_EQ(odd.size(), validation.size() / 2);
  for (size_t b = 0; b < odd.size(); ++b) EXPECT_EQ(odd[b], validation[2 * b + 1]);
  o.rank = 2;
  EXPECT_EQ(o.Validate().message(), "dataset: rank 2 is outside [0, world_size 2)");
}

TEST(DatasetTest, FrameBudgetAndBatchSizeRespected) {
  const std::string dir = MakeCorpus("budget");
  for (int64_t budget : {400, 1200, 5000}) {
    DatasetOptions o = SmallOptions();
    o.max_batch_frames = budget;
    o.max_batch_size = 12;
    auto ds = Open(dir, o);
    ASSERT_NE(ds, nullptr);
    while (ds->Position().epoch == 0) {
      auto b = ds->Next();
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_LE(b->batch_size * b->max_frames, budget);  // padded frames, so the sum too
      EXPECT_LE(b->total_frames(), budget);
      EXPECT_LE(b->batch_size, 12);
      EXPECT_GE(b->batch_size, 1);
    }
  }
}

// Padding efficiency: real frames / padded frames over an epoch.
double FrameEfficiency(const std::string& dir, const DatasetOptions& o) {
  auto ds = Open(dir, o);
  int64_t real = 0, padded = 0;
  while (ds->Position().epoch == 0) {
    auto b = ds->Next();
    EXPECT_TRUE(b.ok());
    real += b->total_frames();
    padded += b->batch_size * b->max_frames;
  }
  return double(real) / padded;
}

TEST(DatasetTest, BucketingKeepsPaddingLow) {
  const std::string dir = MakeCorpus("padding");
  DatasetOptions o = SmallOptions();
  o.max_batch_frames = 1600;
  o.bucket_size = 64;
  const double bucketed = FrameEfficiency(dir, o);
  o.bucket_size = 1;
  const double unbucketed = FrameEfficiency(dir, o);
  std::printf("frames / padded frames: bucketed %.3f, unbucketed %.3f\n", bucketed, unbucketed);
  // Frame counts are spread over 40..199; random batches of ~10 pad to ~60%.
  EXPECT_GE(bucketed, 0.85) << "unbucketed " << unbucketed;
  EXPECT_GT(bucketed, unbucketed + 0.1);
}

TEST(DatasetTest, BatchContentsMatchTheRecords) {
  const std::string dir = MakeCorpus("contents");
  auto ds = Open(dir, SmallOptions());
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->manifest().features().n_mels(), 80);
  for (int k = 0; k < 3; ++k) {
    auto b = ds->Next();
    ASSERT_TRUE(b.ok()) << b.status();
    const int64_t B = b->batch_size, N = b->max_tokens, T = b->max_frames, M = b->n_mels;
    ASSERT_EQ(M, 80);
    ASSERT_EQ(b->ids.size(), size_t(B));
    ASSERT_EQ(b->tokens.size(), size_t(B * N));
    ASSERT_EQ(b->mel.size(), size_t(B * T * M));
    ASSERT_TRUE(b->has_durations());
    ASSERT_EQ(b->durations.size(), size_t(B * N));
    ASSERT_EQ(b->words.size(), size_t(B));
    for (int64_t i = 0; i < B; ++i) {
      const records::Utterance u =
          records::MakeSyntheticUtterance(b->ids[i], b->frame_lengths[i], b->token_lengths[i]);
      for (int64_t n = 0; n < N; ++n) {
        const bool real = n < u.symbol_ids_size();
        EXPECT_EQ(b->tokens[i * N + n], real ? u.symbol_ids(n) : 0);
        EXPECT_EQ(b->durations[i * N + n], real ? u.alignment().durations(n) : 0);
      }
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t m = 0; m < M; m += 13) {
          EXPECT_EQ(b->mel[(i * T + t) * M + m], t < u.n_frames() ? u.mel(t * M + m) : 0.0f);
        }
      }
      ASSERT_EQ(b->words[i].size(), 1u);
      EXPECT_EQ(b->words[i][0].start_frame, 0);
      EXPECT_EQ(b->words[i][0].end_frame, u.n_frames());
      EXPECT_EQ(b->words[i][0].label, u.normalized_text());
    }
  }
  EXPECT_GE(ds->wait_seconds(), 0.0);

  // Without threads every batch is built inside Next(), all of it waiting.
  DatasetOptions sync = SmallOptions();
  sync.num_threads = 0;
  auto inline_ds = Open(dir, sync);
  ASSERT_NE(inline_ds, nullptr);
  EXPECT_EQ(inline_ds->wait_seconds(), 0.0);
  Take(inline_ds.get(), 3);
  EXPECT_GT(inline_ds->wait_seconds(), 0.0);
}

TEST(DatasetTest, ValidationIsOneDeterministicPass) {
  const std::string dir = MakeCorpus("validation");
  DatasetOptions o = SmallOptions();
  o.split = records::VALIDATION;
  std::vector<std::string> first;
  for (int run = 0; run < 2; ++run) {
    o.num_threads = run * 3;
    auto ds = Open(dir, o);
    ASSERT_NE(ds, nullptr);
    std::vector<std::string> ids;
    int64_t last_frames = 0;
    while (true) {
      auto b = ds->Next();
      if (!b.ok()) {
        EXPECT_EQ(b.status().code(), absl::StatusCode::kOutOfRange);
        EXPECT_EQ(b.status().message(), "dataset: end of the validation pass");
        break;
      }
      EXPECT_GE(b->frame_lengths.front(), last_frames) << "sorted by length";
      last_frames = b->frame_lengths.back();
      ids.insert(ids.end(), b->ids.begin(), b->ids.end());
    }
    EXPECT_EQ(ds->Next().status().code(), absl::StatusCode::kOutOfRange) << "stays at the end";
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), IdsOfSplit(records::VALIDATION));
    EXPECT_EQ(ids.size(), IdsOfSplit(records::VALIDATION).size());
    if (run == 0) first = ids;
    EXPECT_EQ(ids, first);
  }
}

// Flips one payload byte of the third record of the first train shard; returns that record's
// offset.
uint64_t CorruptThirdRecord(const std::string& shard) {
  auto reader = records::RecordReader::Open(shard);
  EXPECT_TRUE(reader.ok());
  std::string payload;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(*(*reader)->Next(&payload));
  const uint64_t offset = (*reader)->last_record_offset();
  std::FILE* f = std::fopen(shard.c_str(), "r+b");
  const long at = static_cast<long>(offset + records::kRecordHeaderBytes + payload.size() / 2);
  std::fseek(f, at, SEEK_SET);
  const int c = std::fgetc(f);
  std::fseek(f, at, SEEK_SET);
  std::fputc(c ^ 0x10, f);
  std::fclose(f);
  return offset;
}

TEST(DatasetTest, BitFlippedRecordIsSkippedWithWarningOrFailsStrict) {
  const std::string dir = MakeCorpus("bitflip");
  auto manifest = records::ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  const std::string shard = absl::StrCat(dir, "/", manifest->shards(0).path());
  ASSERT_EQ(manifest->shards(0).split(), records::TRAIN);
  const uint64_t offset = CorruptThirdRecord(shard);
  const std::string expected =
      absl::StrCat(shard, ": record at byte ", offset, ": payload CRC mismatch (corrupt data)");

  DatasetOptions o = SmallOptions();
  std::vector<std::string> warned;
  o.warn = [&warned](const std::string& w) { warned.push_back(w); };
  auto ds = Open(dir, o);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(warned, std::vector<std::string>{absl::StrCat(expected, " (record skipped)")});
  EXPECT_EQ(ds->warnings(), warned);
  EXPECT_EQ(ds->num_skipped(), 1);
  const int64_t train = IdsOfSplit(records::TRAIN).size();
  EXPECT_EQ(ds->num_records(), train - 1);
  std::set<std::string> seen;
  while (ds->Position().epoch == 0) {
    auto b = ds->Next();
    ASSERT_TRUE(b.ok()) << b.status();
    seen.insert(b->ids.begin(), b->ids.end());
  }
  EXPECT_EQ(seen.size(), size_t(train - 1))
      << "the rest of the shard and the other shards are read";

  o.strict = true;
  auto strict = Dataset::Create(dir, o);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(strict.status().message(), expected);
}

// A record damaged after indexing fails the batch that holds it, naming shard and offset; the
// stream goes on with the next batch.
TEST(DatasetTest, RecordDamagedAfterIndexingFailsItsBatchOnly) {
  const std::string dir = MakeCorpus("late_damage");
  DatasetOptions o = SmallOptions();
  o.num_threads = 0;  // so every batch is read after the damage
  auto ds = Open(dir, o);
  ASSERT_NE(ds, nullptr);
  auto manifest = records::ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  const std::string shard = absl::StrCat(dir, "/", manifest->shards(0).path());
  const uint64_t offset = CorruptThirdRecord(shard);
  std::vector<std::string> errors;
  int64_t ids = 0;
  while (ds->Position().epoch == 0) {
    auto b = ds->Next();
    if (b.ok()) {
      ids += b->batch_size;
    } else {
      errors.push_back(std::string(b.status().message()));
    }
  }
  EXPECT_EQ(errors,
            std::vector<std::string>{absl::StrCat(shard, ": record at byte ", offset,
                                                  ": payload CRC mismatch (corrupt data)")});
  EXPECT_LT(ids, ds->num_records());
  EXPECT_GT(ids, ds->num_records() - o.max_batch_size);
}

TEST(DatasetTest, FolderErrors) {
  const DatasetOptions o = SmallOptions();
  const std::string missing = absl::StrCat(::testing::TempDir(), "/no_such_folder");
  EXPECT_EQ(Dataset::Create(missing, o).status(),
            absl::NotFoundError(absl::StrCat("data folder ", missing, " does not exist")));

  const std::string empty = NewDir("empty");
  EXPECT_EQ(Dataset::Create(empty, o).status(),
            absl::NotFoundError(absl::StrCat("data folder ", empty,
                                             " is empty (expected the output of //preprocess)")));

  const std::string no_manifest = NewDir("no_manifest");
  std::fclose(
      std::fopen(absl::StrCat(no_manifest, "/train-00000-of-00001.tfrecord").c_str(), "wb"));
  EXPECT_EQ(Dataset::Create(no_manifest, o).status(),
            absl::NotFoundError(
                absl::StrCat("data folder ", no_manifest,
                             " has no manifest.pbtxt (is it the output of //preprocess?)")));

  const std::string no_shard = MakeCorpus("no_shard");
  auto manifest = records::ReadManifest(no_shard);
  ASSERT_TRUE(manifest.ok());
  const std::string shard = absl::StrCat(no_shard, "/", manifest->shards(1).path());
  ASSERT_EQ(std::remove(shard.c_str()), 0);
  EXPECT_EQ(Dataset::Create(no_shard, o).status(),
            absl::NotFoundError(absl::StrCat(shard, ": shard listed in the manifest is missing")));

  DatasetOptions bad = o;
  bad.prefetch_batches = 0;
  EXPECT_EQ(Dataset::Create(no_shard, bad).status(),
            absl::InvalidArgumentError("dataset: prefetch_batches must be >= 1"));
}

// Destroying a loader whose threads are mid-prefetch must not hang or race (TSan checks the
// latter).
TEST(DatasetTest, DestroyWhilePrefetching) {
  const std::string dir = MakeCorpus("destroy");
  DatasetOptions o = SmallOptions();
  o.num_threads = 3;
  o.prefetch_batches = 8;
  for (int i = 0; i < 5; ++i) {
    auto ds = Open(dir, o);
    ASSERT_NE(ds, nullptr);
    Take(ds.get(), i);
  }
}

}  // namespace
}  // namespace lightspeech::train
