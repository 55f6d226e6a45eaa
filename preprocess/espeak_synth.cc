#include "preprocess/espeak_synth.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "espeak-ng/speak_lib.h"
#include "preprocess/cleaners.h"
#include "preprocess/words.h"

namespace lightspeech::preprocess {
namespace {

struct RawPhone {
  std::string symbol;
  int64_t sample;
  int text_position;  // 1-based code point index, as espeak-ng reports it
};

// What the synthesis callback collects; reached through the event's user_data.
struct Collector {
  bool keep_audio = true;
  std::vector<int16_t> samples;
  int64_t num_samples = 0;
  std::vector<RawPhone> phones;
};

absl::Mutex g_mutex;
bool g_initialized ABSL_GUARDED_BY(g_mutex) = false;
int g_init_rate ABSL_GUARDED_BY(g_mutex) = 0;
std::string g_voice ABSL_GUARDED_BY(g_mutex);

// The collector of the synthesis in progress (set and cleared under g_mutex; the callback runs
// inside espeak_Synth on the calling thread). Callbacks with audio but no events carry no
// user_data, so the collector cannot travel in the events.
Collector* g_collector = nullptr;

int SynthCallback(short* wav, int num_samples, espeak_EVENT* events) {
  Collector* c = g_collector;
  if (c == nullptr) return 0;
  for (espeak_EVENT* e = events; e->type != espeakEVENT_LIST_TERMINATED; ++e) {
    if (e->type == espeakEVENT_PHONEME) {
      const size_t n = strnlen(e->id.string, sizeof(e->id.string));
      c->phones.push_back({std::string(e->id.string, n), e->sample, e->text_position});
    }
  }
  if (wav != nullptr && num_samples > 0) {
    if (c->keep_audio) c->samples.insert(c->samples.end(), wav, wav + num_samples);
    c->num_samples += num_samples;
  }
  return 0;  // continue synthesis
}

absl::Status EnsureInitialized() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mutex) {
  if (g_initialized) return absl::OkStatus();
  const char* path = std::getenv("ESPEAK_DATA_PATH");
  const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path,
                                     espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
  if (rate <= 0) {
    return absl::InternalError(absl::StrCat("espeak-ng: espeak_Initialize failed (data path ",
                                            path ? path : "<default>", ")"));
  }
  g_init_rate = rate;
  espeak_SetSynthCallback(SynthCallback);
  g_initialized = true;
  return absl::OkStatus();
}

}  // namespace

bool IsEspeakPause(absl::string_view symbol) { return !symbol.empty() && symbol[0] == '_'; }

namespace {

// EspeakSynthesize without the English pre-pass: espeak-ng reads `text` as it is.
absl::StatusOr<EspeakUtterance> SynthesizeAsWritten(absl::string_view text, const EspeakOptions& options) {
  if (options.rate_wpm < espeakRATE_MINIMUM || options.rate_wpm > espeakRATE_MAXIMUM) {
    return absl::InvalidArgumentError(absl::StrFormat("espeak-ng: rate %d wpm is outside %d..%d",
                                                      options.rate_wpm, espeakRATE_MINIMUM,
                                                      espeakRATE_MAXIMUM));
  }
  const std::vector<TextToken> tokens = Tokenize(text);
  int n_words = 0;
  for (const TextToken& t : tokens) n_words += !t.label.empty();
  if (n_words == 0) {
    return absl::InvalidArgumentError(absl::StrCat("espeak-ng: no words in text '", text, "'"));
  }

  Collector collector;
  collector.keep_audio = options.keep_audio;
  {
    absl::MutexLock lock(&g_mutex);
    LS_RETURN_IF_ERROR(EnsureInitialized());
    if (g_init_rate != kEspeakSampleRate) {
      return absl::InternalError(absl::StrFormat("espeak-ng synthesizes at %d Hz, expected %d",
                                                 g_init_rate, kEspeakSampleRate));
    }
    if (options.voice != g_voice) {
      if (espeak_SetVoiceByName(options.voice.c_str()) != EE_OK) {
        g_voice.clear();
        return absl::InvalidArgumentError(
            absl::StrCat("espeak-ng: unknown voice '", options.voice, "'"));
      }
      g_voice = options.voice;
    }
    espeak_SetParameter(espeakRATE, options.rate_wpm, 0);
    const std::string buffer(text);  // NUL-terminated copy
    // espeak-ng draws noise from the C library's rand(): a fixed seed keeps other users of rand()
    // in the process from changing the audio.
    std::srand(1);
    g_collector = &collector;
    const espeak_ERROR err = espeak_Synth(buffer.c_str(), buffer.size() + 1, 0, POS_CHARACTER, 0,
                                          espeakCHARS_UTF8, nullptr, nullptr);
    if (err == EE_OK) espeak_Synchronize();
    g_collector = nullptr;
    if (err != EE_OK) {
      return absl::InternalError(
          absl::StrCat("espeak-ng: espeak_Synth failed with code ", err, " for text '", text, "'"));
    }
  }

  EspeakUtterance out;
  out.num_samples = collector.num_samples;
  out.samples = std::move(collector.samples);

  // Word tokens (tokens with a label) and the one containing each code point.
  std::vector<const TextToken*> word_tokens;
  for (const TextToken& t : tokens) {
    if (!t.label.empty()) word_tokens.push_back(&t);
  }
  auto token_at = [&](int char_index) -> int {  // -1: outside every word token
    for (size_t i = 0; i < word_tokens.size(); ++i) {
      if (char_index >= word_tokens[i]->begin_char && char_index < word_tokens[i]->end_char) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };

  auto token_after = [&](int char_index) -> int {  // the first word token starting after it; -1: none
    for (size_t i = 0; i < word_tokens.size(); ++i) {
      if (word_tokens[i]->begin_char > char_index) return static_cast<int>(i);
    }
    return -1;
  };

  // Phones with their word token; zero-length phones dropped.
  const std::vector<RawPhone>& raw = collector.phones;
  std::vector<int> phone_token;
  int last_token = -1;
  for (size_t i = 0; i < raw.size(); ++i) {
    const int64_t start = raw[i].sample;
    const int64_t end = i + 1 < raw.size() ? raw[i + 1].sample : out.num_samples;
    if (start < 0 || end < start || end > out.num_samples) {
      return absl::InternalError(absl::StrFormat(
          "espeak-ng: phone %d '%s' has samples [%d, %d) outside [0, %d) for text '%s'", i,
          raw[i].symbol, start, end, out.num_samples, text));
    }
    if (end == start) continue;  // zero-length phone
    int token = -1;
    if (!IsEspeakPause(raw[i].symbol)) {
      token = token_at(raw[i].text_position - 1);
      // After a clause break that is not a word ("He said - well", "... опала. соам") espeak-ng
      // reports the first phone of the next word at the break's position: the phone belongs to the
      // first word that starts after it.
      if (token < 0) token = token_after(raw[i].text_position - 1);
      if (token < 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("espeak-ng: phone '%s' at character %d lies outside every word of '%s'",
                            raw[i].symbol, raw[i].text_position - 1, text));
      }
      if (token < last_token) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "espeak-ng: phone '%s' of word '%s' comes after word '%s' in '%s'", raw[i].symbol,
            word_tokens[token]->label, word_tokens[last_token]->label, text));
      }
      last_token = token;
    }
    out.phones.push_back(EspeakPhone{raw[i].symbol, start, end, -1});
    phone_token.push_back(token);
  }
  if (out.phones.empty()) {
    return absl::InternalError(absl::StrCat("espeak-ng: no phones for text '", text, "'"));
  }

  // Word groups: a token with phones starts a group; a token without phones joins the group
  // before it (the first group when there is none before).
  std::vector<int> has_phones(word_tokens.size(), 0);
  for (int t : phone_token) {
    if (t >= 0) has_phones[t] = 1;
  }
  std::vector<int> token_group(word_tokens.size(), 0);
  int group = -1;
  for (size_t t = 0; t < word_tokens.size(); ++t) {
    if (has_phones[t]) {
      ++group;
      out.words.push_back({word_tokens[t]->label, -1, -1});
    } else if (group >= 0) {
      absl::StrAppend(&out.words[group].label, " ", word_tokens[t]->label);
    }
    token_group[t] = std::max(group, 0);
  }
  if (group < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("espeak-ng: no word of '", text, "' has phones"));
  }
  // Leading tokens without phones belong to the first group.
  if (!has_phones[0]) {
    std::vector<std::string> parts;
    for (size_t t = 0; t < word_tokens.size() && token_group[t] == 0; ++t) {
      parts.push_back(word_tokens[t]->label);
    }
    out.words[0].label = absl::StrJoin(parts, " ");
  }
  for (size_t i = 0; i < out.phones.size(); ++i) {
    if (phone_token[i] < 0) continue;
    EspeakPhone& p = out.phones[i];
    p.word = token_group[phone_token[i]];
    EspeakWord& w = out.words[p.word];
    if (w.start_sample < 0) w.start_sample = p.start_sample;
    w.end_sample = p.end_sample;
  }
  if (out.phones.front().start_sample != 0) {
    // Leading audio before the first phone event: make it an explicit pause.
    out.phones.insert(out.phones.begin(), EspeakPhone{"_", 0, out.phones.front().start_sample, -1});
  }
  return out;
}

}  // namespace

absl::StatusOr<EspeakUtterance> EspeakSynthesize(absl::string_view text, const EspeakOptions& options) {
  if (!absl::StartsWith(options.voice, "en")) return SynthesizeAsWritten(text, options);
  // English voices read the text with preprocess::SpokenEnglishToken applied to every token; the
  // words of the result are then mapped back onto the text's own words.
  const std::vector<TextToken> tokens = Tokenize(text);
  std::string spoken;
  std::vector<int> source;              // per word token of `spoken`: the index of the text's word it came from
  std::vector<std::string> labels;      // the text's word labels
  bool changed = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].label.empty()) labels.push_back(tokens[i].label);
    std::string s = SpokenEnglishToken(tokens[i].text, i + 1 < tokens.size() ? tokens[i + 1].text : "");
    if (s.empty()) {
      s = tokens[i].text;
    } else {
      changed = true;
    }
    for (const TextToken& t : Tokenize(s)) {
      if (!t.label.empty()) source.push_back(std::max<int>(0, static_cast<int>(labels.size()) - 1));
    }
    absl::StrAppend(&spoken, spoken.empty() ? "" : " ", s);
  }
  if (!changed) return SynthesizeAsWritten(text, options);
  LS_ASSIGN_OR_RETURN(EspeakUtterance u, SynthesizeAsWritten(spoken, options));
  // Each word of `u` covers consecutive word tokens of `spoken` (its label joins their labels);
  // words that share a text word become one, labelled with the text's words.
  std::vector<EspeakWord> words;
  std::vector<int> new_index(u.words.size());
  std::vector<int> last_source;  // per new word: the last text word it covers
  size_t next_token = 0;
  for (size_t w = 0; w < u.words.size(); ++w) {
    const size_t n = std::vector<absl::string_view>(absl::StrSplit(u.words[w].label, ' ', absl::SkipEmpty())).size();
    if (n == 0 || next_token + n > source.size()) {
      return absl::InternalError(absl::StrCat("espeak-ng: cannot map the words of '", spoken, "' onto '", text, "'"));
    }
    const int first = source[next_token], last = source[next_token + n - 1];
    next_token += n;
    if (!words.empty() && first <= last_source.back()) {
      for (int k = last_source.back() + 1; k <= last; ++k) absl::StrAppend(&words.back().label, " ", labels[k]);
      last_source.back() = std::max(last_source.back(), last);
      words.back().end_sample = u.words[w].end_sample;
    } else {
      std::vector<std::string> parts(labels.begin() + first, labels.begin() + last + 1);
      words.push_back({absl::StrJoin(parts, " "), u.words[w].start_sample, u.words[w].end_sample});
      last_source.push_back(last);
    }
    new_index[w] = static_cast<int>(words.size()) - 1;
  }
  if (next_token != source.size()) {
    return absl::InternalError(absl::StrCat("espeak-ng: cannot map the words of '", spoken, "' onto '", text, "'"));
  }
  for (EspeakPhone& p : u.phones) {
    if (p.word >= 0) p.word = new_index[p.word];
  }
  u.words = std::move(words);
  return u;
}

}  // namespace lightspeech::preprocess
