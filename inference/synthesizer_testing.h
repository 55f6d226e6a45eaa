#ifndef LIGHTSPEECH_INFERENCE_SYNTHESIZER_TESTING_H_
#define LIGHTSPEECH_INFERENCE_SYNTHESIZER_TESTING_H_

// Test helpers: small checkpoints for the synthesizer and the tools built on it (testonly).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "records/manifest.pb.h"
#include "train/train_config.pb.h"

namespace lightspeech::inference::testing {

inline constexpr int kTinyMels = 6;
inline constexpr int kTinyMaxDuration = 8;

// A tiny light MAS config (width 16, one block each, dropout 0.5, K = kTinyMaxDuration).
train::TrainConfig TinyConfig();

// preprocess::SymbolTable::English() with the "english" cleaner.
records::SymbolTable EnglishTable();

// Writes a checkpoint (step 7, kTinyMels bins) of a freshly initialized model of `config` (seeded)
// whose duration predictor always says `frames_per_token` frames: its output weight is 0 and its
// bias log(1 + frames_per_token).
absl::Status WriteTinyCheckpoint(const std::string& path, const records::SymbolTable& table,
                                 int64_t frames_per_token, const train::TrainConfig& config = TinyConfig());

}  // namespace lightspeech::inference::testing

#endif  // LIGHTSPEECH_INFERENCE_SYNTHESIZER_TESTING_H_
