#include "train/event_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "records/record_io.h"

namespace lightspeech::train {
namespace {

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// mkdir -p.
absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty() || base::IsDirectory(dir)) return absl::OkStatus();
  const size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    LS_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(dir, "cannot create log folder", errno);
  }
  return absl::OkStatus();
}

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

double WallTime() { return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()); }

}  // namespace

std::string EventFileName(int64_t unix_seconds, const std::string& hostname) {
  return absl::StrCat("events.out.tfevents.", unix_seconds, ".", hostname);
}

EventWriter::EventWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

EventWriter::~EventWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<EventWriter>> EventWriter::Create(const std::string& logdir) {
  LS_RETURN_IF_ERROR(MakeDirs(logdir));
  const std::string base =
      absl::StrCat(logdir, "/", EventFileName(absl::ToUnixSeconds(absl::Now()), HostName()));
  std::string path = base;
  int fd = -1;
  for (int n = 1;; ++n) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) break;
    if (errno != EEXIST || n > 1000)
      return base::ErrnoStatus(path, "cannot create event file", errno);
    path = absl::StrCat(base, ".", n);
  }
  std::unique_ptr<EventWriter> writer(new EventWriter(path, fd));
  tensorboard::Event first;
  first.set_file_version(kEventFileVersion);
  LS_RETURN_IF_ERROR(writer->WriteEvent(first));
  return writer;
}

absl::Status EventWriter::WriteEvent(const tensorboard::Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteLocked(event);
}

absl::Status EventWriter::WriteLocked(const tensorboard::Event& event) {
  if (!failed_.ok()) return failed_;
  std::string payload;
  if (event.wall_time() == 0) {
    tensorboard::Event stamped = event;
    stamped.set_wall_time(WallTime());
    stamped.SerializeToString(&payload);
  } else {
    event.SerializeToString(&payload);
  }
  std::string framed;
  records::AppendFramedRecord(payload, &framed);
  size_t done = 0;
  while (done < framed.size()) {
    const ssize_t n = ::write(fd_, framed.data() + done, framed.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failed_ = base::ErrnoStatus(path_, "cannot write event", errno);
      return failed_;
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::Status EventWriter::AddScalar(const std::string& tag, int64_t step, double value) {
  tensorboard::Event e;
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  return WriteEvent(e);
}

absl::Status EventWriter::AddImagePng(const std::string& tag, int64_t step, const std::string& png,
                                      int width, int height) {
  // Signature, then the IHDR chunk: length, "IHDR", width, height, bit depth, colour type.
  static constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 33 || png.compare(0, 8, kSignature, 8) != 0 || png.compare(12, 4, "IHDR") != 0) {
    return absl::InvalidArgumentError(absl::StrCat("event image ", tag, ": not a PNG file"));
  }
  const uint32_t png_width = BigEndian32(png, 16), png_height = BigEndian32(png, 20);
  if (png_width != uint32_t(width) || png_height != uint32_t(height)) {
    return absl::InvalidArgumentError(absl::StrCat("event image ", tag, ": the PNG is ", png_width,
                                                   "x", png_height, ", not ", width, "x", height));
  }
  int colorspace = 3;
  switch (static_cast<uint8_t>(png[25])) {
    case 0:
      colorspace = 1;
      break;  // grey
    case 4:
      colorspace = 2;
      break;  // grey + alpha
    case 6:
      colorspace = 4;
      break;  // RGBA
    default:
      colorspace = 3;
      break;  // RGB, palette
  }
  tensorboard::Event e;
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  auto* image = v->mutable_image();
  image->set_width(width);
  image->set_height(height);
  image->set_colorspace(colorspace);
  image->set_encoded_image_string(png);
  return WriteEvent(e);
}

absl::Status EventWriter::AddAudioWav(const std::string& tag, int64_t step, const std::string& wav,
                                      int sample_rate, int64_t num_samples) {
  if (wav.size() < 12 || wav.compare(0, 4, "RIFF") != 0 || wav.compare(8, 4, "WAVE") != 0) {
    return absl::InvalidArgumentError(absl::StrCat("event audio ", tag, ": not a WAV file"));
  }
  if (sample_rate <= 0 || num_samples < 0) {
    return absl::InvalidArgumentError(absl::StrCat("event audio ", tag, ": bad sample rate ",
                                                   sample_rate, " or length ", num_samples));
  }
  int64_t channels = 1;
  if (wav.size() >= 24 && wav.compare(12, 4, "fmt ") == 0) {
    channels = uint8_t(wav[22]) | (uint8_t(wav[23]) << 8);
  }
  tensorboard::Event e;
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  auto* audio = v->mutable_audio();
  audio->set_sample_rate(static_cast<float>(sample_rate));
  audio->set_num_channels(channels);
  audio->set_length_frames(num_samples);
  audio->set_encoded_audio_string(wav);
  audio->set_content_type("audio/wav");
  return WriteEvent(e);
}

absl::Status EventWriter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  if (::fsync(fd_) != 0) {
    failed_ = base::ErrnoStatus(path_, "cannot fsync event file", errno);
    return failed_;
  }
  return absl::OkStatus();
}

}  // namespace lightspeech::train
