#include "train/testing/in_memory_source.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "records/synthetic.h"

namespace lightspeech::train::testing {

HostBatch MakeHostBatch(const std::vector<records::Utterance>& utterances) {
  HostBatch b;
  b.batch_size = static_cast<int64_t>(utterances.size());
  bool all_durations = true;
  for (const records::Utterance& u : utterances) {
    b.max_tokens = std::max<int64_t>(b.max_tokens, u.symbol_ids_size());
    b.max_frames = std::max<int64_t>(b.max_frames, u.n_frames());
    b.n_mels = u.n_mels();
    all_durations = all_durations && u.alignment().durations_size() == u.symbol_ids_size();
  }
  const int64_t B = b.batch_size, N = b.max_tokens, T = b.max_frames, M = b.n_mels;
  b.tokens.assign(B * N, 0);
  b.mel.assign(B * T * M, 0.0f);
  if (all_durations) b.durations.assign(B * N, 0);
  for (int64_t i = 0; i < B; ++i) {
    const records::Utterance& u = utterances[i];
    b.ids.push_back(u.id());
    b.token_lengths.push_back(u.symbol_ids_size());
    b.frame_lengths.push_back(u.n_frames());
    for (int n = 0; n < u.symbol_ids_size(); ++n) {
      b.tokens[i * N + n] = u.symbol_ids(n);
      if (all_durations) b.durations[i * N + n] = u.alignment().durations(n);
    }
    std::copy(u.mel().begin(), u.mel().end(), b.mel.begin() + i * T * M);
    std::vector<WordSpan> words;
    for (const auto& w : u.alignment().words()) words.push_back({w.start_frame(), w.end_frame(), w.label()});
    b.words.push_back(std::move(words));
  }
  return b;
}

std::vector<HostBatch> SyntheticBatches(int num_batches, int batch_size, const std::string& prefix) {
  std::vector<HostBatch> out;
  for (int j = 0; j < num_batches; ++j) {
    std::vector<records::Utterance> utts;
    for (int i = 0; i < batch_size; ++i) {
      const int symbols = 6 + (i + j) % 5;
      const int frames = symbols * 3 + (i * 7 + j * 3) % (symbols + 1);
      utts.push_back(records::MakeSyntheticUtterance(absl::StrCat(prefix, "-", j, "-", i), frames, symbols));
    }
    out.push_back(MakeHostBatch(utts));
  }
  return out;
}

records::SymbolTable SyntheticSymbols() {
  records::SymbolTable t;
  t.add_symbols("<pad>");
  for (char c = 'a'; c <= 'z'; ++c) t.add_symbols(std::string(1, c));
  t.set_cleaner("synthetic");
  t.set_pad_id(0);
  return t;
}

}  // namespace lightspeech::train::testing
