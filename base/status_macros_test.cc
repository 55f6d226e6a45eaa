#include "base/status_macros.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace lightspeech {
namespace {

absl::Status Fails() { return absl::NotFoundError("no such thing"); }
absl::StatusOr<int> Seven() { return 7; }
absl::StatusOr<int> NoInt() { return absl::DataLossError("bad int"); }
absl::StatusOr<std::unique_ptr<std::string>> Text() { return std::make_unique<std::string>("text"); }

absl::Status ReturnIfError(bool fail, int* reached) {
  LS_RETURN_IF_ERROR(fail ? Fails() : absl::OkStatus());
  ++*reached;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorPassesTheStatusOn) {
  int reached = 0;
  EXPECT_TRUE(ReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  const absl::Status s = ReturnIfError(true, &reached);
  EXPECT_EQ(s, absl::NotFoundError("no such thing"));
  EXPECT_EQ(reached, 1);
}

absl::StatusOr<int> Sum(bool fail) {
  LS_ASSIGN_OR_RETURN(const int a, Seven());
  int b = 0;
  LS_ASSIGN_OR_RETURN(b, fail ? NoInt() : Seven());
  LS_ASSIGN_OR_RETURN(std::unique_ptr<std::string> t, Text());  // move-only
  return a + b + static_cast<int>(t->size());
}

TEST(StatusMacrosTest, AssignOrReturnDeclaresOrAssigns) {
  absl::StatusOr<int> ok = Sum(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 18);
  EXPECT_EQ(Sum(true).status(), absl::DataLossError("bad int"));
}

}  // namespace
}  // namespace lightspeech
