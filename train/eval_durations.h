#ifndef LIGHTSPEECH_TRAIN_EVAL_DURATIONS_H_
#define LIGHTSPEECH_TRAIN_EVAL_DURATIONS_H_

// What evaluation against reference timings (docs/EVALUATION.md) needs of one utterance: the
// durations of a checkpoint's method and of its text-only predictor, and the mel decoded from each.
// Filled by Trainer::EvaluationDurations (train/trainer.h) and InferenceModel::EvaluationDurations
// (train/inference_model.h), which share one implementation. No LibTorch in this header.

#include <cstdint>
#include <string>
#include <vector>

namespace lightspeech::train {

// One utterance's durations and predicted mel for evaluation against reference timings.
struct EvalDurations {
  std::string id;
  int64_t tokens = 0;  // real symbols
  int64_t frames = 0;  // the utterance's true number of mel frames
  // (a) The durations the method uses for this utterance while training, fitted to `frames`: the
  // reference (ORACLE), the monotonic alignment search's (MAS), the actor's greedy ones (RL). [tokens]
  std::vector<int64_t> training;
  // (b) The inference-time, text-only durations (the duration predictor, or a text-only actor's
  // greedy ones) scaled to sum to `frames`; empty when the model has none. [tokens]
  std::vector<int64_t> inference;
  // The mel decoded from the unscaled inference durations (what synthesis would produce), frame-major
  // [inference_frames][n_mels]; empty when `inference` is.
  int64_t inference_frames = 0;
  std::vector<float> inference_mel;
  // The mel decoded with the training durations, frame-major [frames][n_mels].
  std::vector<float> training_mel;
  // The mel decoded with the reference durations when the batch has them (same layout), else empty;
  // for ORACLE it is training_mel.
  std::vector<float> reference_mel;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_EVAL_DURATIONS_H_
