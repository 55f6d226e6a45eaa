#include "tools/judge_lib.h"

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "features/audio.h"
#include "features/griffin_lim.h"
#include "inference/synthesizer.h"
#include "preprocess/pipeline.h"
#include "records/manifest_io.h"
#include "records/record_io.h"
#include "records/utterance_io.h"
#include "tools/json_util.h"
#include "tools/synthesize_lib.h"
#include "train/feature_settings.h"

namespace lightspeech::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kAsrRate = 16000;

bool IsEnglish(const records::SymbolTable& symbols) {
  if (!symbols.phonemizer().empty()) return absl::StartsWith(symbols.phonemizer(), "espeak:en");
  return symbols.cleaner() == "english";
}

// Adds one utterance's errors to a row.
void Score(const std::string& text, const std::string& heard, JudgeRow* row) {
  row->words += WordErrors(text, heard);
  row->chars += CharErrors(text, heard);
  ++row->utterances;
}

std::string RowJson(const JudgeRow& r) {
  return absl::StrFormat(R"({"wer": %.6f, "cer": %.6f, "word_errors": %d, "words": %d, "utterances": %d})",
                         r.words.Rate(), r.chars.Rate(), r.words.errors, r.words.reference_length, r.utterances);
}

}  // namespace

absl::StatusOr<JudgeReport> RunJudge(const JudgeOptions& o, std::ostream& log) {
  if (o.checkpoint.empty()) return absl::InvalidArgumentError("--checkpoint is empty");
  if (o.data_dir.empty()) return absl::InvalidArgumentError("--data is empty");
  if (o.max_utterances < 0) return absl::InvalidArgumentError("--max_utterances must be >= 0 (0: all)");
  if (o.griffin_lim_iterations < 1) return absl::InvalidArgumentError("--griffin_lim_iterations must be >= 1");
  LS_ASSIGN_OR_RETURN(records::Manifest manifest, records::ReadManifest(o.data_dir));
  if (!IsEnglish(manifest.symbols())) {
    return absl::FailedPreconditionError(absl::StrCat(
        o.data_dir, ": not an English corpus (cleaner '", manifest.symbols().cleaner(), "', phonemizer '",
        manifest.symbols().phonemizer(), "'); the judge has only an English ASR model (pocketsphinx-en-us), ",
        "so it gives no intelligibility figure for this corpus"));
  }
  inference::SynthesizerOptions so;
  so.threads = o.threads;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<inference::Synthesizer> synth,
                      inference::Synthesizer::Create(o.checkpoint, so));
  // Two vocoders: the checkpoint's feature settings for its voice, the manifest's for the records.
  features::GriffinLimOptions gl;
  gl.iterations = o.griffin_lim_iterations;
  std::string settings_source;
  LS_ASSIGN_OR_RETURN(features::LogMelOptions mel_options,
                      ResolveFeatureSettings("", synth->feature_settings(), synth->config(), synth->n_mels(),
                                             &settings_source));
  LS_ASSIGN_OR_RETURN(features::GriffinLim vocoder, features::GriffinLim::Create(mel_options, gl));
  LS_ASSIGN_OR_RETURN(features::LogMelOptions record_mel_options,
                      train::LogMelOptionsFromSettings(manifest.features(), manifest.features().n_mels()));
  LS_ASSIGN_OR_RETURN(features::GriffinLim record_vocoder, features::GriffinLim::Create(record_mel_options, gl));
  const int rate = mel_options.sample_rate, record_rate = manifest.features().sample_rate();
  LS_ASSIGN_OR_RETURN(std::unique_ptr<SpeechRecognizer> asr, SpeechRecognizer::Create(o.asr_model_dir));
  const std::string recordings = o.recordings_dir.empty() ? manifest.corpus() : o.recordings_dir;

  JudgeReport report;
  report.checkpoint = o.checkpoint;
  report.method = train::TrainConfig::Aligner_Name(synth->config().aligner());
  auto hear = [&](const std::vector<float>& audio, int in_rate) -> absl::StatusOr<std::string> {
    LS_ASSIGN_OR_RETURN(std::vector<float> at16, in_rate == kAsrRate ? absl::StatusOr<std::vector<float>>(audio)
                                                                      : features::Resample(audio, in_rate, kAsrRate));
    const auto t = Clock::now();
    absl::StatusOr<std::string> words = asr->Recognize(at16);
    report.asr_seconds += Since(t);
    return words;
  };

  int judged = 0;
  for (const records::ShardInfo& shard : manifest.shards()) {
    if (shard.split() != records::VALIDATION) continue;
    const std::string path = absl::StrCat(o.data_dir, "/", shard.path());
    LS_ASSIGN_OR_RETURN(std::unique_ptr<records::RecordReader> reader, records::RecordReader::Open(path));
    std::string payload;
    while (o.max_utterances == 0 || judged < o.max_utterances) {
      LS_ASSIGN_OR_RETURN(bool more, reader->Next(&payload));
      if (!more) break;
      records::Utterance u;
      if (absl::Status s = records::DecodeUtterance(payload, path, &u); !s.ok()) return s;
      JudgedUtterance j;
      j.id = u.id();
      j.text = u.text();
      auto t = Clock::now();
      absl::StatusOr<inference::SynthesisResult> mel = synth->SynthesizeText({u.text()});
      if (!mel.ok()) return absl::Status(mel.status().code(), absl::StrCat(u.id(), ": ", mel.status().message()));
      const inference::SynthesizedUtterance& s = mel->utterances[0];
      LS_ASSIGN_OR_RETURN(std::vector<float> wave, vocoder.Synthesize(s.mel, s.n_frames));
      report.synthesis_seconds += Since(t);
      report.audio_seconds += double(wave.size()) / rate;
      absl::StatusOr<std::string> heard = hear(wave, rate);
      if (!heard.ok()) return heard.status();
      j.synthesized = *heard;
      t = Clock::now();
      LS_ASSIGN_OR_RETURN(std::vector<float> own,
                          record_vocoder.Synthesize(std::vector<float>(u.mel().begin(), u.mel().end()), u.n_frames()));
      report.vocoder_seconds += Since(t);
      heard = hear(own, record_rate);
      if (!heard.ok()) return heard.status();
      j.vocoded = *heard;
      const std::string rec = preprocess::FindAudio(recordings, u.id());
      if (rec.empty()) {
        log << recordings << "/wavs/" << u.id() << ".wav: no recording; left out of the recordings row\n";
      } else {
        LS_ASSIGN_OR_RETURN(features::Audio audio, features::ReadAudio(rec, kAsrRate));
        heard = hear(audio.samples, kAsrRate);
        if (!heard.ok()) return heard.status();
        j.recording = *heard;
        j.has_recording = true;
        Score(j.text, j.recording, &report.recordings);
      }
      Score(j.text, j.synthesized, &report.synthesized);
      Score(j.text, j.vocoded, &report.vocoded);
      report.utterances.push_back(std::move(j));
      ++judged;
      log << "judge: " << judged << " utterances\n";
    }
  }
  if (judged == 0) return absl::FailedPreconditionError(absl::StrCat(o.data_dir, " has no validation records"));
  if (!o.json_out.empty()) {
    if (absl::Status s = base::WriteFileAtomically(o.json_out, JudgeReportJson(report)); !s.ok()) return s;
  }
  return report;
}

std::string FormatJudgeReport(const JudgeReport& r) {
  std::string out = absl::StrFormat("checkpoint %s (%s): %d validation utterances, ASR pocketsphinx en-us\n",
                                    r.checkpoint, r.method, r.synthesized.utterances);
  auto row = [&](const char* name, const JudgeRow& x) {
    if (x.utterances == 0) {
      absl::StrAppendFormat(&out, "  %-36s (none)\n", name);
      return;
    }
    absl::StrAppendFormat(&out, "  %-36s WER %5.1f%%  CER %5.1f%%  (%d utterances, %d words)\n", name,
                          100 * x.words.Rate(), 100 * x.chars.Rate(), x.utterances, x.words.reference_length);
  };
  row("synthesized from text", r.synthesized);
  row("recordings' mel through Griffin-Lim", r.vocoded);
  row("recordings", r.recordings);
  const int n = std::max(1, r.synthesized.utterances);
  absl::StrAppendFormat(&out, "  time per utterance: synthesis %.3f s, Griffin-Lim of the records %.3f s, ASR %.3f s (all sources)\n",
                        r.synthesis_seconds / n, r.vocoder_seconds / n, r.asr_seconds / n);
  return out;
}

std::string JudgeReportJson(const JudgeReport& r) {
  std::string out = absl::StrCat("{\n  \"checkpoint\": ", JsonString(r.checkpoint), ",\n  \"method\": ", JsonString(r.method),
                                 ",\n  \"asr\": \"pocketsphinx en-us\",\n  \"synthesized\": ", RowJson(r.synthesized),
                                 ",\n  \"vocoded\": ", RowJson(r.vocoded), ",\n  \"recordings\": ", RowJson(r.recordings));
  absl::StrAppendFormat(&out, ",\n  \"seconds\": {\"synthesis\": %.3f, \"vocoder\": %.3f, \"asr\": %.3f, \"audio\": %.3f}",
                        r.synthesis_seconds, r.vocoder_seconds, r.asr_seconds, r.audio_seconds);
  out += ",\n  \"utterances\": [";
  for (size_t i = 0; i < r.utterances.size(); ++i) {
    const JudgedUtterance& u = r.utterances[i];
    absl::StrAppend(&out, i == 0 ? "\n" : ",\n", "    {\"id\": ", JsonString(u.id), ", \"text\": ", JsonString(u.text),
                    ", \"synthesized\": ", JsonString(u.synthesized), ", \"vocoded\": ", JsonString(u.vocoded),
                    ", \"recording\": ", u.has_recording ? JsonString(u.recording) : "null", "}");
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace lightspeech::tools
