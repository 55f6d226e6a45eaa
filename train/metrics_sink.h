#ifndef LIGHTSPEECH_TRAIN_METRICS_SINK_H_
#define LIGHTSPEECH_TRAIN_METRICS_SINK_H_

// Where the trainer sends what it logs. train/event_writer implements it with TensorBoard event
// files; tests use an in-memory sink. No LibTorch here.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lightspeech::train {

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // A scalar (loss term, reward, learning rate, ...) at a global step.
  virtual absl::Status AddScalar(const std::string& tag, int64_t step, double value) = 0;
  // An image already encoded as PNG, with its size in pixels.
  virtual absl::Status AddImagePng(const std::string& tag, int64_t step, const std::string& png, int width,
                                   int height) = 0;
  // A clip already encoded as a WAV file (16-bit PCM), with its rate and length.
  virtual absl::Status AddAudioWav(const std::string& tag, int64_t step, const std::string& wav, int sample_rate,
                                   int64_t num_samples) = 0;
  // Makes everything added so far durable (written and flushed to the file system).
  virtual absl::Status Flush() = 0;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_METRICS_SINK_H_
