#include "records/synthetic.h"

#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "records/manifest_io.h"
#include "records/partition.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::records {

Utterance MakeSyntheticUtterance(const std::string& id, int n_frames, int n_symbols) {
  constexpr int kMels = 80;
  Utterance u;
  u.set_format_version(kUtteranceFormatVersion);
  u.set_id(id);
  u.set_speaker("synthetic");
  u.set_sample_rate(22050);
  u.set_hop_length(256);
  u.set_n_mels(kMels);
  u.set_n_frames(n_frames);
  u.set_num_samples(static_cast<int64_t>(n_frames - 1) * 256 + 100);
  const uint64_t h = StableIdHash(id);
  std::string text;
  for (int i = 0; i < n_symbols; ++i) {
    const int sym = 1 + static_cast<int>(((h >> (i % 58)) + 7u * i) % 26);
    u.add_symbol_ids(sym);
    text.push_back(static_cast<char>('a' + sym - 1));
  }
  u.set_text(absl::StrCat("Synthetic ", text, "."));
  u.set_normalized_text(text);
  u.mutable_mel()->Reserve(n_frames * kMels);
  for (int t = 0; t < n_frames; ++t) {
    for (int m = 0; m < kMels; ++m) {
      u.add_mel(static_cast<float>(-6.0 + 4.0 * std::sin(0.05 * t + 0.3 * m + (h % 97))));
    }
  }
  // Durations: frames spread evenly over symbols (remainder to the first ones).
  auto* a = u.mutable_alignment();
  a->set_source("synthetic");
  int start = 0;
  for (int i = 0; i < n_symbols; ++i) {
    const int d = n_frames / n_symbols + (i < n_frames % n_symbols ? 1 : 0);
    a->add_durations(d);
    auto* p = a->add_phones();
    p->set_start_frame(start);
    p->set_end_frame(start + d);
    p->set_label(std::string(1, text[i]));
    start += d;
  }
  auto* w = a->add_words();
  w->set_start_frame(0);
  w->set_end_frame(n_frames);
  w->set_label(text);
  return u;
}

absl::StatusOr<Manifest> WriteSyntheticCorpus(const std::string& dir, int num_utterances,
                                              int num_train_shards, double val_fraction) {
  Manifest m;
  m.set_format_version(kManifestFormatVersion);
  m.set_corpus("synthetic");
  m.set_created_by("records::WriteSyntheticCorpus");
  m.set_val_fraction(val_fraction);
  auto* f = m.mutable_features();
  f->set_sample_rate(22050);
  f->set_n_fft(1024);
  f->set_hop_length(256);
  f->set_win_length(1024);
  f->set_n_mels(80);
  f->set_fmin(0);
  f->set_fmax(8000);
  f->set_window("hann_periodic");
  f->set_mel_scale("slaney");
  f->set_mel_norm("slaney");
  f->set_log_floor(1e-5f);
  f->set_center(true);
  m.mutable_symbols()->add_symbols("_");
  for (char c = 'a'; c <= 'z'; ++c) m.mutable_symbols()->add_symbols(std::string(1, c));
  m.mutable_symbols()->set_cleaner("synthetic");

  struct Out {
    std::unique_ptr<ShardWriter> writer;
    ShardInfo info;
  };
  std::vector<Out> outs;
  auto out_for = [&](Split split, int index, int count) -> absl::StatusOr<Out*> {
    const std::string name = ShardFileName(split, index, count);
    for (auto& o : outs) {
      if (o.info.path() == name) return &o;
    }
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> w, ShardWriter::Create(absl::StrCat(dir, "/", name)));
    outs.push_back({std::move(w), ShardInfo()});
    outs.back().info.set_path(name);
    outs.back().info.set_split(split);
    return &outs.back();
  };
  // Create every shard so that empty ones exist too.
  for (int i = 0; i < num_train_shards; ++i) {
    LS_RETURN_IF_ERROR(out_for(TRAIN, i, num_train_shards).status());
  }
  if (val_fraction > 0) {
    LS_RETURN_IF_ERROR(out_for(VALIDATION, 0, 1).status());
  }
  std::string payload;
  for (int i = 0; i < num_utterances; ++i) {
    const std::string id = absl::StrFormat("synth-%04d", i);
    const Utterance u = MakeSyntheticUtterance(id, 40 + (i * 37) % 160, 8 + (i * 11) % 30);
    const Split split = SplitForId(id, val_fraction);
    LS_ASSIGN_OR_RETURN(Out* o, split == TRAIN ? out_for(TRAIN, ShardForId(id, num_train_shards), num_train_shards)
                                               : out_for(VALIDATION, 0, 1));
    LS_RETURN_IF_ERROR(EncodeUtterance(u, &payload));
    LS_RETURN_IF_ERROR(o->writer->Write(payload));
    ShardInfo& info = o->info;
    info.set_num_records(info.num_records() + 1);
    info.set_num_frames(info.num_frames() + u.n_frames());
    info.set_seconds(info.seconds() + double(u.num_samples()) / u.sample_rate());
    info.set_max_symbols(std::max(info.max_symbols(), u.symbol_ids_size()));
  }
  for (auto& o : outs) {
    o.info.set_num_bytes(o.writer->num_bytes());
    LS_RETURN_IF_ERROR(o.writer->Finish());
    *m.add_shards() = o.info;
  }
  UpdateManifestTotals(&m);
  LS_RETURN_IF_ERROR(WriteManifest(dir, m));
  return m;
}

}  // namespace lightspeech::records
