#include "preprocess/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <malloc.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <map>
#include <cmath>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "features/audio.h"
#include "features/log_mel.h"
#include "features/trim.h"
#include "google/protobuf/text_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "preprocess/alignment.h"
#include "preprocess/cleaners.h"
#include "preprocess/metadata.h"
#include "preprocess/phonemizer.h"
#include "preprocess/symbols.h"
#include "preprocess/words.h"
#include "records/manifest_io.h"
#include "records/partition.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::preprocess {
namespace {

// Widens a silence trim so that it keeps the reference's speech: the cut never reaches into the
// first or last non-silent interval (the reference's timing is kept; its edges are a few frames
// wider than an energy threshold's on real recordings).
features::TrimRange KeepReferenceSpeech(const Alignment& alignment, features::TrimRange kept, int sample_rate) {
  const std::optional<std::pair<double, double>> speech = SpeechSpan(alignment);
  if (!speech) return kept;
  kept.begin = std::min<int64_t>(kept.begin, std::max<int64_t>(0, std::floor(speech->first * sample_rate)));
  kept.end = std::max<int64_t>(kept.end, std::ceil(speech->second * sample_rate));
  return kept;
}

using Clock = std::chrono::steady_clock;
using records::Manifest;
using records::ShardInfo;

constexpr char kPlanFile[] = "plan.pbtxt";
constexpr char kStatsSuffix[] = ".stats.pbtxt";
// Per-shard longest symbol duration (one integer), written before the stats sidecar when the records
// carry durations; ShardInfo has no field for it.
constexpr const char* kAlignmentExtensions[] = {".TextGrid", ".textgrid", ".lab"};
constexpr const char* kAudioExtensions[] = {".wav", ".flac", ".ogg", ".WAV", ".FLAC"};
constexpr float kSilencePeak = 1e-4f;  // a clip whose peak is below this is "silent"

struct PlannedShard {
  std::string name;
  records::Split split;
  std::vector<const MetadataEntry*> entries;
  std::vector<std::string> cleaned;  // normalized text per entry
  std::vector<std::vector<std::string>> phones;  // per entry, when a phonemizer is used
};

// Serialized logging from worker threads.
class Log {
 public:
  Log(std::ostream& out, bool progress) : out_(out), progress_(progress && ::isatty(2)) {}
  void Line(const std::string& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (progress_shown_) out_ << "\r\033[K";
    out_ << s << "\n";
    progress_shown_ = false;
  }
  void Progress(int64_t done, int64_t total, double audio_s, double elapsed_s) {
    if (!progress_) return;
    std::lock_guard<std::mutex> lock(mu_);
    const double frac = total > 0 ? double(done) / total : 1.0;
    const int width = 30, filled = static_cast<int>(frac * width);
    const double rate = elapsed_s > 0 ? done / elapsed_s : 0;
    const double eta = rate > 0 ? (total - done) / rate : 0;
    out_ << absl::StrFormat("\r\033[K[%s%s] %3.0f%% %d/%d utts | %.1f utt/s | %.0fx real time | ETA %d:%02d",
                            std::string(filled, '#'), std::string(width - filled, '.'), 100 * frac, done,
                            total, rate, elapsed_s > 0 ? audio_s / elapsed_s : 0.0,
                            static_cast<int>(eta) / 60, static_cast<int>(eta) % 60)
         << std::flush;
    progress_shown_ = true;
  }
  void EndProgress() {
    std::lock_guard<std::mutex> lock(mu_);
    if (progress_shown_) out_ << "\n";
    progress_shown_ = false;
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
  bool progress_;
  bool progress_shown_ = false;
};

std::string FindAlignment(const std::string& dir, const std::string& id) {
  for (const char* ext : kAlignmentExtensions) {
    std::string p = absl::StrCat(dir, "/", id, ext);
    if (base::IsRegularFile(p)) return p;
  }
  return "";
}

uint32_t Le32(const unsigned char* b) { return b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24; }

// Samples per channel the file's header promises, or -1 when unknown (libsndfile cannot open it, or
// a streamed WAV with no size). For RIFF/WAVE the data chunk's declared size is used, because
// libsndfile silently shortens a WAV whose data chunk runs past the end of the file.
int64_t DeclaredFrames(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return -1;
  sf_close(f);
  int64_t frames = info.frames;
  if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV) return frames;
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (fp == nullptr) return frames;
  unsigned char head[12], chunk[8], fmt[16];
  uint32_t block_align = 0;
  if (std::fread(head, 1, 12, fp) == 12 && std::memcmp(head, "RIFF", 4) == 0) {
    while (std::fread(chunk, 1, 8, fp) == 8) {
      const uint32_t size = Le32(chunk + 4);
      if (std::memcmp(chunk, "fmt ", 4) == 0 && size >= 16 && std::fread(fmt, 1, 16, fp) == 16) {
        block_align = fmt[12] | fmt[13] << 8;
        if (std::fseek(fp, static_cast<long>(size - 16 + (size & 1)), SEEK_CUR) != 0) break;
      } else if (std::memcmp(chunk, "data", 4) == 0) {
        if (block_align > 0 && size != 0xFFFFFFFFu) frames = size / block_align;
        break;
      } else if (std::fseek(fp, static_cast<long>(size + (size & 1)), SEEK_CUR) != 0) {
        break;
      }
    }
  }
  std::fclose(fp);
  return frames;
}

// "read audio 'PATH': what" -> "what" (the caller prints the path once).
std::string WithoutPathPrefix(absl::string_view message, const std::string& path) {
  const std::string prefix = absl::StrCat("read audio '", path, "': ");
  if (absl::StartsWith(message, prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

absl::StatusOr<ShardInfo> ReadStats(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path));
  ShardInfo info;
  if (!google::protobuf::TextFormat::ParseFromString(text, &info)) {
    return absl::DataLossError(absl::StrCat(path, ": unreadable shard stats"));
  }
  return info;
}

// Each word's pronunciations in the alignments: phones -> (times seen, order first seen).
using Pronunciations = std::map<std::string, std::map<std::vector<std::string>, std::pair<int64_t, int64_t>>>;

// The lexicon a table of alignment phones carries: each word with its most frequent phones (ties:
// the first seen), sorted by word.
void AddLexicon(const Pronunciations& seen, records::SymbolTable* table) {
  for (const auto& [word, variants] : seen) {
    const std::vector<std::string>* best = nullptr;
    std::pair<int64_t, int64_t> best_rank{0, 0};
    for (const auto& [phones, rank] : variants) {
      if (best == nullptr || rank.first > best_rank.first || (rank.first == best_rank.first && rank.second < best_rank.second)) {
        best = &phones;
        best_rank = rank;
      }
    }
    records::LexiconEntry* e = table->add_lexicon();
    e->set_word(word);
    for (const std::string& p : *best) e->add_phones(p);
  }
}

Manifest MakePlanManifest(const PipelineOptions& o, const SymbolTable& table, CleanerKind cleaner) {
  Manifest m;
  m.set_format_version(records::kManifestFormatVersion);
  m.set_corpus(o.dataset);
  m.set_created_by("//preprocess");
  m.set_val_fraction(o.val_fraction);
  auto* f = m.mutable_features();
  f->set_sample_rate(o.sample_rate);
  f->set_n_fft(o.n_fft);
  f->set_hop_length(o.hop_length);
  f->set_win_length(o.win_length);
  f->set_n_mels(o.n_mels);
  f->set_fmin(o.fmin);
  f->set_fmax(o.fmax);
  f->set_window("hann_periodic");
  f->set_mel_scale("slaney");
  f->set_mel_norm("slaney");
  f->set_log_floor(1e-5f);
  f->set_center(true);
  f->set_trim_silence_db(static_cast<float>(o.trim_silence_db));
  auto* s = m.mutable_symbols();
  for (const auto& sym : table.symbols()) s->add_symbols(sym);
  s->set_cleaner(std::string(CleanerName(cleaner)));
  s->set_phonemizer(o.phonemizer);
  s->set_pad_id(SymbolTable::pad_id());
  return m;
}

features::LogMelOptions MelOptions(const PipelineOptions& o) {
  features::LogMelOptions mel;
  mel.sample_rate = o.sample_rate;
  mel.n_fft = o.n_fft;
  mel.hop_length = o.hop_length;
  mel.win_length = o.win_length;
  mel.n_mels = o.n_mels;
  mel.f_min = o.fmin;
  mel.f_max = o.fmax;
  return mel;
}

}  // namespace

absl::Status PipelineOptions::Validate() const {
  if (dataset.empty()) return absl::InvalidArgumentError("--dataset is empty");
  if (out.empty()) return absl::InvalidArgumentError("--out is empty");
  if (num_shards < 0) return absl::InvalidArgumentError("--num_shards must be >= 0");
  if (!(val_fraction >= 0 && val_fraction < 1)) return absl::InvalidArgumentError("--val_fraction must be in [0, 1)");
  if (threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  if (num_workers < 1 || worker_index < 0 || worker_index >= num_workers) {
    return absl::InvalidArgumentError(
        absl::StrCat("--worker_index must be in [0, --num_workers) (got ", worker_index, " of ", num_workers, ")"));
  }
  if (!(max_seconds > 0)) return absl::InvalidArgumentError("--max_seconds must be > 0");
  if (!(trim_silence_db >= 0)) return absl::InvalidArgumentError("--trim_silence_db must be >= 0 (0: off)");
  if (alignment_tolerance_frames < 0) {
    return absl::InvalidArgumentError("--alignment_tolerance_frames must be >= 0");
  }
  if (!alignments.empty() && !base::IsDirectory(alignments)) {
    return absl::InvalidArgumentError(absl::StrCat("--alignments: ", alignments, ": not a folder"));
  }
  if (!phonemizer.empty() && !absl::StartsWith(phonemizer, "espeak:") && phonemizer != "alignment") {
    return absl::InvalidArgumentError(
        absl::StrCat("--phonemizer: expected 'espeak:VOICE' or 'alignment', got '", phonemizer, "'"));
  }
  if (phonemizer == "alignment" && alignments.empty()) {
    return absl::InvalidArgumentError("--phonemizer=alignment takes the phones of --alignments, which is not set");
  }
  LS_RETURN_IF_ERROR(ParseCleanerKind(cleaner).status());
  return MelOptions(*this).Validate();
}

std::string FindAudio(const std::string& dataset, const std::string& id) {
  for (const char* ext : kAudioExtensions) {
    std::string p = absl::StrCat(dataset, "/wavs/", id, ext);
    if (base::IsRegularFile(p)) return p;
  }
  return "";
}

absl::StatusOr<PipelineSummary> RunPipeline(const PipelineOptions& o, std::ostream& log_stream) {
  LS_RETURN_IF_ERROR(o.Validate());
  const auto start = Clock::now();
  Log log(log_stream, o.progress);
  PipelineSummary summary;

  // 1. Metadata and text: identical on every worker, so all derive the same plan and symbol table.
  if (!base::IsDirectory(o.dataset)) {
    return absl::NotFoundError(absl::StrCat(o.dataset, ": dataset folder not found"));
  }
  LS_ASSIGN_OR_RETURN(Metadata metadata, ReadMetadata(absl::StrCat(o.dataset, "/metadata.csv")));
  for (const auto& p : metadata.problems) {
    log.Line(p.message);
    ++summary.skipped[p.reason];
  }
  const CleanerKind kind = *ParseCleanerKind(o.cleaner);
  LS_ASSIGN_OR_RETURN(std::unique_ptr<TextCleaner> cleaner, TextCleaner::Create(kind));
  const bool alignment_phones = o.phonemizer == "alignment";
  Pronunciations pronunciations;
  int64_t words_seen = 0;
  std::unique_ptr<Phonemizer> phonemizer;
  if (!o.phonemizer.empty() && !alignment_phones) {
    LS_ASSIGN_OR_RETURN(phonemizer, Phonemizer::Create(o.phonemizer));
  }
  std::vector<const MetadataEntry*> usable;
  std::vector<std::string> cleaned;
  std::vector<std::vector<std::string>> phones;
  for (const auto& e : metadata.entries) {
    absl::StatusOr<std::string> c = cleaner->Clean(e.normalized_text);
    if (!c.ok()) {
      log.Line(absl::StrCat(o.dataset, "/metadata.csv:", e.line, ": ", c.status().message(), " (id '", e.id, "')"));
      ++summary.skipped["empty_text"];
      continue;
    }
    if (phonemizer != nullptr) {
      // espeak-ng reads case and punctuation ("I will" and "i will" differ), so it gets the metadata's
      // normalized text as written, exactly what tools:make_corpus synthesized, not the cleaner's output.
      absl::StatusOr<std::vector<std::string>> p = phonemizer->Phonemize(e.normalized_text);
      if (p.ok() && p->empty()) p = absl::InvalidArgumentError("no phones");
      if (!p.ok()) {
        log.Line(absl::StrCat(o.dataset, "/metadata.csv:", e.line, ": phonemizer: ", p.status().message(),
                              " (id '", e.id, "')"));
        ++summary.skipped["phonemizer"];
        continue;
      }
      phones.push_back(*std::move(p));
    } else if (alignment_phones) {
      // The symbols are the reference's own phones; its problems are reported here, once.
      const std::string path = FindAlignment(o.alignments, e.id);
      if (path.empty()) {
        log.Line(absl::StrCat(o.alignments, "/", e.id, ".TextGrid: missing alignment (looked for .TextGrid, .lab)"));
        ++summary.skipped["missing_alignment"];
        continue;
      }
      absl::StatusOr<Alignment> a = ReadAlignmentFile(path);
      absl::Status checked = a.ok() ? CheckWords(*a, e.normalized_text) : a.status();
      absl::StatusOr<std::vector<WordPhones>> words =
          checked.ok() ? AlignmentWordPhones(*a, kWordSeparator) : absl::StatusOr<std::vector<WordPhones>>(checked);
      if (!words.ok()) {
        log.Line(std::string(words.status().message()));
        ++summary.skipped["bad_alignment"];
        continue;
      }
      std::vector<std::string> p;
      for (const WordPhones& w : *words) {
        if (!p.empty()) p.push_back(kWordSeparator);
        p.insert(p.end(), w.phones.begin(), w.phones.end());
        const std::string key = LexiconKey(w.word);
        if (key.empty()) continue;
        auto [it, added] = pronunciations[key].try_emplace(w.phones, std::make_pair(int64_t{0}, words_seen));
        ++it->second.first;
        ++words_seen;
      }
      phones.push_back(std::move(p));
    }
    usable.push_back(&e);
    cleaned.push_back(*std::move(c));
  }
  if (usable.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(o.dataset, "/metadata.csv: no usable utterances"));
  }
  // Phones: <pad>, the word separator, then every phone of the whole metadata in byte order, so
  // every worker derives the same table.
  absl::StatusOr<SymbolTable> table_or = SymbolTable::English();
  if (phonemizer != nullptr || alignment_phones) {
    std::set<std::string> inventory;
    for (const auto& p : phones) inventory.insert(p.begin(), p.end());
    inventory.erase(kWordSeparator);
    std::vector<std::string> list = {SymbolTable::kPad, kWordSeparator};
    list.insert(list.end(), inventory.begin(), inventory.end());
    table_or = SymbolTable::FromList(std::move(list));
  } else if (kind != CleanerKind::kEnglish) {
    table_or = SymbolTable::FromTexts(cleaned);
  }
  LS_ASSIGN_OR_RETURN(const SymbolTable table, std::move(table_or));

  // 2. Plan: utterance -> split -> shard, pure functions of the id.
  const int num_train = o.num_shards > 0 ? o.num_shards
                                         : std::max<int>(o.threads, static_cast<int>(usable.size() / 500));
  const int num_val = o.val_fraction > 0 ? std::max(1, static_cast<int>(std::ceil(num_train * o.val_fraction))) : 0;
  std::vector<PlannedShard> shards;
  for (int i = 0; i < num_train; ++i) shards.push_back({records::ShardFileName(records::TRAIN, i, num_train), records::TRAIN, {}, {}});
  for (int i = 0; i < num_val; ++i) shards.push_back({records::ShardFileName(records::VALIDATION, i, num_val), records::VALIDATION, {}, {}});
  for (size_t k = 0; k < usable.size(); ++k) {
    const std::string& id = usable[k]->id;
    const records::Split split = num_val > 0 ? records::SplitForId(id, o.val_fraction) : records::TRAIN;
    const int index = split == records::TRAIN ? records::ShardForId(id, num_train) : num_train + records::ShardForId(id, num_val);
    shards[index].entries.push_back(usable[k]);
    shards[index].cleaned.push_back(cleaned[k]);
    if (phonemizer != nullptr || alignment_phones) shards[index].phones.push_back(phones[k]);
  }

  // 3. Output folder and the plan every worker agrees on.
  if (::mkdir(o.out.c_str(), 0755) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(o.out, "cannot create output folder", errno);
  }
  if (!base::IsDirectory(o.out)) return absl::InvalidArgumentError(absl::StrCat(o.out, ": not a folder"));
  Manifest plan = MakePlanManifest(o, table, kind);
  if (alignment_phones) AddLexicon(pronunciations, plan.mutable_symbols());
  {
    std::string text;
    google::protobuf::TextFormat::PrintToString(plan, &text);
    LS_RETURN_IF_ERROR(base::WriteFileAtomically(absl::StrCat(o.out, "/", kPlanFile), text));
  }

  // 4. This worker's shards, skipping completed ones (file + stats sidecar).
  std::vector<int> todo;
  int64_t total_utts = 0;
  for (int g = 0; g < static_cast<int>(shards.size()); ++g) {
    if (g % o.num_workers != o.worker_index) continue;
    const std::string path = absl::StrCat(o.out, "/", shards[g].name);
    const std::string stats = path + kStatsSuffix;
    if (base::IsRegularFile(path) && base::IsRegularFile(stats)) {
      absl::StatusOr<ShardInfo> info = ReadStats(stats);
      if (info.ok() && info->path() == shards[g].name) {
        ++summary.shards_resumed;
        summary.resumed_utterances += info->num_records();
        summary.max_token_frames = std::max<int64_t>(summary.max_token_frames, info->max_token_frames());
        continue;
      }
    }
    ::unlink(stats.c_str());  // a shard without valid stats is redone from scratch
    todo.push_back(g);
    total_utts += static_cast<int64_t>(shards[g].entries.size());
  }

  LS_ASSIGN_OR_RETURN(features::LogMel log_mel, features::LogMel::Create(MelOptions(o)));

  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex mu;  // guards summary and first_error
  absl::Status first_error;
  double audio_seconds_total = 0;
  FrameOptions frame_options;
  frame_options.sample_rate = o.sample_rate;
  frame_options.hop = o.hop_length;
  frame_options.tolerance_frames = o.alignment_tolerance_frames;
  auto worker = [&]() {
    records::Utterance u;
    std::string payload;
    std::vector<float> mel;
    for (;;) {
      const size_t t = next.fetch_add(1);
      if (t >= todo.size()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error.ok()) return;
      }
      const PlannedShard& shard = shards[todo[t]];
      const std::string path = absl::StrCat(o.out, "/", shard.name);
      absl::StatusOr<std::unique_ptr<records::ShardWriter>> writer = records::ShardWriter::Create(path);
      absl::Status status = writer.status();
      ShardInfo info;
      info.set_path(shard.name);
      info.set_split(shard.split);
      std::map<std::string, int64_t> skipped;
      double seconds_skipped = 0;
      int64_t max_token_frames = 0;
      for (size_t k = 0; k < shard.entries.size() && status.ok(); ++k) {
        const MetadataEntry& e = *shard.entries[k];
        auto skip = [&](const std::string& reason, const std::string& message, double seconds = 0) {
          log.Line(message);
          ++skipped[reason];
          seconds_skipped += seconds;
        };
        const std::string audio_path = FindAudio(o.dataset, e.id);
        done.fetch_add(1);
        if (audio_path.empty()) {
          skip("missing_audio", absl::StrCat(o.dataset, "/wavs/", e.id, ".wav: missing audio (line ", e.line,
                                             " of metadata.csv; looked for .wav, .flac, .ogg)"));
          continue;
        }
        const int64_t declared = DeclaredFrames(audio_path);
        if (declared == 0) {
          skip("empty_audio", absl::StrCat(audio_path, ": empty clip (0 samples)"));
          continue;
        }
        absl::StatusOr<features::Audio> audio = features::ReadAudio(audio_path, o.sample_rate);
        if (!audio.ok()) {
          skip("unreadable_audio",
               absl::StrCat(audio_path, ": ", WithoutPathPrefix(audio.status().message(), audio_path)));
          continue;
        }
        const double seconds = double(audio->samples.size()) / o.sample_rate;
        if (declared > audio->stats.source_frames) {
          skip("truncated_audio",
               absl::StrCat(audio_path, ": truncated: the header declares ", declared,
                            " samples but the file holds ", audio->stats.source_frames),
               seconds);
          continue;
        }
        if (audio->stats.non_finite > 0) {
          skip("non_finite_audio", absl::StrCat(audio_path, ": ", audio->stats.non_finite, " NaN/Inf samples"),
               seconds);
          continue;
        }
        if (seconds > o.max_seconds) {
          skip("too_long", absl::StrFormat("%s: %.2f s is longer than --max_seconds=%g", audio_path, seconds, o.max_seconds),
               seconds);
          continue;
        }
        if (audio->samples.empty() || audio->stats.peak < kSilencePeak) {
          skip("silent_audio", absl::StrFormat("%s: silent clip (peak %.2g)", audio_path, audio->stats.peak),
               seconds);
          continue;
        }
        // The reference alignment, read before the log-mel so that trimming can respect it.
        std::string alignment_path;
        absl::StatusOr<Alignment> alignment = absl::NotFoundError("no alignments");
        if (!o.alignments.empty()) {
          alignment_path = FindAlignment(o.alignments, e.id);
          if (alignment_path.empty()) {
            skip("missing_alignment", absl::StrCat(o.alignments, "/", e.id,
                                                   ".TextGrid: missing alignment (looked for .TextGrid, .lab)"),
                 seconds);
            continue;
          }
          alignment = ReadAlignmentFile(alignment_path);
        }
        if (o.trim_silence_db > 0) {
          absl::StatusOr<features::TrimRange> kept =
              features::FindSilenceTrim(audio->samples, o.trim_silence_db, o.win_length, o.hop_length);
          if (!kept.ok()) {
            skip("unreadable_audio", absl::StrCat(audio_path, ": ", kept.status().message()));
            continue;
          }
          if (alignment.ok()) *kept = KeepReferenceSpeech(*alignment, *kept, o.sample_rate);
          kept->end = std::min<int64_t>(kept->end, audio->samples.size());
          kept->begin = std::min(kept->begin, kept->end);
          if (kept->begin > 0 || kept->end < static_cast<int64_t>(audio->samples.size())) {
            audio->samples.erase(audio->samples.begin() + kept->end, audio->samples.end());
            audio->samples.erase(audio->samples.begin(), audio->samples.begin() + kept->begin);
            if (alignment.ok()) {
              *alignment = ShiftAlignment(*alignment, double(kept->begin) / o.sample_rate,
                                          double(audio->samples.size()) / o.sample_rate);
            }
          }
        }
        if (auto s = log_mel.Compute(audio->samples, &mel); !s.ok()) {
          skip("unreadable_audio", absl::StrCat(audio_path, ": ", s.message()));
          continue;
        }
        const int64_t n_frames = static_cast<int64_t>(mel.size() / o.n_mels);
        u.Clear();
        if (!o.alignments.empty()) {
          absl::StatusOr<FrameAlignment> frames =
              alignment.ok() ? ToFrames(*alignment, n_frames, frame_options) : alignment.status();
          absl::Status checked = frames.ok() ? CheckWords(*alignment, e.normalized_text) : frames.status();
          absl::StatusOr<std::vector<int64_t>> durations = std::vector<int64_t>{};
          if (checked.ok() && !shard.phones.empty()) {
            durations = SymbolDurations(*frames, shard.phones[k], kWordSeparator, alignment_path);
            checked = durations.status();
          }
          if (!checked.ok()) {
            skip("bad_alignment", std::string(checked.message()), seconds);
            continue;
          }
          records::ReferenceAlignment* ra = u.mutable_alignment();
          ra->set_source(alignment_path);
          for (const FrameInterval& iv : frames->phones) {
            records::Interval* r = ra->add_phones();
            r->set_start_frame(static_cast<int32_t>(iv.start));
            r->set_end_frame(static_cast<int32_t>(iv.end));
            r->set_label(iv.label);
          }
          for (const FrameInterval& iv : frames->words) {
            records::Interval* r = ra->add_words();
            r->set_start_frame(static_cast<int32_t>(iv.start));
            r->set_end_frame(static_cast<int32_t>(iv.end));
            r->set_label(iv.label);
          }
          for (int64_t d : *durations) {
            ra->add_durations(static_cast<int32_t>(d));
            max_token_frames = std::max(max_token_frames, d);
          }
        }
        u.set_format_version(records::kUtteranceFormatVersion);
        u.set_id(e.id);
        u.set_text(e.text);
        if (shard.phones.empty()) {
          u.set_normalized_text(shard.cleaned[k]);
          for (int id : table.Encode(shard.cleaned[k], nullptr)) u.add_symbol_ids(id);
        } else {
          u.set_normalized_text(absl::StrJoin(shard.phones[k], " "));
          for (const std::string& p : shard.phones[k]) u.add_symbol_ids(table.Find(p));
        }
        u.set_sample_rate(o.sample_rate);
        u.set_hop_length(o.hop_length);
        u.set_n_mels(o.n_mels);
        u.set_n_frames(static_cast<int>(n_frames));
        u.set_num_samples(static_cast<int64_t>(audio->samples.size()));
        u.mutable_mel()->Add(mel.begin(), mel.end());
        status = records::EncodeUtterance(u, &payload);
        if (status.ok()) status = (*writer)->Write(payload);
        if (!status.ok()) break;
        info.set_num_records(info.num_records() + 1);
        info.set_num_frames(info.num_frames() + u.n_frames());
        info.set_seconds(info.seconds() + seconds);
        info.set_max_symbols(std::max(info.max_symbols(), u.symbol_ids_size()));
        std::lock_guard<std::mutex> lock(mu);
        audio_seconds_total += seconds;
        log.Progress(done.load(), total_utts, audio_seconds_total,
                     std::chrono::duration<double>(Clock::now() - start).count());
      }
      if (status.ok()) {
        info.set_num_bytes((*writer)->num_bytes());
        status = (*writer)->Finish();
      }
      info.set_max_token_frames(static_cast<int32_t>(max_token_frames));
      if (status.ok()) {
        std::string text;
        google::protobuf::TextFormat::PrintToString(info, &text);
        status = base::WriteFileAtomically(path + kStatsSuffix, text);
      }
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [reason, n] : skipped) summary.skipped[reason] += n;
      summary.seconds_skipped += seconds_skipped;
      summary.max_token_frames = std::max(summary.max_token_frames, max_token_frames);
      if (!status.ok()) {
        if (first_error.ok()) first_error = status;
        return;
      }
      ++summary.shards_written;
      summary.utterances += info.num_records();
      summary.seconds_of_audio += info.seconds();
    }
  };
  std::vector<std::thread> pool;
  const int n_threads = std::max(1, std::min<int>(o.threads, static_cast<int>(todo.size())));
  for (int i = 0; i < n_threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  log.EndProgress();
  summary.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!first_error.ok()) return first_error;

  // 5. The manifest, once every shard of every worker is complete.
  absl::Status merged = MergeManifests(o.out, log_stream);
  summary.manifest_written = merged.ok();
  if (!merged.ok() && o.num_workers == 1) return merged;
  int64_t skipped_total = 0;
  for (const auto& [reason, n] : summary.skipped) skipped_total += n;
  if (o.strict && skipped_total > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(skipped_total, " utterance(s) skipped and --strict is set (see the messages above)"));
  }
  return summary;
}

absl::Status MergeManifests(const std::string& out, std::ostream& log) {
  LS_ASSIGN_OR_RETURN(std::string plan_text, base::ReadFile(absl::StrCat(out, "/", kPlanFile)));
  Manifest m;
  if (!google::protobuf::TextFormat::ParseFromString(plan_text, &m)) {
    return absl::DataLossError(absl::StrCat(out, "/", kPlanFile, ": unreadable plan"));
  }
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirectory(out));
  // Expected shard names follow from the plan's shard counts, recorded in the file names themselves:
  // every "*.tfrecord" name tells its total ("-of-N"), so check that each split is complete.
  std::map<std::string, std::pair<int, int>> splits;  // split -> (seen, expected)
  for (const auto& n : names) {
    if (n.size() < 9 || n.compare(n.size() - 9, 9, ".tfrecord") != 0) continue;
    const std::string stats = absl::StrCat(out, "/", n, kStatsSuffix);
    if (!base::IsRegularFile(stats)) {
      return absl::FailedPreconditionError(absl::StrCat(out, "/", n, ": shard has no stats yet (incomplete)"));
    }
    LS_ASSIGN_OR_RETURN(ShardInfo info, ReadStats(stats));
    *m.add_shards() = info;
    const size_t of = n.rfind("-of-");
    const std::string split(records::SplitName(info.split()));
    splits[split].first += 1;
    splits[split].second = std::atoi(n.c_str() + of + 4);
  }
  for (const auto& [split, counts] : splits) {
    if (counts.first != counts.second) {
      return absl::FailedPreconditionError(absl::StrCat(out, ": ", counts.first, " of ", counts.second, " ", split,
                                                        " shards are complete; waiting for the other workers"));
    }
  }
  if (m.shards_size() == 0) return absl::FailedPreconditionError(absl::StrCat(out, ": no complete shards"));
  records::UpdateManifestTotals(&m);
  LS_RETURN_IF_ERROR(records::WriteManifest(out, m));
  log << "wrote " << out << "/" << records::kManifestFileName << " (" << m.shards_size() << " shards, "
      << m.num_records() << " utterances)\n";
  return absl::OkStatus();
}

void KeepLargeBuffersInHeap() {
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

std::string FormatSummary(const PipelineSummary& s) {
  std::string out;
  int64_t skipped = 0;
  for (const auto& [reason, n] : s.skipped) skipped += n;
  absl::StrAppendFormat(&out, "%-28s %12d\n", "utterances written", s.utterances);
  absl::StrAppendFormat(&out, "%-28s %12d\n", "utterances resumed", s.resumed_utterances);
  absl::StrAppendFormat(&out, "%-28s %12.3f\n", "hours of audio (written)", s.seconds_of_audio / 3600);
  absl::StrAppendFormat(&out, "%-28s %12d\n", "skipped", skipped);
  absl::StrAppendFormat(&out, "%-28s %12.3f\n", "hours of audio (skipped)", s.seconds_skipped / 3600);
  for (const auto& [reason, n] : s.skipped) absl::StrAppendFormat(&out, "  %-26s %12d\n", reason, n);
  if (s.max_token_frames > 0) {
    absl::StrAppendFormat(&out, "%-28s %12d\n", "longest symbol (frames)", s.max_token_frames);
  }
  absl::StrAppendFormat(&out, "%-28s %12d\n", "shards written", s.shards_written);
  absl::StrAppendFormat(&out, "%-28s %12d\n", "shards resumed", s.shards_resumed);
  absl::StrAppendFormat(&out, "%-28s %12.2f\n", "wall time (s)", s.wall_seconds);
  absl::StrAppendFormat(&out, "%-28s %12.0f\n", "x real time",
                        s.wall_seconds > 0 ? s.seconds_of_audio / s.wall_seconds : 0.0);
  absl::StrAppendFormat(&out, "%-28s %12s\n", "manifest", s.manifest_written ? "written" : "pending other workers");
  return out;
}

}  // namespace lightspeech::preprocess
