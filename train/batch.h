#ifndef LIGHTSPEECH_TRAIN_BATCH_H_
#define LIGHTSPEECH_TRAIN_BATCH_H_

// The contract between the data loader (train/dataset) and the trainer: a padded batch in host
// memory, with no LibTorch types, so the loader's threads can run under ThreadSanitizer.
// train/batch_tensors.h turns a HostBatch into tensors on a device.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lightspeech::train {

// A word's span in frames, [start_frame, end_frame), from a record's reference alignment.
struct WordSpan {
  int32_t start_frame = 0;
  int32_t end_frame = 0;
  std::string label;
};

// B utterances padded to the longest: row b holds utterance b; padding is pad_id for tokens and
// zero for mel and durations.
struct HostBatch {
  std::vector<std::string> ids;        // [B]
  int64_t batch_size = 0;              // B
  int64_t max_tokens = 0;              // N
  int64_t max_frames = 0;              // T
  int64_t n_mels = 0;                  // M
  std::vector<int64_t> tokens;         // [B, N] row-major, padded with the table's pad id
  std::vector<int64_t> token_lengths;  // [B]
  std::vector<float> mel;              // [B, T, M] row-major, natural-log mel, zero padded
  std::vector<int64_t> frame_lengths;  // [B]
  // Per-symbol reference durations [B, N] (zero padded), filled only when every utterance in the
  // batch carries them (records with phone input and an alignment); else empty.
  std::vector<int64_t> durations;
  // Reference word spans per utterance (empty inner vector when a record has none).
  std::vector<std::vector<WordSpan>> words;  // [B][words]

  bool has_durations() const { return !durations.empty(); }
  int64_t total_frames() const {
    int64_t total = 0;
    for (int64_t n : frame_lengths) total += n;
    return total;
  }
};

// Where a loader is in its stream of batches: the epoch (which seeds that epoch's shuffle) and how
// many batches of it were already handed out. Saved in checkpoints so a resumed run sees the same
// batches as an uninterrupted one.
struct DataPosition {
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;
};

// A stream of batches. Training streams are endless (epochs wrap); a validation pass is finite.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next batch. absl::OutOfRangeError at the end of a finite pass; any other error names the
  // shard and byte offset of the record that caused it.
  virtual absl::StatusOr<HostBatch> Next() = 0;
  // The position of the batch Next() will return.
  virtual DataPosition Position() const = 0;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_BATCH_H_
