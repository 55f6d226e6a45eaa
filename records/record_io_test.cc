#include "records/record_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightspeech::records {
namespace {

using ::testing::HasSubstr;

std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/", name);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> Payloads() {
  std::vector<std::string> p = {"", "a", "hello world", std::string(1000, 'x')};
  std::string binary;
  for (int i = 0; i < 5000; ++i) binary.push_back(static_cast<char>(i * 131));
  p.push_back(binary);
  return p;
}

std::string WriteShard(const std::string& path, const std::vector<std::string>& payloads) {
  auto w = ShardWriter::Create(path);
  EXPECT_TRUE(w.ok()) << w.status();
  for (const auto& p : payloads) EXPECT_TRUE((*w)->Write(p).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return *base::ReadFile(path);
}

void Overwrite(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

// Reads every record; returns the payloads and the errors seen.
void ReadAll(const std::string& path, std::vector<std::string>* payloads,
             std::vector<std::string>* errors) {
  auto r = RecordReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  std::string payload;
  for (;;) {
    absl::StatusOr<bool> more = (*r)->Next(&payload);
    if (!more.ok()) {
      errors->push_back(std::string(more.status().message()));
      continue;
    }
    if (!*more) break;
    payloads->push_back(payload);
  }
}

TEST(RecordIoTest, RoundTrip) {
  const std::string path = TempPath("roundtrip.tfrecord");
  const auto payloads = Payloads();
  const std::string bytes = WriteShard(path, payloads);
  size_t expected_size = 0;
  for (const auto& p : payloads) expected_size += p.size() + kRecordHeaderBytes + kRecordFooterBytes;
  EXPECT_EQ(bytes.size(), expected_size);
  EXPECT_FALSE(Exists(path + ".partial"));
  std::vector<std::string> got, errors;
  ReadAll(path, &got, &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(got, payloads);
}

// The framing of one small record, byte by byte: length 5 (LE u64), masked CRC of the length bytes,
// payload, masked CRC of the payload. The CRC values were computed with Python:
//   crc32c via the CRC catalogue's reflected 0x82F63B78 table, mask = ((c>>15)|(c<<17))+0xa282ead8.
TEST(RecordIoTest, FramingLayout) {
  std::string framed;
  AppendFramedRecord("hello", &framed);
  ASSERT_EQ(framed.size(), 5 + kRecordHeaderBytes + kRecordFooterBytes);
  EXPECT_EQ(framed.substr(0, 8), std::string("\x05\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(framed.substr(12, 5), "hello");
}

TEST(RecordIoTest, EveryTruncationIsDetectedWithItsOffset) {
  const std::string path = TempPath("truncated.tfrecord");
  const auto payloads = Payloads();
  const std::string bytes = WriteShard(path, payloads);
  // Offsets of record starts.
  std::vector<size_t> starts = {0};
  for (const auto& p : payloads) starts.push_back(starts.back() + p.size() + 16);
  for (size_t len = 1; len < bytes.size(); len += 7) {
    Overwrite(path, bytes.substr(0, len));
    std::vector<std::string> got, errors;
    ReadAll(path, &got, &errors);
    const bool on_boundary = std::find(starts.begin(), starts.end(), len) != starts.end();
    if (on_boundary) {
      EXPECT_TRUE(errors.empty()) << len;
      continue;
    }
    ASSERT_EQ(errors.size(), 1u) << "length " << len;
    // The damaged record is the one that starts at the last boundary <= len.
    const size_t bad = *(std::upper_bound(starts.begin(), starts.end(), len) - 1);
    EXPECT_THAT(errors[0], HasSubstr(absl::StrCat(path, ": record at byte ", bad, ": truncated")));
    EXPECT_EQ(got.size(), static_cast<size_t>(std::find(starts.begin(), starts.end(), bad) - starts.begin()));
  }
}

TEST(RecordIoTest, FlippedPayloadBitIsReportedAndReadingGoesOn) {
  const std::string path = TempPath("flip_payload.tfrecord");
  const auto payloads = Payloads();
  std::string bytes = WriteShard(path, payloads);
  // Record 2 ("hello world") starts after records 0 ("") and 1 ("a").
  const size_t start = 16 + 17;
  bytes[start + 12 + 3] ^= 0x10;
  Overwrite(path, bytes);
  std::vector<std::string> got, errors;
  ReadAll(path, &got, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], absl::StrCat(path, ": record at byte ", start, ": payload CRC mismatch (corrupt data)"));
  EXPECT_EQ(got.size(), payloads.size() - 1);  // all but the damaged one
  EXPECT_EQ(got.back(), payloads.back());
}

TEST(RecordIoTest, ReadRecordAtReadsByOffsetAndChecksBothCrcs) {
  const std::string path = TempPath("read_at.tfrecord");
  const auto payloads = Payloads();
  std::string bytes = WriteShard(path, payloads);
  const size_t start = 16 + 17;  // record 2, "hello world"
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string payload;
  ASSERT_TRUE(ReadRecordAt(fd, path, start, 11, &payload).ok());
  EXPECT_EQ(payload, "hello world");
  // A wrong length (as from a stale index) and a past-the-end offset are reported, not read.
  EXPECT_EQ(ReadRecordAt(fd, path, start, 10, &payload).message(),
            absl::StrCat(path, ": record at byte ", start, ": header differs from the index (corrupt header)"));
  EXPECT_EQ(ReadRecordAt(fd, path, bytes.size() - 4, 11, &payload).message(),
            absl::StrCat(path, ": record at byte ", bytes.size() - 4,
                         ": truncated (the file is shorter than the record)"));
  ::close(fd);
  bytes[start + 12 + 3] ^= 0x10;
  Overwrite(path, bytes);
  fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_EQ(ReadRecordAt(fd, path, start, 11, &payload).message(),
            absl::StrCat(path, ": record at byte ", start, ": payload CRC mismatch (corrupt data)"));
  ::close(fd);
}

TEST(RecordIoTest, FlippedLengthBitStopsReading) {
  const std::string path = TempPath("flip_length.tfrecord");
  const auto payloads = Payloads();
  std::string bytes = WriteShard(path, payloads);
  const size_t start = 16 + 17;
  bytes[start + 1] ^= 0x01;
  Overwrite(path, bytes);
  std::vector<std::string> got, errors;
  ReadAll(path, &got, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], absl::StrCat(path, ": record at byte ", start, ": length CRC mismatch (corrupt header)"));
  EXPECT_EQ(got.size(), 2u);
}

TEST(RecordIoTest, EveryBitFlipIsDetected) {
  const std::string path = TempPath("flip_all.tfrecord");
  const std::vector<std::string> payloads = {"abc", "defgh"};
  const std::string bytes = WriteShard(path, payloads);
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[i] ^= static_cast<char>(1 << bit);
      Overwrite(path, damaged);
      std::vector<std::string> got, errors;
      ReadAll(path, &got, &errors);
      EXPECT_EQ(errors.size(), 1u) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(RecordIoTest, MissingFileNamesThePath) {
  auto r = RecordReader::Open(TempPath("does_not_exist.tfrecord"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("does_not_exist.tfrecord: cannot open"));
}

TEST(RecordIoTest, UnfinishedWriterLeavesNoFinalOrPartialFile) {
  const std::string path = TempPath("unfinished.tfrecord");
  {
    auto w = ShardWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("payload").ok());
    EXPECT_TRUE(Exists(path + ".partial"));
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(path + ".partial"));
}

TEST(RecordIoTest, ReplacingAShardKeepsTheOldOneUntilFinish) {
  const std::string path = TempPath("replace.tfrecord");
  WriteShard(path, {"old"});
  auto w = ShardWriter::Create(path);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("new").ok());
  std::vector<std::string> got, errors;
  ReadAll(path, &got, &errors);
  EXPECT_EQ(got, std::vector<std::string>{"old"});
  ASSERT_TRUE((*w)->Finish().ok());
  got.clear();
  ReadAll(path, &got, &errors);
  EXPECT_EQ(got, std::vector<std::string>{"new"});
}

// A full disk, simulated with a file-size limit: a clear error, no file under the final name, and an
// earlier complete shard untouched.
TEST(RecordIoTest, FileSizeLimitGivesClearErrorAndKeepsEarlierShard) {
  const std::string earlier = TempPath("earlier.tfrecord");
  const std::string earlier_bytes = WriteShard(earlier, {"kept"});
  const std::string path = TempPath("too_big.tfrecord");
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  absl::Status status;
  {
    auto w = ShardWriter::Create(path);
    ASSERT_TRUE(w.ok());
    const std::string big(10000, 'z');
    for (int i = 0; i < 100 && status.ok(); ++i) status = (*w)->Write(big);
    if (status.ok()) status = (*w)->Finish();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("too_big.tfrecord.partial"));
  EXPECT_FALSE(Exists(path));
  EXPECT_EQ(*base::ReadFile(earlier), earlier_bytes);
}

TEST(RecordIoTest, WriteFileAtomicallyReplacesWholeFile) {
  const std::string path = TempPath("atomic.txt");
  ASSERT_TRUE(base::WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(base::WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(*base::ReadFile(path), "second");
  EXPECT_FALSE(Exists(path + ".partial"));
  const absl::Status s = base::WriteFileAtomically(TempPath("no_such_dir/x.txt"), "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

// Symlinks placed in an output folder, under the final name or the ".partial" name, pointing
// outside it: writers never write through them. The ".partial" link is unlinked before the file is
// created (O_EXCL | O_NOFOLLOW), and the rename replaces a link under the final name by the file.
TEST(RecordIoTest, SymlinksInTheOutputFolderAreReplacedNotFollowed) {
  const std::string out = TempPath("links_out"), outside = TempPath("links_outside");
  ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  for (const char* name : {"victim_final", "victim_partial", "victim_shard", "victim_shard_partial"}) {
    ASSERT_TRUE(base::WriteFileAtomically(absl::StrCat(outside, "/", name), "precious").ok());
  }
  ASSERT_EQ(::symlink((outside + "/victim_final").c_str(), (out + "/a.txt").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/victim_partial").c_str(), (out + "/b.txt.partial").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/victim_shard").c_str(), (out + "/s.tfrecord").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/victim_shard_partial").c_str(), (out + "/s.tfrecord.partial").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/new_file").c_str(), (out + "/c.txt.partial").c_str()), 0);  // dangling

  ASSERT_TRUE(base::WriteFileAtomically(out + "/a.txt", "mine").ok());
  ASSERT_TRUE(base::WriteFileAtomically(out + "/b.txt", "mine").ok());
  ASSERT_TRUE(base::WriteFileAtomically(out + "/c.txt", "mine").ok());
  auto w = ShardWriter::Create(out + "/s.tfrecord");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write("record").ok());
  ASSERT_TRUE((*w)->Finish().ok());

  for (const char* name : {"a.txt", "b.txt", "c.txt", "s.tfrecord"}) {
    struct stat st;
    ASSERT_EQ(::lstat(absl::StrCat(out, "/", name).c_str(), &st), 0) << name;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name << " is not a regular file";
  }
  EXPECT_EQ(*base::ReadFile(out + "/a.txt"), "mine");
  EXPECT_EQ(*base::ReadFile(out + "/b.txt"), "mine");
  for (const char* name : {"victim_final", "victim_partial", "victim_shard", "victim_shard_partial"}) {
    EXPECT_EQ(*base::ReadFile(absl::StrCat(outside, "/", name)), "precious") << name;
  }
  EXPECT_FALSE(Exists(outside + "/new_file"));
  EXPECT_FALSE(Exists(out + "/b.txt.partial"));
}

}  // namespace
}  // namespace lightspeech::records
