#include "preprocess/phonemizer.h"
#include "gtest/gtest.h"
namespace lightspeech::preprocess {
namespace {
TEST(PhonemizerTest, Placeholder) { EXPECT_TRUE(Phonemizer::Create("espeak:en-us").ok()); }
}  // namespace
}  // namespace lightspeech::preprocess
