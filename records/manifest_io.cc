#include "records/manifest_io.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace lightspeech::records {
namespace {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty()) message_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

void UpdateManifestTotals(Manifest* m) {
  int64_t records = 0, frames = 0;
  int32_t max_token_frames = 0;
  double seconds = 0;
  for (const ShardInfo& s : m->shards()) {
    records += s.num_records();
    frames += s.num_frames();
    seconds += s.seconds();
    max_token_frames = std::max(max_token_frames, s.max_token_frames());
  }
  m->set_max_token_frames(max_token_frames);
  m->set_num_records(records);
  m->set_num_frames(frames);
  m->set_seconds(seconds);
}

absl::Status ValidateManifest(const Manifest& m) {
  if (m.format_version() == 0 || m.format_version() > kManifestFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported manifest format_version ",
                                                   m.format_version(), " (this build reads 1..",
                                                   kManifestFormatVersion, ")"));
  }
  if (!m.has_features() || m.features().sample_rate() <= 0 || m.features().hop_length() <= 0 ||
      m.features().n_mels() <= 0) {
    return absl::InvalidArgumentError("manifest: missing or invalid feature settings");
  }
  std::set<std::string> seen;
  int64_t records = 0, frames = 0;
  for (int i = 0; i < m.shards_size(); ++i) {
    const ShardInfo& s = m.shards(i);
    const std::string who = absl::StrCat("manifest: shard ", i, " ('", s.path(), "'): ");
    if (s.path().empty() || s.path()[0] == '/') {
      return absl::InvalidArgumentError(absl::StrCat(who, "path must be relative and non-empty"));
    }
    for (absl::string_view part : absl::StrSplit(s.path(), '/')) {
      if (part == ".." || part == "." || part.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(who, "path must stay inside the folder"));
      }
    }
    if (!seen.insert(s.path()).second) {
      return absl::InvalidArgumentError(absl::StrCat(who, "listed twice"));
    }
    if (s.split() != TRAIN && s.split() != VALIDATION) {
      return absl::InvalidArgumentError(absl::StrCat(who, "split must be TRAIN or VALIDATION"));
    }
    if (s.num_records() < 0 || s.num_frames() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(who, "negative counts"));
    }
    records += s.num_records();
    frames += s.num_frames();
  }
  if (records != m.num_records() || frames != m.num_frames()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "manifest: totals (", m.num_records(), " records, ", m.num_frames(),
        " frames) differ from the sums over shards (", records, ", ", frames, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Manifest> ReadManifest(const std::string& path) {
  const std::string file = base::IsDirectory(path) ? absl::StrCat(path, "/", kManifestFileName) : path;
  LS_ASSIGN_OR_RETURN(std::string text, base::ReadFile(file));
  Manifest m;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &m)) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", errors.message()));
  }
  if (auto s = ValidateManifest(m); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", s.message()));
  }
  return m;
}

absl::Status WriteManifest(const std::string& dir, const Manifest& m) {
  LS_RETURN_IF_ERROR(ValidateManifest(m));
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(m, &text)) {
    return absl::InternalError("manifest: cannot print as text format");
  }
  const std::string header =
      "# proto-file: records/manifest.proto\n# proto-message: lightspeech.records.Manifest\n";
  return base::WriteFileAtomically(absl::StrCat(dir, "/", kManifestFileName), header + text);
}

}  // namespace lightspeech::records
