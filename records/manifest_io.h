#ifndef LIGHTSPEECH_RECORDS_MANIFEST_IO_H_
#define LIGHTSPEECH_RECORDS_MANIFEST_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "records/manifest.pb.h"

namespace lightspeech::records {

// Version written into Manifest.format_version; readers reject newer versions.
inline constexpr uint32_t kManifestFormatVersion = 1;

// The manifest's file name inside a corpus folder.
inline constexpr char kManifestFileName[] = "manifest.pbtxt";

// Checks a manifest: version, feature settings present, each shard path relative, inside the folder
// (no "..", no absolute path), unique and with a split; totals equal the sums over shards.
// Returns InvalidArgument naming the first problem.
absl::Status ValidateManifest(const Manifest& m);

// Recomputes num_records, num_frames and seconds from the shard list.
void UpdateManifestTotals(Manifest* m);

// Reads and validates `path` (a manifest file, or a folder holding manifest.pbtxt).
// Parse errors name the file, line and column.
absl::StatusOr<Manifest> ReadManifest(const std::string& path);

// Validates `m` and writes it atomically to `dir`/manifest.pbtxt (text format, with a header comment).
absl::Status WriteManifest(const std::string& dir, const Manifest& m);

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_MANIFEST_IO_H_
