#ifndef LIGHTSPEECH_TRAIN_TESTING_IN_MEMORY_SOURCE_H_
#define LIGHTSPEECH_TRAIN_TESTING_IN_MEMORY_SOURCE_H_

// Test helpers: HostBatches of synthetic utterances (records::MakeSyntheticUtterance) and a
// BatchSource that replays them from memory. No LibTorch.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "records/utterance.pb.h"
#include "train/batch.h"

namespace lightspeech::train::testing {

// Pads utterances into a HostBatch (pad id 0); durations are filled when every utterance has them.
HostBatch MakeHostBatch(const std::vector<records::Utterance>& utterances);

// `num_batches` batches of `batch_size` synthetic utterances each; utterance i of batch j has
// 6 + (i + j) % 5 symbols and 3 to 4 frames per symbol. Deterministic.
std::vector<HostBatch> SyntheticBatches(int num_batches, int batch_size, const std::string& prefix = "utt");

// The symbol table of synthetic utterances: "<pad>" and the letters a..z (ids 1..26).
records::SymbolTable SyntheticSymbols();

// Replays `batches` as epochs. Endless: epochs wrap (a training stream). Finite: one pass, then
// OutOfRange once, then the next pass (a validation stream).
class InMemoryBatchSource : public BatchSource {
 public:
  InMemoryBatchSource(std::vector<HostBatch> batches, bool endless, DataPosition start = {})
      : batches_(std::move(batches)), endless_(endless), position_(start) {}

  absl::StatusOr<HostBatch> Next() override {
    if (position_.batch_in_epoch >= static_cast<int64_t>(batches_.size())) {
      ++position_.epoch;
      position_.batch_in_epoch = 0;
      if (!endless_) return absl::OutOfRangeError("end of the validation pass");
    }
    return batches_[position_.batch_in_epoch++];
  }
  DataPosition Position() const override { return position_; }
  int64_t calls() const { return position_.epoch * static_cast<int64_t>(batches_.size()) + position_.batch_in_epoch; }

 private:
  std::vector<HostBatch> batches_;
  bool endless_;
  DataPosition position_;
};

}  // namespace lightspeech::train::testing

#endif  // LIGHTSPEECH_TRAIN_TESTING_IN_MEMORY_SOURCE_H_
