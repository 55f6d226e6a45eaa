#include "tools/make_corpus_lib.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "preprocess/alignment.h"
#include "preprocess/espeak_synth.h"
#include "sndfile.h"

namespace lightspeech::tools {
namespace {

namespace fs = std::filesystem;
using preprocess::Alignment;
using preprocess::EspeakOptions;
using preprocess::EspeakUtterance;
using preprocess::Interval;

absl::Status Rename(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat(to.string(), ": cannot rename from ", from.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status WriteTextFile(const fs::path& path, const std::string& contents) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat(tmp.string(), ": cannot write"));
  }
  return Rename(tmp, path);
}

absl::Status WriteAudio(const fs::path& path, const std::vector<int16_t>& samples, int rate,
                        bool flac) {
  const fs::path tmp = path.string() + ".tmp";
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (f == nullptr) {
    return absl::InternalError(
        absl::StrCat(tmp.string(), ": cannot open for writing: ", sf_strerror(nullptr)));
  }
  const sf_count_t n = sf_write_short(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  const int close_error = sf_close(f);
  if (n != static_cast<sf_count_t>(samples.size()) || close_error != 0) {
    return absl::InternalError(absl::StrCat(tmp.string(), ": short write"));
  }
  return Rename(tmp, path);
}

struct Candidate {
  std::string id;
  std::string text;
};

absl::StatusOr<std::vector<Candidate>> ReadCandidates(const MakeCorpusOptions& o,
                                                      CorpusSummary* summary) {
  std::vector<Candidate> out;
  if (o.sentences_file.empty()) {
    LS_ASSIGN_OR_RETURN(std::vector<Verse> verses, ReadKjv(o.kjv_path));
    for (Sentence& s : ExtractSentences(verses, o.min_words, o.max_words)) {
      out.push_back({std::move(s.id), std::move(s.text)});
    }
    return out;
  }
  std::ifstream in(o.sentences_file);
  if (!in) return absl::NotFoundError(absl::StrCat(o.sentences_file, ": cannot open"));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string text(absl::StripAsciiWhitespace(line));
    if (text.empty() || text[0] == '#') continue;
    if (!IsUsableSentence(text, o.min_words, o.max_words)) {
      ++summary->skipped_sentences;
      summary->warnings.push_back(
          absl::StrFormat("%s:%d: skipped: not %d..%d words of letters and , ; : . ? ! ' -",
                          o.sentences_file, n, o.min_words, o.max_words));
      continue;
    }
    out.push_back({absl::StrFormat("line%05d", n), text});
  }
  return out;
}

}  // namespace

std::vector<int> SampleIndices(int n, int k, uint64_t seed) {
  std::vector<int> idx(std::max(n, 0));
  std::iota(idx.begin(), idx.end(), 0);
  if (k <= 0 || k >= n) return idx;
  std::mt19937_64 rng(seed);
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

absl::StatusOr<CorpusSummary> MakeCorpus(const MakeCorpusOptions& o) {
  if (o.out_dir.empty()) return absl::InvalidArgumentError("make_corpus: --out is required");
  if (o.audio_format != "flac" && o.audio_format != "wav") {
    return absl::InvalidArgumentError(
        absl::StrCat("make_corpus: audio format '", o.audio_format, "' is not flac or wav"));
  }
  if (o.min_words < 1 || o.max_words < o.min_words) {
    return absl::InvalidArgumentError(
        absl::StrFormat("make_corpus: word range %d..%d is empty", o.min_words, o.max_words));
  }
  CorpusSummary summary;
  LS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates, ReadCandidates(o, &summary));
  if (candidates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("make_corpus: no usable sentence in ",
                     o.sentences_file.empty() ? o.kjv_path : o.sentences_file));
  }

  const fs::path out(o.out_dir);
  std::error_code ec;
  fs::create_directories(out / "wavs", ec);
  if (!ec) fs::create_directories(out / "textgrids", ec);
  if (ec) return absl::InternalError(absl::StrCat(o.out_dir, ": cannot create: ", ec.message()));
  fs::remove(out / "metadata.csv", ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat(o.out_dir, "/metadata.csv: cannot remove: ", ec.message()));

  EspeakOptions eo;
  eo.voice = o.voice;
  eo.rate_wpm = o.rate_wpm;
  const std::vector<int> chosen =
      SampleIndices(static_cast<int>(candidates.size()), o.max_utterances, o.seed);
  std::string metadata;
  int done = 0;
  for (int i : chosen) {
    const Candidate& c = candidates[i];
    absl::StatusOr<EspeakUtterance> u = preprocess::EspeakSynthesize(c.text, eo);
    if (!u.ok()) {
      if (u.status().code() != absl::StatusCode::kInvalidArgument ||
          absl::StartsWith(u.status().message(), "espeak-ng: unknown voice") ||
          absl::StartsWith(u.status().message(), "espeak-ng: rate")) {
        return u.status();
      }
      ++summary.skipped_synthesis;
      summary.warnings.push_back(absl::StrCat(c.id, ": skipped: ", u.status().message()));
    } else {
      const double sr = u->sample_rate;
      Alignment a;
      a.duration = u->num_samples / sr;
      for (const preprocess::EspeakWord& w : u->words) {
        a.words.push_back(Interval{w.start_sample / sr, w.end_sample / sr, w.label, 0});
      }
      for (const preprocess::EspeakPhone& p : u->phones) {
        a.phones.push_back(
            Interval{p.start_sample / sr, p.end_sample / sr, p.word < 0 ? "" : p.symbol, 0});
      }
      const bool flac = o.audio_format == "flac";
      LS_RETURN_IF_ERROR(WriteAudio(out / "wavs" / (c.id + (flac ? ".flac" : ".wav")), u->samples,
                                    u->sample_rate, flac));
      LS_RETURN_IF_ERROR(WriteTextFile(out / "textgrids" / (c.id + ".TextGrid"),
                                       preprocess::FormatTextGridLong(a)));
      absl::StrAppend(&metadata, c.id, "|", c.text, "|", c.text, "\n");
      ++summary.utterances;
      summary.seconds += a.duration;
    }
    ++done;
    if (o.progress) o.progress(done, static_cast<int>(chosen.size()), summary.seconds);
  }
  if (summary.utterances == 0) {
    return absl::InvalidArgumentError("make_corpus: every chosen sentence was skipped");
  }
  LS_RETURN_IF_ERROR(WriteTextFile(out / "metadata.csv", metadata));
  return summary;
}

}  // namespace lightspeech::tools
