#include "train/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::train {
namespace {

// SplitMix64: a small, portable generator, so an epoch's order does not depend on the standard
// library's distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (modulo bias below 2^-40 for any realistic n).
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

template <typename T>
void Shuffle(std::vector<T>* v, Rng* rng) {
  for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[rng->Below(i)]);
}

// Cuts `order` (already in the wanted order) into batches greedily under the frame and size limits.
void CutBatches(const std::vector<int64_t>& order, const std::vector<int64_t>& frames,
                const DatasetOptions& options, std::vector<std::vector<int64_t>>* batches) {
  std::vector<int64_t> current;
  int64_t current_max = 0;
  for (int64_t index : order) {
    const int64_t longest = std::max(current_max, frames[index]);
    const int64_t size = static_cast<int64_t>(current.size()) + 1;
    if (!current.empty() &&
        (size > options.max_batch_size || size * longest > options.max_batch_frames)) {
      batches->push_back(std::move(current));
      current.clear();
      current_max = 0;
    }
    current.push_back(index);
    current_max = std::max(current_max, frames[index]);
  }
  if (!current.empty()) batches->push_back(std::move(current));
}

// One record of the split: where it is and what the batcher needs to know without reading it.
struct IndexEntry {
  int32_t shard = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // payload bytes
};

struct ShardIndex {
  std::vector<IndexEntry> entries;
  std::vector<int64_t> frames;
  std::vector<std::string> warnings;
  int64_t skipped = 0;
  absl::Status status;  // set when the shard cannot be used (strict, or unreadable)
};

void WarnToStderr(const std::string& line) { std::fprintf(stderr, "warning: %s\n", line.c_str()); }

}  // namespace

absl::Status DatasetOptions::Validate() const {
  if (split != records::TRAIN && split != records::VALIDATION) {
    return absl::InvalidArgumentError("dataset: split must be TRAIN or VALIDATION");
  }
  if (max_batch_frames < 1)
    return absl::InvalidArgumentError("dataset: max_batch_frames must be >= 1");
  if (max_batch_size < 1) return absl::InvalidArgumentError("dataset: max_batch_size must be >= 1");
  if (bucket_size < 1) return absl::InvalidArgumentError("dataset: bucket_size must be >= 1");
  if (num_threads < 0) return absl::InvalidArgumentError("dataset: num_threads must be >= 0");
  if (prefetch_batches < 1)
    return absl::InvalidArgumentError("dataset: prefetch_batches must be >= 1");
  if (world_size < 1) return absl::InvalidArgumentError("dataset: world_size must be >= 1");
  if (rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset: rank ", rank, " is outside [0, world_size ", world_size, ")"));
  }
  return absl::OkStatus();
}

namespace {

// Rank `rank`'s share of a global plan (see DatasetOptions::rank).
std::vector<std::vector<int64_t>> ShareOf(const std::vector<std::vector<int64_t>>& global,
                                          const DatasetOptions& options) {
  const size_t world = static_cast<size_t>(options.world_size), rank = static_cast<size_t>(options.rank);
  std::vector<std::vector<int64_t>> mine;
  for (size_t b = 0; b < global.size(); ++b) {
    if (options.split == records::VALIDATION) {
      if (b % world == rank) mine.push_back(global[b]);
      continue;
    }
    if (global[b].size() < world) continue;
    std::vector<int64_t> share;
    for (size_t i = rank; i < global[b].size(); i += world) share.push_back(global[b][i]);
    mine.push_back(std::move(share));
  }
  return mine;
}

std::vector<std::vector<int64_t>> PlanGlobalEpoch(const std::vector<int64_t>& frames,
                                                  const DatasetOptions& options, int64_t epoch);

}  // namespace

std::vector<std::vector<int64_t>> PlanEpoch(const std::vector<int64_t>& frames,
                                            const DatasetOptions& options, int64_t epoch) {
  std::vector<std::vector<int64_t>> global = PlanGlobalEpoch(frames, options, epoch);
  if (options.world_size <= 1) return global;
  return ShareOf(global, options);
}

namespace {

std::vector<std::vector<int64_t>> PlanGlobalEpoch(const std::vector<int64_t>& frames,
                                                  const DatasetOptions& options, int64_t epoch) {
  std::vector<int64_t> order(frames.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::vector<int64_t>> batches;
  auto by_frames = [&frames](int64_t a, int64_t b) { return frames[a] < frames[b]; };
  if (options.split == records::VALIDATION) {
    std::stable_sort(order.begin(), order.end(), by_frames);
    CutBatches(order, frames, options, &batches);
    return batches;
  }
  Rng rng(options.seed * 0xD1B54A32D192ED03ull +
          static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull);
  Shuffle(&order, &rng);
  for (size_t begin = 0; begin < order.size(); begin += options.bucket_size) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(options.bucket_size));
    std::stable_sort(order.begin() + begin, order.begin() + end, by_frames);
  }
  CutBatches(order, frames, options, &batches);
  Shuffle(&batches, &rng);
  return batches;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class Dataset::Impl {
 public:
  Impl(records::Manifest manifest, DatasetOptions options)
      : manifest_(std::move(manifest)), options_(std::move(options)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  absl::Status Open(const std::string& dir, DataPosition start);
  // TRAIN: moves claim_pos_ past epochs whose plan is empty for this rank.
  void SkipEmptyEpochsLocked();
  absl::StatusOr<HostBatch> Next();
  DataPosition Position() const {
    std::lock_guard<std::mutex> lock(mu_);
    return consumer_pos_;
  }
  double wait_seconds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return wait_seconds_;
  }

  records::Manifest manifest_;
  DatasetOptions options_;
  std::vector<std::string> warnings_;
  int64_t skipped_ = 0;
  std::vector<IndexEntry> entries_;
  std::vector<int64_t> frames_;

 private:
  struct Claim {
    int64_t seq = 0;
    std::vector<int64_t> records;
    DataPosition after;
  };
  struct Item {
    absl::StatusOr<HostBatch> batch;
    DataPosition after;
  };

  ShardIndex IndexShard(int shard) const;
  absl::StatusOr<HostBatch> BuildBatch(const std::vector<int64_t>& records) const;
  absl::Status ReadRecord(const IndexEntry& e, records::Utterance* u) const;
  // Takes the next batch to build; requires mu_ held and !exhausted_.
  Claim ClaimLocked();
  void WorkerLoop();

  std::vector<std::string> shard_paths_;  // indexed like manifest_.shards(); empty if not in split
  std::vector<int> fds_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers: room in the queue, or stop
  std::condition_variable ready_cv_;  // consumer: an item arrived
  std::vector<std::thread> workers_;
  bool stop_ = false;
  bool exhausted_ = false;  // VALIDATION: every batch claimed
  int64_t next_claim_seq_ = 0;
  int64_t next_consume_seq_ = 0;
  DataPosition claim_pos_;
  std::vector<std::vector<int64_t>> claim_plan_;
  DataPosition consumer_pos_;
  std::map<int64_t, Item> ready_;
  double wait_seconds_ = 0;
};

ShardIndex Dataset::Impl::IndexShard(int shard) const {
  ShardIndex out;
  const std::string& path = shard_paths_[shard];
  const int n_mels = manifest_.features().n_mels();
  const int n_symbols = manifest_.symbols().symbols_size();
  absl::StatusOr<std::unique_ptr<records::RecordReader>> reader = records::RecordReader::Open(path);
  if (!reader.ok()) {
    out.status = reader.status();
    return out;
  }
  // A problem with one record: recorded as a warning (the record is skipped) or, strict, fatal.
  auto problem = [&](const absl::Status& s, absl::string_view what_skipped) {
    if (options_.strict) {
      out.status = s;
      return false;
    }
    out.warnings.push_back(absl::StrCat(s.message(), " (", what_skipped, ")"));
    ++out.skipped;
    return true;
  };
  std::string payload;
  records::Utterance u;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&payload);
    if (!more.ok()) {
      const bool lost_rest = (*reader)->offset() == (*reader)->last_record_offset();
      if (!problem(more.status(), lost_rest
                                      ? "record skipped; the rest of the shard cannot be located"
                                      : "record skipped")) {
        return out;
      }
      continue;
    }
    if (!*more) break;
    const uint64_t offset = (*reader)->last_record_offset();
    const std::string where = absl::StrCat(path, ": record at byte ", offset);
    absl::Status s = records::DecodeUtterance(payload, where, &u);
    if (s.ok() && u.n_mels() != n_mels) {
      s = absl::InvalidArgumentError(absl::StrCat(where, ": ", u.id(), " has n_mels ", u.n_mels(),
                                                  ", the manifest says ", n_mels));
    }
    if (s.ok() && n_symbols > 0) {
      for (int id : u.symbol_ids()) {
        if (id >= n_symbols) {
          s = absl::InvalidArgumentError(absl::StrCat(where, ": ", u.id(), " has symbol id ", id,
                                                      " outside the manifest's table of ",
                                                      n_symbols));
          break;
        }
      }
    }
    if (s.ok() && (u.n_frames() < 1 || u.symbol_ids_size() < 1)) {
      s = absl::InvalidArgumentError(
          absl::StrCat(where, ": ", u.id(), " has no frames or no symbols"));
    }
    if (!s.ok()) {
      if (!problem(s, "record skipped")) return out;
      continue;
    }
    out.entries.push_back({shard, offset, payload.size()});
    out.frames.push_back(u.n_frames());
  }
  return out;
}

absl::Status Dataset::Impl::Open(const std::string& dir, DataPosition start) {
  // The folder and its manifest.
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("data folder ", dir, " does not exist"));
  }
  if (!S_ISDIR(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat("data folder ", dir, " is not a folder"));
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirectory(dir));
  if (names.empty()) {
    return absl::NotFoundError(
        absl::StrCat("data folder ", dir, " is empty (expected the output of //preprocess)"));
  }
  const std::string manifest_path = absl::StrCat(dir, "/", records::kManifestFileName);
  if (!base::IsRegularFile(manifest_path)) {
    return absl::NotFoundError(absl::StrCat("data folder ", dir, " has no ",
                                            records::kManifestFileName,
                                            " (is it the output of //preprocess?)"));
  }
  LS_ASSIGN_OR_RETURN(manifest_, records::ReadManifest(manifest_path));

  // The split's shards, opened once for pread().
  const int num_shards = manifest_.shards_size();
  shard_paths_.assign(num_shards, "");
  fds_.assign(num_shards, -1);
  std::vector<int> in_split;
  for (int i = 0; i < num_shards; ++i) {
    const records::ShardInfo& info = manifest_.shards(i);
    if (info.split() != options_.split) continue;
    shard_paths_[i] = absl::StrCat(dir, "/", info.path());
    fds_[i] = ::open(shard_paths_[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fds_[i] < 0) {
      const int err = errno;
      if (err == ENOENT) {
        return absl::NotFoundError(
            absl::StrCat(shard_paths_[i], ": shard listed in the manifest is missing"));
      }
      return base::ErrnoStatus(shard_paths_[i], "cannot open shard", err);
    }
    in_split.push_back(i);
  }

  // Index the shards, several at a time; results are merged in manifest order.
  std::vector<ShardIndex> indexes(in_split.size());
  {
    const int threads = std::max(1, std::min<int>(options_.num_threads, in_split.size()));
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t k = next++; k < in_split.size(); k = next++) indexes[k] = IndexShard(in_split[k]);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  }
  const auto& warn =
      options_.warn ? options_.warn : std::function<void(const std::string&)>(WarnToStderr);
  for (ShardIndex& index : indexes) {
    for (std::string& w : index.warnings) {
      warn(w);
      warnings_.push_back(std::move(w));
    }
    if (!index.status.ok()) return index.status;
    skipped_ += index.skipped;
    entries_.insert(entries_.end(), index.entries.begin(), index.entries.end());
    frames_.insert(frames_.end(), index.frames.begin(), index.frames.end());
  }
  if (options_.split == records::TRAIN && entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data folder ", dir, ": no readable TRAIN records"));
  }

  // The start position.
  if (start.epoch < 0 || start.batch_in_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("dataset: negative start position (epoch ",
                                                   start.epoch, ", batch ", start.batch_in_epoch,
                                                   ")"));
  }
  claim_plan_ = PlanEpoch(frames_, options_, start.epoch);
  if (options_.split == records::TRAIN && claim_plan_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataset: rank ", options_.rank, " of ", options_.world_size, " gets no batch in epoch ",
        start.epoch, ": every batch has fewer than ", options_.world_size,
        " records (a corpus or batch size too small for this many processes)"));
  }
  const int64_t num_batches = claim_plan_.size();
  if (start.batch_in_epoch > num_batches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataset: start position batch ", start.batch_in_epoch, " is beyond epoch ", start.epoch,
        "'s ", num_batches, " batches (different data or batching options?)"));
  }
  claim_pos_ = start;
  if (start.batch_in_epoch == num_batches) {
    if (options_.split == records::TRAIN) {
      claim_pos_ = {start.epoch + 1, 0};
      claim_plan_ = PlanEpoch(frames_, options_, claim_pos_.epoch);
      SkipEmptyEpochsLocked();
    } else {
      exhausted_ = true;
    }
  }
  consumer_pos_ = claim_pos_;
  for (int t = 0; t < options_.num_threads; ++t) workers_.emplace_back([this] { WorkerLoop(); });
  return absl::OkStatus();
}

void Dataset::Impl::SkipEmptyEpochsLocked() {
  // Only a rank's share can be empty (every global batch smaller than world_size); the start epoch
  // was checked to have batches, so this ends in practice. Every rank skips the same epochs.
  while (claim_plan_.empty()) {
    claim_pos_ = {claim_pos_.epoch + 1, 0};
    claim_plan_ = PlanEpoch(frames_, options_, claim_pos_.epoch);
  }
}

Dataset::Impl::Claim Dataset::Impl::ClaimLocked() {
  Claim c;
  c.seq = next_claim_seq_++;
  c.records = claim_plan_[claim_pos_.batch_in_epoch];
  ++claim_pos_.batch_in_epoch;
  if (claim_pos_.batch_in_epoch == static_cast<int64_t>(claim_plan_.size())) {
    if (options_.split == records::TRAIN) {
      claim_pos_ = {claim_pos_.epoch + 1, 0};
      claim_plan_ = PlanEpoch(frames_, options_, claim_pos_.epoch);
      SkipEmptyEpochsLocked();
    } else {
      exhausted_ = true;
    }
  }
  c.after = claim_pos_;
  return c;
}

void Dataset::Impl::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] {
      return stop_ ||
             (!exhausted_ && next_claim_seq_ < next_consume_seq_ + options_.prefetch_batches);
    });
    if (stop_) return;
    Claim c = ClaimLocked();
    lock.unlock();
    Item item{BuildBatch(c.records), c.after};
    lock.lock();
    ready_.emplace(c.seq, std::move(item));
    ready_cv_.notify_all();
  }
}

absl::StatusOr<HostBatch> Dataset::Impl::Next() {
  const auto begin = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  auto add_wait = [&] {
    wait_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  };
  if (options_.num_threads == 0) {
    if (exhausted_) return absl::OutOfRangeError("dataset: end of the validation pass");
    Claim c = ClaimLocked();
    lock.unlock();
    absl::StatusOr<HostBatch> batch = BuildBatch(c.records);
    lock.lock();
    ++next_consume_seq_;
    consumer_pos_ = c.after;
    add_wait();
    return batch;
  }
  const int64_t seq = next_consume_seq_;
  ready_cv_.wait(lock,
                 [&] { return ready_.count(seq) > 0 || (exhausted_ && next_claim_seq_ == seq); });
  auto it = ready_.find(seq);
  if (it == ready_.end()) {
    add_wait();
    return absl::OutOfRangeError("dataset: end of the validation pass");
  }
  Item item = std::move(it->second);
  ready_.erase(it);
  ++next_consume_seq_;
  consumer_pos_ = item.after;
  add_wait();
  lock.unlock();
  work_cv_.notify_all();
  return std::move(item.batch);
}

absl::Status Dataset::Impl::ReadRecord(const IndexEntry& e, records::Utterance* u) const {
  const std::string& path = shard_paths_[e.shard];
  std::string payload;
  LS_RETURN_IF_ERROR(records::ReadRecordAt(fds_[e.shard], path, e.offset, e.length, &payload));
  return records::DecodeUtterance(payload, absl::StrCat(path, ": record at byte ", e.offset), u);
}

absl::StatusOr<HostBatch> Dataset::Impl::BuildBatch(const std::vector<int64_t>& indices) const {
  std::vector<records::Utterance> utts(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    LS_RETURN_IF_ERROR(ReadRecord(entries_[indices[i]], &utts[i]));
  }
  HostBatch b;
  b.batch_size = utts.size();
  b.n_mels = manifest_.features().n_mels();
  bool all_durations = true;
  for (const records::Utterance& u : utts) {
    b.max_tokens = std::max<int64_t>(b.max_tokens, u.symbol_ids_size());
    b.max_frames = std::max<int64_t>(b.max_frames, u.n_frames());
    all_durations = all_durations && u.alignment().durations_size() == u.symbol_ids_size();
  }
  const int64_t B = b.batch_size, N = b.max_tokens, T = b.max_frames, M = b.n_mels;
  b.tokens.assign(B * N, manifest_.symbols().pad_id());
  b.mel.assign(B * T * M, 0.0f);
  if (all_durations) b.durations.assign(B * N, 0);
  b.words.resize(B);
  for (int64_t i = 0; i < B; ++i) {
    const records::Utterance& u = utts[i];
    b.ids.push_back(u.id());
    b.token_lengths.push_back(u.symbol_ids_size());
    b.frame_lengths.push_back(u.n_frames());
    std::copy(u.symbol_ids().begin(), u.symbol_ids().end(), b.tokens.begin() + i * N);
    std::copy(u.mel().begin(), u.mel().end(), b.mel.begin() + i * T * M);
    if (all_durations) {
      std::copy(u.alignment().durations().begin(), u.alignment().durations().end(),
                b.durations.begin() + i * N);
    }
    for (const records::Interval& w : u.alignment().words()) {
      b.words[i].push_back({w.start_frame(), w.end_frame(), w.label()});
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------

Dataset::Dataset(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataset::~Dataset() = default;

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::Create(const std::string& dir,
                                                         const DatasetOptions& options,
                                                         DataPosition start) {
  LS_RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>(records::Manifest(), options);
  LS_RETURN_IF_ERROR(impl->Open(dir, start));
  return std::unique_ptr<Dataset>(new Dataset(std::move(impl)));
}

absl::StatusOr<HostBatch> Dataset::Next() { return impl_->Next(); }
DataPosition Dataset::Position() const { return impl_->Position(); }
double Dataset::wait_seconds() const { return impl_->wait_seconds(); }
int64_t Dataset::num_records() const { return impl_->entries_.size(); }
int64_t Dataset::num_skipped() const { return impl_->skipped_; }
const std::vector<std::string>& Dataset::warnings() const { return impl_->warnings_; }
const records::Manifest& Dataset::manifest() const { return impl_->manifest_; }

}  // namespace lightspeech::train
