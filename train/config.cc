#include "train/config.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "records/file_util.h"

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

}  // namespace

absl::StatusOr<TrainConfig> ParseTrainConfig(absl::string_view text, const std::string& source) {
  pb::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  TrainConfig config;
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", errors.error()));
  }
  return config;
}

absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path) {
  absl::StatusOr<std::string> text = records::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseTrainConfig(*text, path);
}

absl::Status ApplyOverride(absl::string_view assignment, TrainConfig* config) {
  const size_t eq = assignment.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--set=", assignment, ": expected field.path=value"));
  }
  const std::string path(absl::StripAsciiWhitespace(assignment.substr(0, eq)));
  const absl::string_view value = assignment.substr(eq + 1);
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
    if (absl::Status s = ApplyOverride(a, config); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateTrainConfig(const TrainConfig& c) {
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
  auto odd_or_unset = [](int32_t k) { return k == 0 || (k > 0 && k % 2 == 1); };
  if (!odd_or_unset(rl.actor_mel_kernel())) return Invalid("rl.actor_mel_kernel must be odd (0: 1)");
  if (!odd_or_unset(rl.alignment_score_kernel())) return Invalid("rl.alignment_score_kernel must be odd (0: 1)");
  // Options the other actors would ignore are refused rather than silently dropped.
  if (c.aligner() == TrainConfig::RL && rl.actor_mel_kernel() > 1 && !rl.monotonic_frame_policy()) {
    return Invalid("rl.actor_mel_kernel needs rl.monotonic_frame_policy");
  }
  if (c.aligner() == TrainConfig::RL && rl.alignment_score_kernel() > 1 && !rl.actor_observes_alignment_score()) {
    return Invalid("rl.alignment_score_kernel needs rl.actor_observes_alignment_score");
  }
  if (c.aligner() == TrainConfig::RL && rl.decoder_durations() == RlConfig::MOST_LIKELY && !rl.monotonic_frame_policy()) {
    return Invalid("rl.decoder_durations MOST_LIKELY needs rl.monotonic_frame_policy");
  }
  if (!std::isfinite(rl.alignment_score_weight_init())) return Invalid("rl.alignment_score_weight_init must be finite");
  if (c.aligner() == TrainConfig::RL && rl.lag_from_predictor() && !(rl.monotonic_frame_policy() && m.use_predictor())) {
    return Invalid("rl.lag_from_predictor needs rl.monotonic_frame_policy and model.use_predictor");
  }
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
        (rl.decoder_durations() == RlConfig::GREEDY || rl.decoder_durations() == RlConfig::MOST_LIKELY))) {
    return Invalid(
        "binarization_weight needs aligner MAS, or aligner RL with rl.monotonic_frame_policy, rl.reward "
        "ALIGNMENT_SCORE and rl.decoder_durations GREEDY or MOST_LIKELY");
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
  if (c.optional_word_separators() && c.aligner() != TrainConfig::MAS &&
      !(c.aligner() == TrainConfig::RL && rl.reward() == RlConfig::ALIGNMENT_SCORE)) {
    return Invalid("optional_word_separators needs aligner MAS, or aligner RL with rl.reward ALIGNMENT_SCORE");
  }
  return absl::OkStatus();
}

std::string FormatTrainConfig(const TrainConfig& config) {
  std::string out;
  pb::TextFormat::PrintToString(config, &out);
  return out;
}

absl::Status WriteResolvedConfig(const TrainConfig& config, const std::string& dir) {
  return records::WriteFileAtomically(
      absl::StrCat(dir, "/config.pbtxt"),
      absl::StrCat("# The resolved TrainConfig of this run (train/train_config.proto).\n", FormatTrainConfig(config)));
}

std::string FirstDifference(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return Difference(a, b, "");
}

}  // namespace lightspeech::train
