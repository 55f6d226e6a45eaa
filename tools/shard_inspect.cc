// bazel run //tools:shard_inspect -- PATH [--verify] [--dump=ID | --dump_index=N]
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "base/file_util.h"
#include "tools/shard_inspect_lib.h"

ABSL_FLAG(bool, verify, false, "Check every record's CRCs and contents; name the shard and byte offset "
          "of each bad record; exit non-zero if any.");
ABSL_FLAG(std::string, dump, "", "Print the record with this utterance id.");
ABSL_FLAG(int64_t, dump_index, -1, "Print the record at this position (counting over all shards).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Summarizes, verifies or dumps RL-LightSpeech shards.\n"
      "Usage: shard_inspect PATH [--verify] [--dump=ID | --dump_index=N]\n"
      "PATH is a .tfrecord shard or a folder written by //preprocess (its manifest is used when present).\n"
      "Exit codes: 0 all good, 1 usage or I/O error, 2 damaged records or a manifest mismatch.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: shard_inspect PATH [--verify] [--dump=ID | --dump_index=N] (see --help)\n";
    return 1;
  }
  lightspeech::tools::ShardInspectOptions options;
  options.verify = absl::GetFlag(FLAGS_verify);
  options.dump_id = absl::GetFlag(FLAGS_dump);
  options.dump_index = absl::GetFlag(FLAGS_dump_index);
  return lightspeech::tools::RunShardInspect(lightspeech::base::ResolveUserPath(args[1]), options,
                                             std::cout, std::cerr);
}
