// bazel run //tools:make_sample_shards -- --out=DIR [--utterances=N --shards=N --val_fraction=F]
// Writes a small synthetic corpus folder (shards + manifest) to check readers and tools against.
#include <sys/stat.h>

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "base/file_util.h"
#include "records/synthetic.h"

ABSL_FLAG(std::string, out, "", "Output folder (created if missing).");
ABSL_FLAG(int, utterances, 20, "Number of synthetic utterances.");
ABSL_FLAG(int, shards, 2, "Number of training shards.");
ABSL_FLAG(double, val_fraction, 0.2, "Fraction of utterances in the validation shard.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes a synthetic corpus folder (TFRecord shards of Utterance protos + manifest.pbtxt), for\n"
      "interop checks and demos of the record format. Usage: make_sample_shards --out=DIR");
  absl::ParseCommandLine(argc, argv);
  const std::string out = lightspeech::base::ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (out.empty()) {
    std::cerr << "error: --out is required (see --help)\n";
    return 1;
  }
  ::mkdir(out.c_str(), 0755);
  auto m = lightspeech::records::WriteSyntheticCorpus(out, absl::GetFlag(FLAGS_utterances),
                                                      absl::GetFlag(FLAGS_shards),
                                                      absl::GetFlag(FLAGS_val_fraction));
  if (!m.ok()) {
    std::cerr << "error: " << m.status().message() << "\n";
    return 1;
  }
  std::cout << "wrote " << m->num_records() << " utterances in " << m->shards_size() << " shards to "
            << out << "\n";
  return 0;
}
