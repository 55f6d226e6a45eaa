#ifndef LIGHTSPEECH_RECORDS_UTTERANCE_IO_H_
#define LIGHTSPEECH_RECORDS_UTTERANCE_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "records/utterance.pb.h"

namespace lightspeech::records {

// Version written into Utterance.format_version; readers reject newer versions.
inline constexpr uint32_t kUtteranceFormatVersion = 1;

// Checks an utterance's internal consistency: version, non-empty id, mel size = n_frames x n_mels,
// finite mel values, non-negative symbol ids, alignment intervals ordered and inside [0, n_frames],
// per-symbol durations (when present) one per symbol and summing to n_frames.
// Returns InvalidArgument naming the id and the first problem found.
absl::Status ValidateUtterance(const Utterance& u);

// Serializes `u` (after ValidateUtterance) into `*payload`.
absl::Status EncodeUtterance(const Utterance& u, std::string* payload);

// Parses and validates a record payload. `where` (e.g. "shard.tfrecord: record at byte 123") prefixes
// the error: DataLoss when the bytes are not an Utterance, InvalidArgument when it is inconsistent.
absl::Status DecodeUtterance(absl::string_view payload, absl::string_view where, Utterance* u);

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_UTTERANCE_IO_H_
