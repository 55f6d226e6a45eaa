#ifndef LIGHTSPEECH_RECORDS_PARTITION_H_
#define LIGHTSPEECH_RECORDS_PARTITION_H_

// Utterance -> split and utterance -> shard are pure functions of the utterance id, so resumed runs,
// threads and workers on other machines all agree, and every utterance lands in exactly one shard.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "records/manifest.pb.h"

namespace lightspeech::records {

// A 64-bit hash of `id` that never changes between versions, platforms or runs
// (FNV-1a followed by the SplitMix64 finalizer).
uint64_t StableIdHash(absl::string_view id);

// VALIDATION for about `val_fraction` of ids (0 <= val_fraction <= 1), TRAIN for the rest.
Split SplitForId(absl::string_view id, double val_fraction);

// The shard index in [0, num_shards) of `id` within its split. num_shards must be >= 1.
int ShardForId(absl::string_view id, int num_shards);

// "train-00003-of-00008.tfrecord" / "validation-00000-of-00001.tfrecord".
std::string ShardFileName(Split split, int index, int num_shards);

// "train" / "validation" / "unspecified".
absl::string_view SplitName(Split split);

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_PARTITION_H_
