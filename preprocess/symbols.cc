#include "preprocess/symbols.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lightspeech::preprocess {
namespace {

// Decodes one code point's value for sorting; `cp` is valid UTF-8 of one code point.
uint32_t CodePointValue(const std::string& cp) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(cp[i])); };
  switch (cp.size()) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

}  // namespace

std::vector<std::string> SplitCodePoints(absl::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    out.emplace_back(text.substr(i, std::min(len, text.size() - i)));
    i += len;
  }
  return out;
}

SymbolTable::SymbolTable(std::vector<std::string> symbols) : symbols_(std::move(symbols)) {
  for (int i = 0; i < static_cast<int>(symbols_.size()); ++i) index_.emplace(symbols_[i], i);
}

SymbolTable SymbolTable::English() {
  std::vector<std::string> s = {kPad};
  for (const char* p : {" ", "!", "'", "(", ")", ",", "-", ".", ":", ";", "?"}) s.emplace_back(p);
  for (char c = 'a'; c <= 'z'; ++c) s.emplace_back(1, c);
  return SymbolTable(std::move(s));
}

SymbolTable SymbolTable::FromTexts(const std::vector<std::string>& texts) {
  std::set<std::pair<uint32_t, std::string>> seen;
  for (const auto& t : texts) {
    for (auto& cp : SplitCodePoints(t)) seen.emplace(CodePointValue(cp), std::move(cp));
  }
  std::vector<std::string> s = {kPad};
  for (const auto& [value, cp] : seen) s.push_back(cp);
  return SymbolTable(std::move(s));
}

absl::StatusOr<SymbolTable> SymbolTable::FromList(std::vector<std::string> symbols) {
  if (symbols.empty() || symbols[0] != kPad) {
    return absl::InvalidArgumentError(absl::StrCat("symbol table must start with ", kPad));
  }
  std::set<std::string> unique(symbols.begin(), symbols.end());
  if (unique.size() != symbols.size()) return absl::InvalidArgumentError("symbol table has repeated symbols");
  return SymbolTable(std::move(symbols));
}

int SymbolTable::Find(absl::string_view symbol) const {
  auto it = index_.find(std::string(symbol));
  return it == index_.end() ? -1 : it->second;
}

std::vector<int> SymbolTable::Encode(absl::string_view text, std::vector<std::string>* unknown) const {
  std::vector<int> ids;
  ids.reserve(text.size());
  for (const auto& cp : SplitCodePoints(text)) {
    auto it = index_.find(cp);
    if (it != index_.end() && it->second != pad_id()) {
      ids.push_back(it->second);
    } else if (unknown != nullptr && std::find(unknown->begin(), unknown->end(), cp) == unknown->end()) {
      unknown->push_back(cp);
    }
  }
  return ids;
}

}  // namespace lightspeech::preprocess
