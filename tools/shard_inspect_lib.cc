#include "tools/shard_inspect_lib.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "records/manifest_io.h"
#include "records/partition.h"
#include "records/record_io.h"
#include "records/utterance_io.h"

namespace lightspeech::tools {
namespace {

using records::Manifest;
using records::Utterance;

struct ShardStats {
  std::string path;
  std::string split = "-";
  int64_t records = 0;
  int64_t bad = 0;
  int64_t frames = 0;
  double seconds = 0;
  uint64_t bytes = 0;
  int64_t with_alignment = 0;
  int max_symbols = 0;
  int max_frames = 0;
};

struct Target {
  std::string path;
  const records::ShardInfo* info = nullptr;  // from the manifest, when there is one
};

void DumpUtterance(const Utterance& u, const std::string& where, const Manifest* manifest,
                   std::ostream& out) {
  out << "record:          " << where << "\n";
  out << "id:              " << u.id() << "\n";
  out << "speaker:         " << (u.speaker().empty() ? "-" : u.speaker()) << "\n";
  out << "text:            " << u.text() << "\n";
  out << "normalized_text: " << u.normalized_text() << "\n";
  out << "symbol_ids (" << u.symbol_ids_size() << "): " << absl::StrJoin(u.symbol_ids(), " ") << "\n";
  if (manifest != nullptr && manifest->symbols().symbols_size() > 0) {
    std::vector<std::string> syms;
    for (int id : u.symbol_ids()) {
      syms.push_back(id < manifest->symbols().symbols_size() ? absl::StrCat("'", manifest->symbols().symbols(id), "'")
                                                             : absl::StrCat("<", id, "?>"));
    }
    out << "symbols:         " << absl::StrJoin(syms, " ") << "\n";
  }
  out << absl::StrFormat("audio:           %d samples at %d Hz (%.3f s)\n", u.num_samples(),
                         u.sample_rate(), u.sample_rate() > 0 ? double(u.num_samples()) / u.sample_rate() : 0.0);
  out << absl::StrFormat("mel:             [%d frames, %d bins], hop %d\n", u.n_frames(), u.n_mels(),
                         u.hop_length());
  if (u.mel_size() > 0) {
    double sum = 0, sum2 = 0;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float v : u.mel()) {
      sum += v;
      sum2 += double(v) * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double n = u.mel_size();
    const double mean = sum / n;
    out << absl::StrFormat("mel stats:       min %.4f  max %.4f  mean %.4f  std %.4f\n", lo, hi, mean,
                           std::sqrt(std::max(0.0, sum2 / n - mean * mean)));
  }
  if (u.has_alignment()) {
    const auto& a = u.alignment();
    out << absl::StrFormat("alignment:       %d phones, %d words, %d durations (%s)\n", a.phones_size(),
                           a.words_size(), a.durations_size(), a.source());
    std::vector<std::string> words;
    for (const auto& w : a.words()) words.push_back(absl::StrFormat("%s[%d,%d)", w.label(), w.start_frame(), w.end_frame()));
    if (!words.empty()) out << "words:           " << absl::StrJoin(words, " ") << "\n";
  } else {
    out << "alignment:       none\n";
  }
}

}  // namespace

int RunShardInspect(const std::string& path, const ShardInspectOptions& options, std::ostream& out,
                    std::ostream& err) {
  std::vector<Target> targets;
  std::optional<Manifest> manifest;
  if (base::IsDirectory(path)) {
    const std::string manifest_path = absl::StrCat(path, "/", records::kManifestFileName);
    if (base::IsRegularFile(manifest_path)) {
      absl::StatusOr<Manifest> m = records::ReadManifest(manifest_path);
      if (!m.ok()) {
        err << "error: " << m.status().message() << "\n";
        return 1;
      }
      manifest = *std::move(m);
      for (const auto& s : manifest->shards()) targets.push_back({absl::StrCat(path, "/", s.path()), &s});
    } else {
      absl::StatusOr<std::vector<std::string>> names = base::ListDirectory(path);
      if (!names.ok()) {
        err << "error: " << names.status().message() << "\n";
        return 1;
      }
      for (const auto& n : *names) {
        if (absl::EndsWith(n, ".tfrecord")) targets.push_back({absl::StrCat(path, "/", n), nullptr});
      }
      if (targets.empty()) {
        err << "error: " << path << ": no manifest.pbtxt and no *.tfrecord files\n";
        return 1;
      }
    }
  } else if (base::IsRegularFile(path)) {
    targets.push_back({path, nullptr});
  } else {
    err << "error: " << path << ": no such file or folder\n";
    return 1;
  }

  const bool dumping = !options.dump_id.empty() || options.dump_index >= 0;
  bool dumped = false;
  int64_t index = 0;
  int exit_code = 0;
  std::vector<ShardStats> stats;
  for (const Target& t : targets) {
    ShardStats s;
    s.path = t.path;
    if (t.info != nullptr) s.split = std::string(records::SplitName(t.info->split()));
    auto reader = records::RecordReader::Open(t.path);
    if (!reader.ok()) {
      err << "error: " << reader.status().message() << "\n";
      exit_code = 2;
      s.bad = -1;
      stats.push_back(s);
      continue;
    }
    s.bytes = (*reader)->file_size();
    std::string payload;
    Utterance u;
    for (;;) {
      absl::StatusOr<bool> more = (*reader)->Next(&payload);
      if (!more.ok()) {
        ++s.bad;
        err << "bad record: " << more.status().message() << "\n";
        continue;
      }
      if (!*more) break;
      const std::string where = absl::StrCat(t.path, ": record at byte ", (*reader)->last_record_offset());
      if (absl::Status st = records::DecodeUtterance(payload, where, &u); !st.ok()) {
        ++s.bad;
        err << "bad record: " << st.message() << "\n";
        continue;
      }
      ++s.records;
      s.frames += u.n_frames();
      if (u.sample_rate() > 0) s.seconds += double(u.num_samples()) / u.sample_rate();
      s.with_alignment += u.has_alignment();
      s.max_symbols = std::max(s.max_symbols, u.symbol_ids_size());
      s.max_frames = std::max(s.max_frames, u.n_frames());
      if (dumping && !dumped && (u.id() == options.dump_id || index == options.dump_index)) {
        DumpUtterance(u, where, manifest ? &*manifest : nullptr, out);
        dumped = true;
      }
      ++index;
    }
    if (s.bad > 0) exit_code = 2;
    if (t.info != nullptr && s.bad == 0 &&
        (t.info->num_records() != s.records || t.info->num_frames() != s.frames)) {
      err << "mismatch: " << t.path << ": manifest says " << t.info->num_records() << " records, "
          << t.info->num_frames() << " frames; the shard holds " << s.records << " records, "
          << s.frames << " frames\n";
      exit_code = 2;
    }
    stats.push_back(s);
  }

  if (dumping) {
    if (!dumped) {
      err << "error: no record " << (options.dump_id.empty() ? absl::StrCat("at index ", options.dump_index)
                                                               : absl::StrCat("with id '", options.dump_id, "'"))
          << " in " << path << "\n";
      return exit_code == 0 ? 1 : exit_code;
    }
    return exit_code;
  }

  out << absl::StrFormat("%-44s %-10s %8s %6s %10s %9s %10s %7s\n", "shard", "split", "records", "bad",
                         "frames", "hours", "MB", "aligned");
  ShardStats total;
  for (const ShardStats& s : stats) {
    std::string name = s.path.substr(s.path.rfind('/') == std::string::npos ? 0 : s.path.rfind('/') + 1);
    out << absl::StrFormat("%-44s %-10s %8d %6s %10d %9.3f %10.2f %7d\n", name, s.split, s.records,
                           s.bad < 0 ? "unread" : absl::StrCat(s.bad), s.frames, s.seconds / 3600.0,
                           s.bytes / 1e6, s.with_alignment);
    total.records += s.records;
    total.bad += std::max<int64_t>(s.bad, 0);
    total.frames += s.frames;
    total.seconds += s.seconds;
    total.bytes += s.bytes;
    total.with_alignment += s.with_alignment;
    total.max_symbols = std::max(total.max_symbols, s.max_symbols);
    total.max_frames = std::max(total.max_frames, s.max_frames);
  }
  out << absl::StrFormat("%-44s %-10s %8d %6d %10d %9.3f %10.2f %7d\n",
                         absl::StrCat("total (", stats.size(), " shards)"), "", total.records, total.bad,
                         total.frames, total.seconds / 3600.0, total.bytes / 1e6, total.with_alignment);
  out << absl::StrFormat("longest utterance: %d frames; most symbols: %d\n", total.max_frames, total.max_symbols);
  if (manifest) {
    out << absl::StrFormat("manifest: format %d, %d symbols (%s cleaner%s), features %d Hz hop %d n_mels %d\n",
                           manifest->format_version(), manifest->symbols().symbols_size(),
                           manifest->symbols().cleaner().empty() ? "?" : manifest->symbols().cleaner(),
                           manifest->symbols().phonemizer().empty() ? "" : ", " + manifest->symbols().phonemizer(),
                           manifest->features().sample_rate(), manifest->features().hop_length(),
                           manifest->features().n_mels());
  }
  if (options.verify) {
    if (exit_code == 0) {
      out << "verify: OK, " << total.records << " records in " << stats.size()
          << " shard(s), every CRC and record valid\n";
    } else {
      out << "verify: FAILED, " << total.bad << " bad record(s); see the messages above\n";
    }
  }
  return exit_code;
}

}  // namespace lightspeech::tools
