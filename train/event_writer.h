#ifndef LIGHTSPEECH_TRAIN_EVENT_WRITER_H_
#define LIGHTSPEECH_TRAIN_EVENT_WRITER_H_

// TensorBoard event files written from C++: TFRecord-framed (records/record_io) Event protos
// (train/event.proto, wire-compatible with TensorFlow's), one file per writer. No LibTorch here.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/event.pb.h"
#include "train/metrics_sink.h"

namespace lightspeech::train {

// The first event of every file carries this file_version.
inline constexpr char kEventFileVersion[] = "brain.Event:2";

// "events.out.tfevents.<unix_seconds>.<hostname>", the name TensorBoard looks for.
std::string EventFileName(int64_t unix_seconds, const std::string& hostname);

// Writes one event file. Each Add* appends one event to the file right away (the OS holds it even
// if the process dies); Flush() also fsyncs. Thread-safe.
class EventWriter : public MetricsSink {
 public:
  // Creates `logdir` (and missing parents) and in it a new file named by EventFileName(now, host)
  // (with a ".N" suffix if that name is taken), then writes the file_version event. Fails naming
  // the folder or file when either cannot be created or written.
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(const std::string& logdir);
  ~EventWriter() override;
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // A scalar, stored as a float simple_value (as TensorBoard expects).
  absl::Status AddScalar(const std::string& tag, int64_t step, double value) override;
  // A PNG; fails with InvalidArgument when `png` is not a PNG or its header's size differs from
  // width x height. The colour space is taken from the PNG header.
  absl::Status AddImagePng(const std::string& tag, int64_t step, const std::string& png, int width,
                           int height) override;
  // A WAV file; fails with InvalidArgument when `wav` has no RIFF/WAVE header, the rate is not
  // positive or num_samples is negative. The channel count is taken from the header.
  absl::Status AddAudioWav(const std::string& tag, int64_t step, const std::string& wav,
                           int sample_rate, int64_t num_samples) override;
  // fflush + fsync; fails naming the file.
  absl::Status Flush() override;

  // Appends `event` as is (wall_time set to now when it is 0). Fails naming the file; after a write
  // error every later call fails.
  absl::Status WriteEvent(const tensorboard::Event& event);

  const std::string& path() const { return path_; }

 private:
  EventWriter(std::string path, int fd);
  absl::Status WriteLocked(const tensorboard::Event& event);

  std::mutex mu_;
  std::string path_;
  int fd_;
  absl::Status failed_;
};

}  // namespace lightspeech::train

#endif  // LIGHTSPEECH_TRAIN_EVENT_WRITER_H_
