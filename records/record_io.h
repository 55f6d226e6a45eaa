#ifndef LIGHTSPEECH_RECORDS_RECORD_IO_H_
#define LIGHTSPEECH_RECORDS_RECORD_IO_H_

// TFRecord framing, so standard TFRecord readers can open our shards. Each record is
//   uint64 length (little-endian) | uint32 masked CRC32C(length bytes) | payload | uint32 masked CRC32C(payload)
// (masking as in records/crc32c.h).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::records {

inline constexpr size_t kRecordHeaderBytes = 12;  // length + its CRC
inline constexpr size_t kRecordFooterBytes = 4;   // payload CRC

// Appends the framed form of `payload` to `out`.
void AppendFramedRecord(absl::string_view payload, std::string* out);

// Reads the record framed at byte `offset` of the open file `fd` (named `path` in errors), whose
// payload is known to be `length` bytes long (from an earlier sequential pass), with pread, so
// several threads may read one file. Verifies both CRCs and that the header still says `length`.
// Errors are DataLoss "PATH: record at byte OFFSET: <what>" (or the read error, naming the path).
absl::Status ReadRecordAt(int fd, const std::string& path, uint64_t offset, uint64_t length,
                          std::string* payload);

// Reads TFRecord-framed records from one file, verifying both CRCs of every record.
class RecordReader {
 public:
  // Opens `path`. Fails with NotFound / PermissionDenied (naming the path) when it cannot be read.
  static absl::StatusOr<std::unique_ptr<RecordReader>> Open(const std::string& path);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Reads the next record into `*payload`: true on success, false at a clean end of file.
  // A damaged record is a DataLoss error "PATH: record at byte OFFSET: <what>". After a payload CRC
  // mismatch the framing is still trusted, so the reader moves past that record and the caller may
  // keep reading; after any other damage (bad length CRC, truncation) the rest of the file cannot be
  // located and every later call returns false.
  absl::StatusOr<bool> Next(std::string* payload);

  // Byte offset of the record the next call to Next() reads.
  uint64_t offset() const { return offset_; }
  // Byte offset of the record the last call to Next() returned (or failed on).
  uint64_t last_record_offset() const { return last_offset_; }
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  RecordReader(std::string path, std::FILE* f, uint64_t file_size);
  absl::Status Damaged(absl::string_view what);

  std::string path_;
  std::FILE* file_;
  uint64_t file_size_;
  uint64_t offset_ = 0;
  uint64_t last_offset_ = 0;
  bool stopped_ = false;
};

// Writes one shard: records go to "<path>.partial", which Finish() flushes, fsyncs and renames to
// `path`, so a file under the final name is always complete. A writer destroyed before Finish()
// (an error, an exception, a crash) leaves no file under the final name; it removes its partial file
// when it can.
class ShardWriter {
 public:
  // Creates (truncates) "<path>.partial". Fails naming the path when it cannot be created.
  static absl::StatusOr<std::unique_ptr<ShardWriter>> Create(const std::string& path);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends one record. Fails (e.g. disk full) naming the file; the writer is then unusable and
  // Finish() fails too.
  absl::Status Write(absl::string_view payload);

  // Flushes, fsyncs, renames the partial file to the final path and fsyncs the folder.
  absl::Status Finish();

  int64_t num_records() const { return num_records_; }
  uint64_t num_bytes() const { return num_bytes_; }
  const std::string& path() const { return path_; }
  const std::string& partial_path() const { return partial_path_; }

 private:
  ShardWriter(std::string path, std::string partial_path, std::FILE* f);
  absl::Status Fail(absl::string_view what, int err);

  std::string path_;
  std::string partial_path_;
  std::FILE* file_;
  std::string buffer_;
  int64_t num_records_ = 0;
  uint64_t num_bytes_ = 0;
  bool failed_ = false;
  bool finished_ = false;
};

// The suffix of files being written; readers and folder scans ignore such files.
inline constexpr absl::string_view kPartialSuffix = ".partial";

}  // namespace lightspeech::records

#endif  // LIGHTSPEECH_RECORDS_RECORD_IO_H_
