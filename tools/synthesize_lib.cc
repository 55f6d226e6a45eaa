#include "tools/synthesize_lib.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "features/audio.h"
#include "features/griffin_lim.h"
#include "features/mel_image.h"
#include "inference/npy.h"
#include "inference/synthesizer.h"
#include "records/manifest.pb.h"
#include "records/manifest_io.h"
#include "train/config.h"
#include "train/feature_settings.h"

namespace lightspeech::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

absl::StatusOr<features::LogMelOptions> FromManifest(const records::Manifest& m, const std::string& where, int n_mels) {
  if (m.features().n_mels() != n_mels) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the manifest has ", m.features().n_mels(), " mel bins, the checkpoint ", n_mels));
  }
  absl::StatusOr<features::LogMelOptions> o = train::LogMelOptionsFromSettings(m.features(), n_mels);
  if (!o.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", o.status().message()));
  return o;
}

struct Item {
  int number = 0;    // line number with --text_file, else 0
  std::string text;  // for the report
};

std::string Shorten(const std::string& text) {
  return text.size() <= 48 ? text : absl::StrCat(text.substr(0, 45), "...");
}

}  // namespace

absl::StatusOr<features::LogMelOptions> ResolveFeatureSettings(const std::string& data,
                                                                const records::FeatureSettings* checkpoint_features,
                                                                const train::TrainConfig& config, int n_mels,
                                                                std::string* source) {
  if (checkpoint_features != nullptr) {
    absl::StatusOr<features::LogMelOptions> o = train::LogMelOptionsFromSettings(*checkpoint_features, n_mels);
    if (!o.ok()) return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", o.status().message()));
    *source = "feature settings from the checkpoint";
    if (!data.empty()) {
      LS_ASSIGN_OR_RETURN(records::Manifest m, records::ReadManifest(data));
      const std::string diff = train::FirstDifference(*checkpoint_features, m.features());
      absl::StrAppend(source, diff.empty() ? absl::StrCat(" (the same as ", data, "'s)")
                                           : absl::StrCat(" (", data, "'s differ and were not used: ", diff, ")"));
    }
    return o;
  }
  if (!data.empty()) {
    LS_ASSIGN_OR_RETURN(records::Manifest m, records::ReadManifest(data));
    *source = absl::StrCat("feature settings from ", data);
    return FromManifest(m, data, n_mels);
  }
  const std::string dir = config.data().data_dir();
  if (!dir.empty() && base::IsRegularFile(absl::StrCat(dir, "/", records::kManifestFileName))) {
    absl::StatusOr<records::Manifest> m = records::ReadManifest(dir);
    if (m.ok()) {
      *source = absl::StrCat("feature settings from the checkpoint's training data ", dir);
      return FromManifest(*m, dir, n_mels);
    }
  }
  features::LogMelOptions o;
  o.n_mels = n_mels;
  *source = absl::StrCat("feature settings: the docs/DESIGN.md defaults (", o.sample_rate, " Hz, n_fft ", o.n_fft, ", hop ",
                         o.hop_length, ", ", o.f_min, "-", o.f_max,
                         " Hz); the checkpoint does not record them, pass --data=CORPUS for the training corpus's");
  return o;
}

std::string NumberedPath(const std::string& path, int number) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  const std::string stem = has_ext ? path.substr(0, dot) : path;
  const std::string ext = has_ext ? path.substr(dot) : "";
  return absl::StrFormat("%s-%04d%s", stem, number, ext);
}

absl::Status RunSynthesize(const SynthesizeOptions& o, std::ostream& out, std::ostream& err) {
  const int inputs = !o.text.empty() + !o.text_file.empty() + !o.phonemes.empty();
  if (o.checkpoint.empty()) return absl::InvalidArgumentError("--checkpoint is required");
  if (inputs != 1) return absl::InvalidArgumentError("give exactly one of --text, --text_file, --phonemes");
  if (o.out.empty()) return absl::InvalidArgumentError("--out is required");
  if (!(o.speed > 0)) return absl::InvalidArgumentError(absl::StrCat("--speed must be > 0, got ", o.speed));
  if (o.batch_size < 1) return absl::InvalidArgumentError(absl::StrCat("--batch_size must be >= 1, got ", o.batch_size));
  if (o.griffin_lim_iterations < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--griffin_lim_iterations must be >= 0, got ", o.griffin_lim_iterations));
  }

  std::vector<Item> items;
  if (!o.text_file.empty()) {
    LS_ASSIGN_OR_RETURN(std::string contents, base::ReadFile(o.text_file));
    int line = 0;
    for (absl::string_view l : absl::StrSplit(contents, '\n')) {
      ++line;
      const std::string text(absl::StripAsciiWhitespace(l));
      if (!text.empty()) items.push_back({line, text});
    }
    if (items.empty()) return absl::InvalidArgumentError(absl::StrCat(o.text_file, ": no text (one per line)"));
  } else {
    items.push_back({0, o.text.empty() ? o.phonemes : o.text});
  }

  const Clock::time_point load_start = Clock::now();
  inference::SynthesizerOptions so;
  so.device = o.device;
  so.threads = o.threads;
  so.max_batch = o.batch_size;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<inference::Synthesizer> synth,
                      inference::Synthesizer::Create(o.checkpoint, so));
  const inference::Synthesizer& s = *synth;
  std::string source;
  LS_ASSIGN_OR_RETURN(features::LogMelOptions mel_options,
                      ResolveFeatureSettings(o.data, s.feature_settings(), s.config(), s.n_mels(), &source));
  err << source << "\n";
  features::GriffinLimOptions gl;
  gl.iterations = o.griffin_lim_iterations;
  LS_ASSIGN_OR_RETURN(features::GriffinLim vocoder, features::GriffinLim::Create(mel_options, gl));
  out << absl::StrFormat("loaded %s: step %d, %d parameters, %d symbols%s (%.2f s)\n", o.checkpoint, s.step(),
                         s.num_parameters(), s.symbol_table().symbols_size(),
                         s.symbol_table().phonemizer().empty() ? "" : absl::StrCat(", ", s.symbol_table().phonemizer()),
                         Seconds(load_start));

  absl::StatusOr<inference::SynthesisResult> result;
  if (!o.phonemes.empty()) {
    result = s.SynthesizeSymbols({absl::StrSplit(o.phonemes, ' ', absl::SkipWhitespace())}, o.speed);
  } else {
    std::vector<std::string> texts;
    for (const Item& i : items) texts.push_back(i.text);
    result = s.SynthesizeText(texts, o.speed);
  }
  if (!result.ok()) {
    if (!o.text_file.empty() && absl::StartsWith(result.status().message(), "text ")) {
      return absl::Status(result.status().code(), absl::StrCat(o.text_file, ": ", result.status().message()));
    }
    return result.status();
  }

  const double frame_seconds = static_cast<double>(mel_options.hop_length) / mel_options.sample_rate;
  double audio_seconds = 0, vocoder_seconds = 0, write_seconds = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    const inference::SynthesizedUtterance& u = result->utterances[k];
    const std::string where = items[k].number > 0 ? absl::StrCat(o.text_file, ":", items[k].number, ": ") : "";
    for (const std::string& w : u.warnings) err << "warning: " << where << w << "\n";
    const std::string wav = items[k].number > 0 ? NumberedPath(o.out, items[k].number) : o.out;
    const size_t dot = wav.find_last_of('.');
    const std::string png = (dot != std::string::npos && dot > wav.find_last_of('/') + 1 ? wav.substr(0, dot) : wav) + ".png";

    const Clock::time_point gl_start = Clock::now();
    LS_ASSIGN_OR_RETURN(std::vector<float> audio,
                        u.n_frames >= 2 ? vocoder.Synthesize(u.mel, u.n_frames)
                                        : std::vector<float>(u.n_frames * mel_options.hop_length, 0.0f));
    // Griffin-Lim does not bound the amplitude: scale down rather than clip.
    float peak = 0;
    for (float x : audio) peak = std::max(peak, std::abs(x));
    if (peak > 0.99f) {
      for (float& x : audio) x *= 0.99f / peak;
    }
    const double gl_time = Seconds(gl_start);

    const Clock::time_point write_start = Clock::now();
    if (absl::Status w = features::WriteWav16(wav, audio, mel_options.sample_rate); !w.ok()) return w;
    LS_ASSIGN_OR_RETURN(std::string picture, features::RenderMelPng(u.mel, u.n_frames, u.n_mels, {}, {}));
    if (absl::Status w = features::WriteFileBytes(png, picture); !w.ok()) return w;
    std::string npy;
    if (!o.mel_out.empty()) {
      npy = items[k].number > 0 ? NumberedPath(o.mel_out, items[k].number) : o.mel_out;
      // HiFi-GAN's layout: [n_mels, frames].
      std::vector<float> transposed(u.mel.size());
      for (int64_t t = 0; t < u.n_frames; ++t) {
        for (int m = 0; m < u.n_mels; ++m) transposed[m * u.n_frames + t] = u.mel[t * u.n_mels + m];
      }
      if (absl::Status w = inference::WriteNpyFloat32(npy, transposed, {u.n_mels, u.n_frames}); !w.ok()) return w;
    }
    const double seconds = u.n_frames * frame_seconds;
    audio_seconds += seconds;
    vocoder_seconds += gl_time;
    write_seconds += Seconds(write_start);
    out << absl::StrFormat("%s%s: \"%s\" %d symbols, %d frames, %.2f s of audio; griffin-lim RTF %.3f; %s%s\n", where,
                           wav, Shorten(items[k].text), u.symbol_ids.size(), u.n_frames, seconds,
                           seconds > 0 ? gl_time / seconds : 0.0, png, npy.empty() ? "" : absl::StrCat(", ", npy));
  }
  const auto rtf = [&](double t) { return audio_seconds > 0 ? t / audio_seconds : 0.0; };
  const inference::SynthesisTiming& t = result->timing;
  out << absl::StrFormat(
      "real-time factor (seconds per second of audio, %.2f s in all): text %.4f, acoustic model %.4f, "
      "text->mel %.4f, griffin-lim (%d iterations) %.4f, files %.4f\n",
      audio_seconds, rtf(t.frontend_seconds), rtf(t.model_seconds), rtf(t.frontend_seconds + t.model_seconds),
      o.griffin_lim_iterations, rtf(vocoder_seconds), rtf(write_seconds));
  return absl::OkStatus();
}

}  // namespace lightspeech::tools
