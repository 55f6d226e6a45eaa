#ifndef LIGHTSPEECH_RECORDS_SYNTHETIC_H_
#define LIGHTSPEECH_RECORDS_SYNTHETIC_H_

// Deterministic synthetic utterances and corpus folders, for tests, interop checks and demos of the
// record format (no audio involved).

#include <string>

#include "absl/status/statusor.h"
#include "records/manifest.pb.h"
#include "records/utterance.pb.h"

namespace lightspeech::records {

// An utterance with `n_frames` x 80 mel values and `n_symbols` symbol ids, a word alignment and
// per-symbol durations summing to n_frames; its contents depend only on (id, n_frames, n_symbols).
Utterance MakeSyntheticUtterance(const std::string& id, int n_frames, int n_symbols);

// Writes `num_utterances` synthetic utterances (ids "synth-0000", ...) into `dir` (which must exist)
// as a corpus folder: shards partitioned by id (records/partition.h) and a manifest. Returns the
// manifest written.
absl::StatusOr<Manifest> WriteSyntheticCorpus(const std::string& dir, int num_utterances,
                                              int num_train_shards, double val_fraction);

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_SYNTHETIC_H_
