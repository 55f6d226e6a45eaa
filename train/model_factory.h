#ifndef LIGHTSPEECH_TRAIN_MODEL_FACTORY_H_
#define LIGHTSPEECH_TRAIN_MODEL_FACTORY_H_

// The acoustic model's options as a TrainConfig describes them, shared by the trainer (which builds
// the model it trains) and the inference model (train/inference_model.h, which rebuilds it from a
// checkpoint's config for evaluation and the synthesizer), so both build the identical module tree.

#include <cstdint>

#include "absl/status/statusor.h"
#include "model/acoustic_model.h"
#include "train/train_config.pb.h"

namespace lightspeech::train {

// The preset of config.model (PROTOTYPE or LIGHT) for `vocab` symbols, K = `max_duration` and
// `n_mels` bins, with the config's size overrides, dropout and postnet; a duration predictor when
// asked for or when the method is not RL; the aligner for MAS; a mel-observing policy when the RL
// config says so. Fails (InvalidArgument) when the result does not validate.
absl::StatusOr<model::AcousticModelOptions> ModelOptions(const TrainConfig& config, int64_t vocab,
                                                         int64_t max_duration, int64_t n_mels);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_MODEL_FACTORY_H_
