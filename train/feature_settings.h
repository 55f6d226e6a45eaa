#ifndef LIGHTSPEECH_TRAIN_FEATURE_SETTINGS_H_
#define LIGHTSPEECH_TRAIN_FEATURE_SETTINGS_H_

// The preprocessing feature settings of a corpus (records/manifest.proto FeatureSettings, also kept
// in checkpoints) as the features library's LogMelOptions, which Griffin-Lim needs: the trainer's
// validation audio and //tools:synthesize. No LibTorch here.

#include "absl/status/statusor.h"
#include "features/log_mel.h"
#include "records/manifest.pb.h"

namespace lightspeech::train {

// `settings` with `n_mels` bins (the model's) as LogMelOptions; unset (zero) fields keep the
// docs/DESIGN.md defaults. Fails (InvalidArgument) when settings.n_mels is set and differs from
// `n_mels` ("the feature settings have 40 mel bins, the model 80") or with LogMelOptions::Validate's
// message for settings no extractor can use.
absl::StatusOr<features::LogMelOptions> LogMelOptionsFromSettings(const records::FeatureSettings& settings,
                                                                  int n_mels);

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_FEATURE_SETTINGS_H_
