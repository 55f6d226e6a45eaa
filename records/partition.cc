#include "records/partition.h"

#include "absl/strings/str_format.h"

namespace lightspeech::records {

uint64_t StableIdHash(absl::string_view id) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (unsigned char c : id) {
    h ^= c;
    h *= 0x100000001b3ull;  // FNV prime
  }
  // SplitMix64 finalizer: spreads FNV's weak low bits over the whole word.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

Split SplitForId(absl::string_view id, double val_fraction) {
  // Top 53 bits -> uniform double in [0, 1).
  const double u = static_cast<double>(StableIdHash(id) >> 11) * (1.0 / 9007199254740992.0);
  return u < val_fraction ? VALIDATION : TRAIN;
}

int ShardForId(absl::string_view id, int num_shards) {
  // Low bits of the hash pick the shard; the split used the top bits, so the two are independent.
  return static_cast<int>(StableIdHash(id) % static_cast<uint64_t>(num_shards < 1 ? 1 : num_shards));
}

absl::string_view SplitName(Split split) {
  switch (split) {
    case TRAIN:
      return "train";
    case VALIDATION:
      return "validation";
    default:
      return "unspecified";
  }
}

std::string ShardFileName(Split split, int index, int num_shards) {
  return absl::StrFormat("%s-%05d-of-%05d.tfrecord", SplitName(split), index, num_shards);
}

}  // namespace lightspeech::records
