#ifndef LIGHTSPEECH_TOOLS_SHARD_INSPECT_LIB_H_
#define LIGHTSPEECH_TOOLS_SHARD_INSPECT_LIB_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace lightspeech::tools {

struct ShardInspectOptions {
  bool verify = false;        // print every bad record and a verdict
  std::string dump_id;        // dump the record with this utterance id
  int64_t dump_index = -1;    // or the record at this position (over all shards, in order)
};

// Inspects a shard file or a corpus folder (its manifest's shards, or every *.tfrecord in it) and
// writes a report to `out`; problems go to `err`. Every record is read, its CRCs checked and its
// Utterance decoded and validated. Returns the process exit code: 0 when all is well, 1 for a usage
// or I/O error (missing path, unreadable manifest), 2 when any record is damaged or a manifest's
// counts disagree with the shards.
int RunShardInspect(const std::string& path, const ShardInspectOptions& options, std::ostream& out,
                    std::ostream& err);

}  // namespace lightspeech::tools

#endif  // LIGHTSPEECH_TOOLS_SHARD_INSPECT_LIB_H_
