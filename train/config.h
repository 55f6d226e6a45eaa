#ifndef LIGHTSPEECH_TRAIN_CONFIG_H_
#define LIGHTSPEECH_TRAIN_CONFIG_H_

// Loading, overriding, validating and saving a TrainConfig (train/train_config.proto). No LibTorch.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "train/train_config.pb.h"

namespace lightspeech::train {

// Parses protobuf text format. Fails (InvalidArgument) with "SOURCE:LINE:COLUMN: what" (1-based) for
// the first syntax error or unknown field, and for a retired option (RefuseRetiredOptions), which
// the text parser alone would skip.
absl::StatusOr<TrainConfig> ParseTrainConfig(absl::string_view text, const std::string& source);

// Reads and parses a text-format file; fails naming the path (and line) on a read or parse error.
absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path);

// Applies one "field.path=value" assignment through protobuf reflection: any singular scalar,
// string or enum field at any depth (enums by value name, case-insensitive, or number; bools as
// true/false/1/0). Fails (InvalidArgument) naming the assignment and what is wrong: no '=', an
// unknown or retired field, a repeated or message field, or a value that does not parse as the
// field's type.
absl::Status ApplyOverride(absl::string_view assignment, TrainConfig* config);

// Applies assignments in order; stops at the first failure.
absl::Status ApplyOverrides(const std::vector<std::string>& assignments, TrainConfig* config);

// The values that a zero (or, for validation_audio_iterations, an unset 0) stands for in the
// fields whose comment in train/train_config.proto says "0: X". ApplyTrainDefaults writes them in,
// so a run's config.pbtxt and its checkpoints show the values the run used.
inline constexpr double kDefaultLr = 1e-3;
inline constexpr double kDefaultBeta1 = 0.9;
inline constexpr double kDefaultBeta2 = 0.999;
inline constexpr double kDefaultEps = 1e-8;
inline constexpr double kDefaultDecayRate = 0.5;
inline constexpr int64_t kDefaultDecaySteps = 10000;
inline constexpr int32_t kDefaultGradAccumulation = 1;
inline constexpr int32_t kDefaultSamplesPerUtterance = 1;
inline constexpr double kDefaultMovingAverageDecay = 0.9;
inline constexpr double kDefaultTemperature = 1.0;
inline constexpr double kDefaultActorLrScale = 1.0;
// The data loader's own defaults (train::DatasetOptions; data_sources_test checks they agree).
inline constexpr int64_t kDefaultBatchMaxFrames = 12000;
inline constexpr int32_t kDefaultBatchMaxSize = 32;
inline constexpr int32_t kDefaultPrefetch = 4;
inline constexpr int32_t kDefaultLoaderThreads = 2;
inline constexpr int32_t kDefaultKeepCheckpoints = 3;
inline constexpr int64_t kDefaultLogEvery = 10;
inline constexpr int32_t kDefaultThreads = 1;
inline constexpr double kDefaultLossWeight = 1.0;  // duration_loss_weight, forward_sum_weight
// Griffin-Lim iterations of the validation audio: 8 cost about 0.35 s for a 2.3 s clip in a
// fastbuild binary on a busy 2-core machine (32: 1.3 s), docs/BENCHMARKS.md "trainer".
inline constexpr int32_t kDefaultValidationAudioIterations = 8;

// Replaces every such zero by its default (above); the RlConfig ones only for aligner RL.
// Idempotent; leaves the model (a preset with
// optional sizes, compared field by field when a checkpoint is restored), every field whose zero
// means "off" or "never", and negative values (ValidateTrainConfig refuses or reads them) as they
// are. train::ResolveTrainConfig and Trainer::Create call it, so the code that reads the
// configuration reads the value it uses.
void ApplyTrainDefaults(TrainConfig* config);

// Upper bounds on model sizes (ValidateTrainConfig), far above any configuration in train/configs/.
inline constexpr int32_t kMaxModelWidth = 8192;
inline constexpr int32_t kMaxModelBlocks = 64;
inline constexpr int32_t kMaxModelDuration = 4096;

// Options that were measured, not adopted and removed (docs/RESULTS.md); their field numbers are
// reserved in train/train_config.proto. A checkpoint written before keeps such a field as an
// unknown field of its TrainConfig or RlConfig (and MOST_LIKELY as the enum number 3): fails
// (InvalidArgument) naming the option, e.g. "TrainConfig: optional_word_separators was retired
// (measured and not adopted, docs/RESULTS.md round 7); the last commit with it is 7a71848".
// ParseTrainConfig, ApplyOverride, ValidateTrainConfig and checkpoint decoding refuse them.
absl::Status RefuseRetiredOptions(const TrainConfig& config);

// Checks ranges and combinations; fails (InvalidArgument) naming the first bad field, e.g.
// "TrainConfig: aligner must be RL, MAS or ORACLE". Retired options first (RefuseRetiredOptions).
absl::Status ValidateTrainConfig(const TrainConfig& config);

// The configuration in text format, as written to the run folder.
std::string FormatTrainConfig(const TrainConfig& config);

// Writes FormatTrainConfig(config) to DIR/config.pbtxt atomically. Fails naming the path.
absl::Status WriteResolvedConfig(const TrainConfig& config, const std::string& dir);

// The first field (depth first, in field-number order) where two messages of the same type differ,
// as "path: A vs B" in text format values, or "" when they are equal.
std::string FirstDifference(const google::protobuf::Message& a, const google::protobuf::Message& b);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_CONFIG_H_
