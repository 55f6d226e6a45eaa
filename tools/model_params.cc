// Prints parameter counts per module of the prototype and light acoustic-model configurations.
//   bazel run //tools:model_params -- --vocab_size=80 --max_duration=24
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "model/acoustic_model.h"

ABSL_FLAG(int64_t, vocab_size, 80, "Symbols in the table (the manifest's symbol count).");
ABSL_FLAG(int64_t, max_duration, 24, "K: the policy's durations 1..K frames.");
ABSL_FLAG(int64_t, n_mels, 80, "Mel bins.");
ABSL_FLAG(bool, aligner, true, "Include the forward-sum aligner.");
ABSL_FLAG(bool, observe_mel, false, "The duration policy attends over the target mel.");
ABSL_FLAG(bool, postnet, false, "Decoder postnet.");

namespace {

using Counts = std::vector<std::pair<std::string, int64_t>>;

int Run() {
  namespace m = lightspeech::model;
  const int64_t vocab = absl::GetFlag(FLAGS_vocab_size), k = absl::GetFlag(FLAGS_max_duration),
                mels = absl::GetFlag(FLAGS_n_mels);
  Counts counts[2];
  const char* names[2] = {"prototype", "light"};
  for (int i = 0; i < 2; ++i) {
    m::AcousticModelOptions o = i == 0 ? m::AcousticModelOptions::Prototype(vocab, k, mels)
                                       : m::AcousticModelOptions::Light(vocab, k, mels);
    o.use_aligner = absl::GetFlag(FLAGS_aligner);
    o.policy.observe_mel = absl::GetFlag(FLAGS_observe_mel);
    o.decoder.postnet = absl::GetFlag(FLAGS_postnet);
    auto model = m::AcousticModel::Create(o);
    if (!model.ok()) {
      std::fprintf(stderr, "%s: %s\n", names[i], model.status().ToString().c_str());
      return 1;
    }
    counts[i] = (*model)->ParameterCounts();
  }
  std::printf("%-12s %12s %12s\n", "module", names[0], names[1]);
  int64_t totals[2] = {0, 0};
  for (size_t r = 0; r < counts[0].size(); ++r) {
    std::printf("%-12s %12lld %12lld\n", counts[0][r].first.c_str(), static_cast<long long>(counts[0][r].second),
                static_cast<long long>(counts[1][r].second));
    totals[0] += counts[0][r].second;
    totals[1] += counts[1][r].second;
  }
  std::printf("%-12s %12lld %12lld\n", "total", static_cast<long long>(totals[0]), static_cast<long long>(totals[1]));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
