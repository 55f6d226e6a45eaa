#include "preprocess/symbols.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightspeech::preprocess {
namespace {

TEST(SymbolsTest, EnglishTable) {
  const SymbolTable t = SymbolTable::English();
  EXPECT_EQ(t.size(), 38);
  EXPECT_EQ(t.symbols()[0], "<pad>");
  std::vector<std::string> unknown;
  EXPECT_EQ(t.Encode("ab, z", &unknown), (std::vector<int>{12, 13, 6, 1, 37}));
  EXPECT_TRUE(unknown.empty());
  t.Encode("a#b#\xC3\xA9", &unknown);
  EXPECT_EQ(unknown, (std::vector<std::string>{"#", "\xC3\xA9"}));
}

TEST(SymbolsTest, DerivedTableIsOrderIndependent) {
  const SymbolTable a = SymbolTable::FromTexts({"\xC3\xA9t\xC3\xA9", "abc"});
  const SymbolTable b = SymbolTable::FromTexts({"abc", "\xC3\xA9t\xC3\xA9", "cab"});
  EXPECT_EQ(a.symbols(), b.symbols());
  EXPECT_EQ(a.symbols(), (std::vector<std::string>{"<pad>", "a", "b", "c", "t", "\xC3\xA9"}));
  EXPECT_EQ(a.Encode("t\xC3\xA9", nullptr), (std::vector<int>{4, 5}));
}

TEST(SymbolsTest, FromListValidates) {
  EXPECT_TRUE(SymbolTable::FromList({"<pad>", "a"}).ok());
  EXPECT_EQ(SymbolTable::FromList({"a"}).status().message(), "symbol table must start with <pad>");
  EXPECT_EQ(SymbolTable::FromList({"<pad>", "a", "a"}).status().message(), "symbol table has repeated symbols");
}

TEST(SymbolsTest, FindLooksUpWholeSymbols) {
  const SymbolTable t = *SymbolTable::FromList({"<pad>", "|", "aI", "t"});
  EXPECT_EQ(t.Find("aI"), 2);
  EXPECT_EQ(t.Find("|"), 1);
  EXPECT_EQ(t.Find("a"), -1);
}

}  // namespace
}  // namespace lightspeech::preprocess
