#include "tools/shard_inspect_lib.h"

#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "records/synthetic.h"

namespace lightspeech::tools {
namespace {

using ::testing::HasSubstr;

class ShardInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/corpus_", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(system(absl::StrCat("rm -rf '", dir_, "' && mkdir -p '", dir_, "'").c_str()), 0);
    auto m = records::WriteSyntheticCorpus(dir_, 20, 2, 0.25);
    ASSERT_TRUE(m.ok()) << m.status().message();
    manifest_ = *m;
  }
  int Run(const std::string& path, const ShardInspectOptions& o) {
    out_.str("");
    err_.str("");
    return RunShardInspect(path, o, out_, err_);
  }
  std::string dir_;
  records::Manifest manifest_;
  std::ostringstream out_, err_;
};

TEST_F(ShardInspectTest, SummaryOfFolderMatchesManifest) {
  ShardInspectOptions o;
  o.verify = true;
  EXPECT_EQ(Run(dir_, o), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("total (3 shards)"));
  EXPECT_THAT(out_.str(), HasSubstr("verify: OK, 20 records in 3 shard(s)"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ShardInspectTest, DumpByIdAndIndex) {
  ShardInspectOptions o;
  o.dump_id = "synth-0003";
  EXPECT_EQ(Run(dir_, o), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("id:              synth-0003"));
  EXPECT_THAT(out_.str(), HasSubstr("mel:             [151 frames, 80 bins]"));
  EXPECT_THAT(out_.str(), HasSubstr("mel stats:"));
  o.dump_id = "";
  o.dump_index = 0;
  EXPECT_EQ(Run(dir_, o), 0);
  EXPECT_THAT(out_.str(), HasSubstr("id:              synth-"));
  o.dump_index = -1;
  o.dump_id = "nope";
  EXPECT_EQ(Run(dir_, o), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no record with id 'nope'"));
}

TEST_F(ShardInspectTest, VerifyNamesShardAndOffsetOfFlippedByte) {
  const std::string shard = absl::StrCat(dir_, "/", manifest_.shards(0).path());
  std::string bytes = *base::ReadFile(shard);
  ASSERT_GT(bytes.size(), 100u);
  bytes[50] ^= 0x04;  // inside the first record's payload
  ASSERT_TRUE(base::WriteFileAtomically(shard, bytes).ok());
  ShardInspectOptions o;
  o.verify = true;
  EXPECT_EQ(Run(dir_, o), 2);
  EXPECT_THAT(err_.str(), HasSubstr(absl::StrCat(shard, ": record at byte 0: payload CRC mismatch")));
  EXPECT_THAT(out_.str(), HasSubstr("verify: FAILED, 1 bad record(s)"));
}

TEST_F(ShardInspectTest, TruncatedShardIsReported) {
  const std::string shard = absl::StrCat(dir_, "/", manifest_.shards(1).path());
  std::string bytes = *base::ReadFile(shard);
  ASSERT_TRUE(base::WriteFileAtomically(shard, bytes.substr(0, bytes.size() - 3)).ok());
  ShardInspectOptions o;
  o.verify = true;
  EXPECT_EQ(Run(shard, o), 2);
  EXPECT_THAT(err_.str(), HasSubstr("truncated record"));
}

TEST_F(ShardInspectTest, ManifestCountMismatchIsReported) {
  records::Manifest m = manifest_;
  m.mutable_shards(0)->set_num_records(m.shards(0).num_records() + 1);
  m.set_num_records(m.num_records() + 1);
  ASSERT_TRUE(base::WriteFileAtomically(absl::StrCat(dir_, "/manifest.pbtxt"), m.DebugString()).ok());
  EXPECT_EQ(Run(dir_, ShardInspectOptions()), 2);
  EXPECT_THAT(err_.str(), HasSubstr("mismatch: "));
}

TEST_F(ShardInspectTest, MissingPathIsUsageError) {
  EXPECT_EQ(Run(absl::StrCat(dir_, "/nothing_here"), ShardInspectOptions()), 1);
  EXPECT_THAT(err_.str(), HasSubstr("nothing_here: no such file or folder"));
}

}  // namespace
}  // namespace lightspeech::tools
