#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"

namespace lightspeech::train {
namespace {

namespace pb = google::protobuf;

// Keeps the first error the text parser reports, with 1-based line and column.
class FirstErrorCollector : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override {}
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

absl::Status SetScalar(pb::Message* msg, const pb::FieldDescriptor* f, absl::string_view value,
                       absl::string_view assignment) {
  const pb::Reflection* r = msg->GetReflection();
  auto bad = [&](absl::string_view type) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set=", assignment, ": '", value, "' is not a valid ", type, " for ", f->full_name()));
  };
  const std::string v(absl::StripAsciiWhitespace(value));
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t x;
      if (!absl::SimpleAtoi(v, &x)) return bad("int32");
      r->SetInt32(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t x;
      if (!absl::SimpleAtoi(v, &x)) return bad("int64");
      r->SetInt64(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t x;
      if (!absl::SimpleAtoi(v, &x)) return bad("uint32");
      r->SetUInt32(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t x;
      if (!absl::SimpleAtoi(v, &x)) return bad("uint64");
      r->SetUInt64(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      double x;
      if (!absl::SimpleAtod(v, &x)) return bad("double");
      r->SetDouble(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      float x;
      if (!absl::SimpleAtof(v, &x)) return bad("float");
      r->SetFloat(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool x;
      if (!absl::SimpleAtob(v, &x)) return bad("bool");
      r->SetBool(msg, f, x);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      r->SetString(msg, f, std::string(value));
      return absl::OkStatus();
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* e = f->enum_type();
      for (int i = 0; i < e->value_count(); ++i) {
        if (absl::EqualsIgnoreCase(e->value(i)->name(), v)) {
          r->SetEnum(msg, f, e->value(i));
          return absl::OkStatus();
        }
      }
      int number;
      if (absl::SimpleAtoi(v, &number) && e->FindValueByNumber(number) != nullptr) {
        r->SetEnum(msg, f, e->FindValueByNumber(number));
        return absl::OkStatus();
      }
      std::vector<std::string> names;
      for (int i = 0; i < e->value_count(); ++i) names.push_back(e->value(i)->name());
      return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": '", value, "' is not one of ",
                                                     absl::StrJoin(names, ", "), " for ", f->full_name()));
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": ", f->full_name(), " is a message"));
}

std::string FieldText(const pb::Message& m, const pb::FieldDescriptor* f) {
  std::string out;
  pb::TextFormat::PrintFieldValueToString(m, f, -1, &out);
  return out;
}

std::string Difference(const pb::Message& a, const pb::Message& b, const std::string& prefix) {
  const pb::Descriptor* d = a.GetDescriptor();
  const pb::Reflection* ra = a.GetReflection();
  const pb::Reflection* rb = b.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->is_repeated()) {
      const int na = ra->FieldSize(a, f), nb = rb->FieldSize(b, f);
      if (na != nb) return absl::StrCat(path, ": ", na, " entries vs ", nb);
      for (int k = 0; k < na; ++k) {
        const std::string item = absl::StrCat(path, "[", k, "]");
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          std::string diff = Difference(ra->GetRepeatedMessage(a, f, k), rb->GetRepeatedMessage(b, f, k), item);
          if (!diff.empty()) return diff;
        } else {
          std::string va, vb;
          pb::TextFormat::PrintFieldValueToString(a, f, k, &va);
          pb::TextFormat::PrintFieldValueToString(b, f, k, &vb);
          if (va != vb) return absl::StrCat(item, ": ", va, " vs ", vb);
        }
      }
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      std::string diff = Difference(ra->GetMessage(a, f), rb->GetMessage(b, f), path);
      if (!diff.empty()) return diff;
      continue;
    }
    const bool ha = !f->has_presence() || ra->HasField(a, f), hb = !f->has_presence() || rb->HasField(b, f);
    const std::string va = ha ? FieldText(a, f) : "(unset)", vb = hb ? FieldText(b, f) : "(unset)";
    if (va != vb) return absl::StrCat(path, ": ", va, " vs ", vb);
  }
  return "";
}

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(absl::StrCat("TrainConfig: ", what)); }

// Options measured and not adopted, removed after commit 7a71848 (issue 25). Their field numbers
// (and MOST_LIKELY's enum value) are reserved in train/train_config.proto.
struct RetiredOption {
  const char* path;  // as in --set: "optional_word_separators", "rl.actor_mel_kernel"
  int number;        // the field's number in its message
  const char* round;  // where docs/RESULTS.md measured it
};
constexpr RetiredOption kRetiredOptions[] = {
    {"optional_word_separators", 21, "round 7"},
    {"rl.actor_mel_kernel", 15, "round 4"},
    {"rl.alignment_score_kernel", 16, "round 4"},
    {"rl.lag_from_predictor", 17, "round 4"},
    {"rl.actor_detaches_encoder", 19, "round 8"},
};
constexpr int kRetiredMostLikely = 3;  // RlConfig.DecoderDurations MOST_LIKELY, docs/RESULTS.md round 4
constexpr char kLastCommitWithRetiredOptions[] = "7a71848";

absl::Status RetiredError(absl::string_view what, absl::string_view round) {
  return Invalid(absl::StrCat(what, " was retired (measured and not adopted, docs/RESULTS.md ", round,
                              "); the last commit with it is ", kLastCommitWithRetiredOptions));
}

absl::Status RetiredMostLikely() { return RetiredError("rl.decoder_durations MOST_LIKELY", "round 4"); }

const RetiredOption* FindRetired(absl::string_view path) {
  for (const RetiredOption& r : kRetiredOptions) {
    if (path == r.path) return &r;
  }
  return nullptr;
}

// The text parser skips a reserved field name without a word (protobuf 3.21), so the text is
// scanned for the retired options first. Returns "LINE:COLUMN: " and the refusal (1-based), or ""
// when the text sets none. Syntax errors are left to the parser.
class IgnoreErrors : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {}
};

std::string RetiredOptionInText(const std::string& text) {
  struct Token {
    pb::io::Tokenizer::TokenType type;
    std::string text;
    int line, column;
  };
  std::vector<Token> tokens;
  {
    pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
    IgnoreErrors errors;
    pb::io::Tokenizer tokenizer(&input, &errors);
    tokenizer.set_comment_style(pb::io::Tokenizer::SH_COMMENT_STYLE);
    while (tokenizer.Next()) {
      const pb::io::Tokenizer::Token& t = tokenizer.current();
      tokens.push_back({t.type, t.text, t.line, t.column});
    }
  }
  auto is = [&](size_t i, absl::string_view symbol) { return i < tokens.size() && tokens[i].text == symbol; };
  auto is_identifier = [&](size_t i) { return i < tokens.size() && tokens[i].type == pb::io::Tokenizer::TYPE_IDENTIFIER; };
  std::vector<std::string> scope;  // the enclosing message fields
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (is(i, "{") || is(i, "<")) {
      std::string field;
      if (i >= 1 && is_identifier(i - 1)) {
        field = tokens[i - 1].text;
      } else if (i >= 2 && is(i - 1, ":") && is_identifier(i - 2)) {
        field = tokens[i - 2].text;
      }
      scope.push_back(field);
      continue;
    }
    if (is(i, "}") || is(i, ">")) {
      if (!scope.empty()) scope.pop_back();
      continue;
    }
    if (!is_identifier(i) || !(is(i + 1, ":") || is(i + 1, "{") || is(i + 1, "<"))) continue;
    std::vector<std::string> names = scope;
    names.push_back(tokens[i].text);
    const std::string path = absl::StrJoin(names, ".");
    absl::Status refusal;
    if (const RetiredOption* r = FindRetired(path)) {
      refusal = RetiredError(r->path, r->round);
    } else if (path == "rl.decoder_durations" && is(i + 1, ":") && is(i + 2, "MOST_LIKELY")) {
      refusal = RetiredMostLikely();
    }
    if (!refusal.ok()) return absl::StrCat(tokens[i].line + 1, ":", tokens[i].column + 1, ": ", refusal.message());
  }
  return "";
}

}  // namespace

absl::Status RefuseRetiredOptions(const TrainConfig& config) {
  auto unknown_numbers = [](const pb::Message& m) {
    std::vector<int> numbers;
    const pb::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
    for (int i = 0; i < unknown.field_count(); ++i) numbers.push_back(unknown.field(i).number());
    return numbers;
  };
  const std::vector<int> top = unknown_numbers(config), rl = unknown_numbers(config.rl());
  for (const RetiredOption& r : kRetiredOptions) {
    const bool in_rl = absl::StartsWith(r.path, "rl.");
    const std::vector<int>& numbers = in_rl ? rl : top;
    if (std::find(numbers.begin(), numbers.end(), r.number) != numbers.end()) return RetiredError(r.path, r.round);
  }
  if (static_cast<int>(config.rl().decoder_durations()) == kRetiredMostLikely) return RetiredMostLikely();
  return absl::OkStatus();
}

absl::StatusOr<TrainConfig> ParseTrainConfig(absl::string_view text, const std::string& source) {
  const std::string input(text);
  if (const std::string retired = RetiredOptionInText(input); !retired.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", retired));
  }
  pb::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  TrainConfig config;
  if (!parser.ParseFromString(input, &config)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", errors.error()));
  }
  if (absl::Status s = RefuseRetiredOptions(config); !s.ok()) {  // e.g. decoder_durations given as the number 3
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return config;
}

absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path));
  return ParseTrainConfig(text, path);
}

absl::Status ApplyOverride(absl::string_view assignment, TrainConfig* config) {
  const size_t eq = assignment.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": expected field.path=value"));
  }
  const std::string path(absl::StripAsciiWhitespace(assignment.substr(0, eq)));
  const absl::string_view value = assignment.substr(eq + 1);
  absl::Status retired;
  if (const RetiredOption* r = FindRetired(path)) {
    retired = RetiredError(r->path, r->round);
  } else if (path == "rl.decoder_durations" &&
             (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value), "MOST_LIKELY") ||
              absl::StripAsciiWhitespace(value) == absl::StrCat(kRetiredMostLikely))) {
    retired = RetiredMostLikely();
  }
  if (!retired.ok()) return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": ", retired.message()));
  pb::Message* msg = config;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": TrainConfig has no field '", path, "'"));
    }
    if (f->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": ", f->full_name(), " is repeated"));
    }
    if (i + 1 < parts.size()) {
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set=", assignment, ": TrainConfig has no field '", path, "'"));
      }
      msg = msg->GetReflection()->MutableMessage(msg, f);
      continue;
    }
    return SetScalar(msg, f, value, assignment);
  }
  return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": empty field path"));
}

absl::Status ApplyOverrides(const std::vector<std::string>& assignments, TrainConfig* config) {
  for (const std::string& a : assignments) {
    LS_RETURN_IF_ERROR(ApplyOverride(a, config));
  }
  return absl::OkStatus();
}

void ApplyTrainDefaults(TrainConfig* c) {
  OptimizerConfig* o = c->mutable_optimizer();
  if (o->lr() == 0) o->set_lr(kDefaultLr);
  if (o->beta1() == 0) o->set_beta1(kDefaultBeta1);
  if (o->beta2() == 0) o->set_beta2(kDefaultBeta2);
  if (o->eps() == 0) o->set_eps(kDefaultEps);
  if (o->decay_rate() == 0) o->set_decay_rate(kDefaultDecayRate);
  if (o->decay_steps() == 0) o->set_decay_steps(kDefaultDecaySteps);
  if (o->grad_accumulation() == 0) o->set_grad_accumulation(kDefaultGradAccumulation);
  if (c->aligner() == TrainConfig::RL) {  // other methods read no RlConfig
    RlConfig* rl = c->mutable_rl();
    if (rl->samples_per_utterance() == 0) rl->set_samples_per_utterance(kDefaultSamplesPerUtterance);
    if (rl->moving_average_decay() == 0) rl->set_moving_average_decay(kDefaultMovingAverageDecay);
    if (rl->temperature() == 0) rl->set_temperature(kDefaultTemperature);
    if (rl->actor_lr_scale() == 0) rl->set_actor_lr_scale(kDefaultActorLrScale);
  }
  DataConfig* d = c->mutable_data();
  if (d->batch_max_frames() == 0) d->set_batch_max_frames(kDefaultBatchMaxFrames);
  if (d->batch_max_size() == 0) d->set_batch_max_size(kDefaultBatchMaxSize);
  if (d->prefetch() == 0) d->set_prefetch(kDefaultPrefetch);
  if (d->loader_threads() == 0) d->set_loader_threads(kDefaultLoaderThreads);
  if (c->keep_checkpoints() == 0) c->set_keep_checkpoints(kDefaultKeepCheckpoints);
  if (c->log_every() == 0) c->set_log_every(kDefaultLogEvery);
  if (c->threads() == 0) c->set_threads(kDefaultThreads);
  if (c->duration_loss_weight() == 0) c->set_duration_loss_weight(kDefaultLossWeight);
  if (c->forward_sum_weight() == 0) c->set_forward_sum_weight(kDefaultLossWeight);
  if (c->validation_audio_iterations() == 0) c->set_validation_audio_iterations(kDefaultValidationAudioIterations);
}

absl::Status ValidateTrainConfig(const TrainConfig& c) {
  LS_RETURN_IF_ERROR(RefuseRetiredOptions(c));
  if (c.model().preset() == ModelConfig::PRESET_UNSPECIFIED) return Invalid("model.preset must be PROTOTYPE or LIGHT");
  if (c.aligner() == TrainConfig::ALIGNER_UNSPECIFIED) return Invalid("aligner must be RL, MAS or ORACLE");
  const ModelConfig& m = c.model();
  if (m.max_duration() < 0 || m.encoder_dim() < 0 || m.encoder_blocks() < 0 || m.gru_hidden() < 0 ||
      m.decoder_dim() < 0 || m.decoder_blocks() < 0 || m.policy_hidden() < 0 || m.predictor_hidden() < 0 ||
      m.aligner_channels() < 0 || m.aligner_attention_dim() < 0) {
    return Invalid("model sizes must be >= 0 (0 keeps the preset's)");
  }
  // Upper bounds, so that a checkpoint's config cannot make the model built from it allocate
  // without limit before its tensors are compared with the checkpoint's.
  for (int32_t width : {m.encoder_dim(), m.gru_hidden(), m.decoder_dim(), m.policy_hidden(), m.predictor_hidden(),
                        m.aligner_channels(), m.aligner_attention_dim()}) {
    if (width > kMaxModelWidth) return Invalid(absl::StrCat("model widths must be <= ", kMaxModelWidth));
  }
  if (m.aligner_key_kernel() < 0 || m.aligner_key_kernel() > 15 || (m.aligner_key_kernel() > 0 && m.aligner_key_kernel() % 2 == 0)) {
    return Invalid("model.aligner_key_kernel must be odd and <= 15 (0: 3)");
  }
  if (m.encoder_blocks() > kMaxModelBlocks || m.decoder_blocks() > kMaxModelBlocks) {
    return Invalid(absl::StrCat("model blocks must be <= ", kMaxModelBlocks));
  }
  if (m.max_duration() > kMaxModelDuration) {
    return Invalid(absl::StrCat("model.max_duration must be <= ", kMaxModelDuration));
  }
  if (m.has_dropout() && (m.dropout() < 0 || m.dropout() >= 1)) return Invalid("model.dropout must be in [0, 1)");
  const RlConfig& rl = c.rl();
  if (rl.samples_per_utterance() < 0) return Invalid("rl.samples_per_utterance must be >= 0");
  if (rl.entropy_weight() < 0) return Invalid("rl.entropy_weight must be >= 0");
  if (rl.moving_average_decay() < 0 || rl.moving_average_decay() >= 1) {
    return Invalid("rl.moving_average_decay must be in [0, 1)");
  }
  if (rl.temperature() < 0) return Invalid("rl.temperature must be >= 0");
  if (rl.actor_lr_scale() < 0) return Invalid("rl.actor_lr_scale must be >= 0");
  if (!(rl.credit_discount() >= 0 && rl.credit_discount() <= 1)) return Invalid("rl.credit_discount must be in [0, 1]");
  if (c.aligner() == TrainConfig::RL && rl.actor_observes_alignment_score() &&
      (!rl.monotonic_frame_policy() || rl.reward() != RlConfig::ALIGNMENT_SCORE)) {
    return Invalid("rl.actor_observes_alignment_score needs rl.monotonic_frame_policy and rl.reward ALIGNMENT_SCORE");
  }
  if (!std::isfinite(rl.alignment_score_weight_init())) return Invalid("rl.alignment_score_weight_init must be finite");
  // Options the other actors would ignore are refused rather than silently dropped.
  if (c.aligner() == TrainConfig::RL && rl.actor_observes_value_to_go() && !rl.actor_observes_alignment_score()) {
    return Invalid("rl.actor_observes_value_to_go needs rl.actor_observes_alignment_score");
  }
  if (c.aligner() == TrainConfig::RL && rl.alignment_score_weight_init() != 0 && !rl.actor_observes_alignment_score()) {
    return Invalid("rl.alignment_score_weight_init needs rl.actor_observes_alignment_score");
  }
  if (c.aligner() == TrainConfig::RL && rl.baseline() == RlConfig::LEAVE_ONE_OUT &&
      rl.samples_per_utterance() < 2) {
    return Invalid("rl.baseline LEAVE_ONE_OUT needs rl.samples_per_utterance >= 2");
  }
  const OptimizerConfig& o = c.optimizer();
  if (o.lr() < 0) return Invalid("optimizer.lr must be >= 0");
  if (o.beta1() < 0 || o.beta1() >= 1 || o.beta2() < 0 || o.beta2() >= 1) {
    return Invalid("optimizer.beta1 and beta2 must be in [0, 1)");
  }
  if (o.eps() < 0 || o.weight_decay() < 0) return Invalid("optimizer.eps and weight_decay must be >= 0");
  if (o.warmup_steps() < 0) return Invalid("optimizer.warmup_steps must be >= 0");
  if (o.min_lr_ratio() < 0 || o.min_lr_ratio() > 1) return Invalid("optimizer.min_lr_ratio must be in [0, 1]");
  if (o.decay_rate() < 0 || o.decay_rate() > 1) return Invalid("optimizer.decay_rate must be in [0, 1]");
  if (o.decay_steps() < 0) return Invalid("optimizer.decay_steps must be >= 0");
  if (o.grad_clip_norm() < 0) return Invalid("optimizer.grad_clip_norm must be >= 0");
  if (o.grad_accumulation() < 0) return Invalid("optimizer.grad_accumulation must be >= 0");
  if (c.data().batch_max_frames() < 0 || c.data().batch_max_size() < 0 || c.data().prefetch() < 0 ||
      c.data().loader_threads() < 0) {
    return Invalid("data sizes must be >= 0");
  }
  if (c.steps() <= 0) return Invalid("steps must be > 0");
  if (c.checkpoint_every() < 0 || c.keep_checkpoints() < 0 || c.validate_every() < 0 || c.log_every() < 0 ||
      c.threads() < 0 || c.validation_batches() < 0) {
    return Invalid("checkpoint_every, keep_checkpoints, validate_every, log_every, threads and validation_batches must be >= 0");
  }
  if (c.duration_loss_weight() < 0 || c.forward_sum_weight() < 0) {
    return Invalid("duration_loss_weight and forward_sum_weight must be >= 0");
  }
  if (!(std::isfinite(c.binarization_weight()) && c.binarization_weight() >= 0) || c.binarization_start_step() < 0) {
    return Invalid("binarization_weight must be finite and >= 0, binarization_start_step >= 0");
  }
  if (c.binarization_weight() > 0 && c.aligner() != TrainConfig::MAS &&
      !(c.aligner() == TrainConfig::RL && rl.monotonic_frame_policy() && rl.reward() == RlConfig::ALIGNMENT_SCORE &&
        rl.decoder_durations() == RlConfig::GREEDY)) {
    return Invalid(
        "binarization_weight needs aligner MAS, or aligner RL with rl.monotonic_frame_policy, rl.reward "
        "ALIGNMENT_SCORE and rl.decoder_durations GREEDY");
  }
  if (!(std::isfinite(c.separator_frame_penalty()) && c.separator_frame_penalty() >= 0)) {
    return Invalid("separator_frame_penalty must be finite and >= 0");
  }
  if (c.separator_frame_penalty() > 0 && c.aligner() != TrainConfig::MAS &&
      !(c.aligner() == TrainConfig::RL && rl.monotonic_frame_policy() && rl.reward() == RlConfig::ALIGNMENT_SCORE)) {
    return Invalid(
        "separator_frame_penalty needs aligner MAS, or aligner RL with rl.monotonic_frame_policy and rl.reward "
        "ALIGNMENT_SCORE");
  }
  if (c.separator_penalty_covers_punctuation() && !(c.separator_frame_penalty() > 0)) {
    return Invalid("separator_penalty_covers_punctuation needs separator_frame_penalty > 0");
  }
  return absl::OkStatus();
}

std::string FormatTrainConfig(const TrainConfig& config) {
  std::string out;
  pb::TextFormat::PrintToString(config, &out);
  return out;
}

absl::Status WriteResolvedConfig(const TrainConfig& config, const std::string& dir) {
  return base::WriteFileAtomically(
      absl::StrCat(dir, "/config.pbtxt"),
      absl::StrCat("# The resolved TrainConfig of this run (train/train_config.proto).\n", FormatTrainConfig(config)));
}

std::string FirstDifference(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return Difference(a, b, "");
}

}  // namespace lightspeech::train
