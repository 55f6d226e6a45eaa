#ifndef LIGHTSPEECH_TRAIN_DATASET_H_
#define LIGHTSPEECH_TRAIN_DATASET_H_

// The shard data loader: reads a preprocess output folder (manifest.pbtxt + TFRecord shards of
// Utterance records) and hands out padded, length-bucketed HostBatches. No LibTorch here, so the
// loader (threads included) runs under ThreadSanitizer.
//
// Memory: Create() reads every record of the split once, verifying CRCs and decoding it, but keeps
// only an index entry per record (shard, byte offset, length, frames, symbols); batches read their
// records again with pread() when they are built. Resident memory is the index plus at most
// prefetch_batches + num_threads batches, whatever the corpus size.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "train/batch.h"

namespace lightspeech::train {

struct DatasetOptions {
  // Which shards to read. TRAIN: endless, reshuffled every epoch. VALIDATION: one pass, sorted by
  // length, then absl::OutOfRangeError.
  records::Split split = records::TRAIN;
  // Seeds the per-epoch shuffles; epoch e's order is a function of (seed, e) only.
  uint64_t seed = 0;
  // A batch holds at most this many padded frames: batch_size x (longest utterance's frames). An
  // utterance longer than this on its own forms a batch of one (it is never dropped).
  int64_t max_batch_frames = 12000;
  int64_t max_batch_size = 32;
  // Length bucketing (TRAIN): the epoch's shuffled order is cut into buckets of this many records,
  // each bucket is sorted by frame count, the sorted order is cut into batches, and the epoch's
  // batches are shuffled. Larger buckets: less padding, less randomness. 1 turns bucketing off.
  int64_t bucket_size = 256;
  // Background threads building batches (0: build them inside Next()). Also the number of threads
  // indexing shards in Create().
  int num_threads = 2;
  // Batches built ahead of the consumer (the queue bound); at least 1.
  int prefetch_batches = 4;
  // A damaged or invalid record: false skips it with a warning naming shard and byte offset; true
  // makes Create() fail with that error.
  bool strict = false;
  // Data-parallel training: this process's share of the stream (see docs/DISTRIBUTED.md). Every rank
  // plans the same global epoch (a function of seed and epoch only). TRAIN: rank r keeps records
  // r, r + world_size, ... of every global batch (batches are sorted by length, so the shares have
  // similar lengths), so the ranks together see exactly the batch one process would; a global batch
  // with fewer than world_size records is skipped on every rank. VALIDATION: rank r keeps the whole
  // batches b with b % world_size == r. world_size 1 is the whole stream.
  int rank = 0;
  int world_size = 1;
  // Receives warnings (one line each, no newline). Unset: they go to stderr.
  std::function<void(const std::string&)> warn;

  // InvalidArgument naming the first bad field.
  absl::Status Validate() const;
};

class Dataset : public BatchSource {
 public:
  // Opens the corpus folder `dir` and indexes the records of options.split, so the first Next()
  // returns the batch at `start` (a position saved from an earlier run's Position()).
  // Fails with NotFound when `dir` does not exist, is empty, has no manifest.pbtxt or lacks a shard
  // the manifest lists; InvalidArgument for bad options, a manifest that does not parse or
  // validate, a TRAIN split with no records, or a `start` beyond its epoch; DataLoss (strict)
  // naming the shard and byte offset of a bad record.
  static absl::StatusOr<std::unique_ptr<Dataset>> Create(const std::string& dir,
                                                         const DatasetOptions& options,
                                                         DataPosition start = DataPosition());
  ~Dataset() override;
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  // The next batch (see BatchSource). Batches come in the same order whatever num_threads is. An
  // error reading a record that was fine when indexed (the file changed since) names the shard and
  // byte offset; the stream then goes on with the following batch.
  absl::StatusOr<HostBatch> Next() override;
  DataPosition Position() const override;

  // Seconds Next() spent waiting for a batch, summed over all calls (the loader's share of a step).
  double wait_seconds() const;
  // Records indexed for this split, and records skipped as damaged or invalid.
  int64_t num_records() const;
  int64_t num_skipped() const;
  // Every warning issued by Create() (also sent to options.warn).
  const std::vector<std::string>& warnings() const;
  const records::Manifest& manifest() const;

 private:
  class Impl;
  explicit Dataset(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The batches of one epoch as lists of record indices (into an index whose record i has
// `frames[i]` frames), exposed for tests and tools. TRAIN: seeded shuffle of (seed, epoch), length
// buckets, batch order shuffled; VALIDATION: sorted by length (ties by index), `epoch` unused.
// Then options.rank's share of it when options.world_size > 1 (see DatasetOptions::rank).
std::vector<std::vector<int64_t>> PlanEpoch(const std::vector<int64_t>& frames,
                                            const DatasetOptions& options, int64_t epoch);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_DATASET_H_
