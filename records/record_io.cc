#include "records/record_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "records/crc32c.h"

namespace lightspeech::records {
namespace {

void PutU64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void PutU32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

void AppendFramedRecord(absl::string_view payload, std::string* out) {
  char header[kRecordHeaderBytes];
  PutU64(payload.size(), header);
  PutU32(MaskCrc(Crc32c(header, 8)), header + 8);
  char footer[kRecordFooterBytes];
  PutU32(MaskCrc(Crc32c(payload)), footer);
  out->append(header, sizeof(header));
  out->append(payload.data(), payload.size());
  out->append(footer, sizeof(footer));
}

// ---------------------------------------------------------------------------------------------
// RecordReader

RecordReader::RecordReader(std::string path, std::FILE* f, uint64_t file_size)
    : path_(std::move(path)), file_(f), file_size_(file_size) {}

RecordReader::~RecordReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<RecordReader>> RecordReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return base::ErrnoStatus(path, "cannot open", errno);
  struct stat st;
  if (::fstat(::fileno(f), &st) != 0) {
    const int err = errno;
    std::fclose(f);
    return base::ErrnoStatus(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    std::fclose(f);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  return std::unique_ptr<RecordReader>(new RecordReader(path, f, static_cast<uint64_t>(st.st_size)));
}

absl::Status RecordReader::Damaged(absl::string_view what) {
  stopped_ = true;
  return absl::DataLossError(absl::StrCat(path_, ": record at byte ", last_offset_, ": ", what));
}

absl::StatusOr<bool> RecordReader::Next(std::string* payload) {
  if (stopped_) return false;
  last_offset_ = offset_;
  char header[kRecordHeaderBytes];
  const size_t got = std::fread(header, 1, sizeof(header), file_);
  if (got == 0 && std::feof(file_)) return false;
  if (got != sizeof(header)) {
    if (std::ferror(file_)) return Damaged(absl::StrCat("read error: ", std::strerror(errno)));
    return Damaged(absl::StrCat("truncated header (", got, " of ", kRecordHeaderBytes, " bytes)"));
  }
  const uint64_t length = GetU64(header);
  if (UnmaskCrc(GetU32(header + 8)) != Crc32c(header, 8)) {
    return Damaged("length CRC mismatch (corrupt header)");
  }
  const uint64_t remaining = file_size_ - offset_ - kRecordHeaderBytes;
  if (length > remaining || remaining - length < kRecordFooterBytes) {
    return Damaged(absl::StrCat("truncated record (length ", length, ", only ", remaining,
                                " bytes left in the file)"));
  }
  payload->resize(length);
  char footer[kRecordFooterBytes];
  if (std::fread(payload->data(), 1, length, file_) != length ||
      std::fread(footer, 1, sizeof(footer), file_) != sizeof(footer)) {
    return Damaged("truncated payload (file shrank while reading?)");
  }
  offset_ += kRecordHeaderBytes + length + kRecordFooterBytes;
  if (UnmaskCrc(GetU32(footer)) != Crc32c(*payload)) {
    // The length was verified, so the next record's position is known: reading may go on.
    return absl::DataLossError(
        absl::StrCat(path_, ": record at byte ", last_offset_, ": payload CRC mismatch (corrupt data)"));
  }
  return true;
}

absl::Status ReadRecordAt(int fd, const std::string& path, uint64_t offset, uint64_t length,
                          std::string* payload) {
  const std::string where = absl::StrCat(path, ": record at byte ", offset);
  std::string buffer(kRecordHeaderBytes + length + kRecordFooterBytes, '\0');
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::pread(fd, buffer.data() + done, buffer.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(where, "read failed", errno);
    if (n == 0) return absl::DataLossError(absl::StrCat(where, ": truncated (the file is shorter than the record)"));
    done += static_cast<size_t>(n);
  }
  const char* p = buffer.data();
  if (UnmaskCrc(GetU32(p + 8)) != Crc32c(p, 8) || GetU64(p) != length) {
    return absl::DataLossError(absl::StrCat(where, ": header differs from the index (corrupt header)"));
  }
  if (UnmaskCrc(GetU32(p + kRecordHeaderBytes + length)) !=
      Crc32c(absl::string_view(p + kRecordHeaderBytes, length))) {
    return absl::DataLossError(absl::StrCat(where, ": payload CRC mismatch (corrupt data)"));
  }
  payload->assign(p + kRecordHeaderBytes, length);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// ShardWriter

ShardWriter::ShardWriter(std::string path, std::string partial_path, std::FILE* f)
    : path_(std::move(path)), partial_path_(std::move(partial_path)), file_(f) {}

ShardWriter::~ShardWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) ::unlink(partial_path_.c_str());
}

absl::StatusOr<std::unique_ptr<ShardWriter>> ShardWriter::Create(const std::string& path) {
  std::string partial = absl::StrCat(path, kPartialSuffix);
  LS_ASSIGN_OR_RETURN(std::FILE* f, base::CreateNewFile(partial));  // never follows a symlink
  return std::unique_ptr<ShardWriter>(new ShardWriter(path, std::move(partial), f));
}

absl::Status ShardWriter::Fail(absl::string_view what, int err) {
  failed_ = true;
  return base::ErrnoStatus(partial_path_, what, err);
}

absl::Status ShardWriter::Write(absl::string_view payload) {
  if (failed_ || finished_) {
    return absl::FailedPreconditionError(absl::StrCat(partial_path_, ": write after ",
                                                      failed_ ? "an error" : "Finish()"));
  }
  buffer_.clear();
  AppendFramedRecord(payload, &buffer_);
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    return Fail("write failed", errno);
  }
  ++num_records_;
  num_bytes_ += buffer_.size();
  return absl::OkStatus();
}

absl::Status ShardWriter::Finish() {
  if (failed_ || finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat(partial_path_, ": Finish() after ", failed_ ? "an error" : "Finish()"));
  }
  if (std::fflush(file_) != 0) return Fail("flush failed", errno);
  if (::fsync(::fileno(file_)) != 0) return Fail("fsync failed", errno);
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return Fail("close failed", errno);
  if (std::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    return Fail(absl::StrCat("cannot rename to ", path_), errno);
  }
  finished_ = true;
  return base::SyncDir(base::DirName(path_));
}

}  // namespace lightspeech::records
