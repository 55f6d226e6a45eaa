#include "records/utterance_io.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::records {
namespace {

absl::Status CheckIntervals(const Utterance& u, const google::protobuf::RepeatedPtrField<Interval>& iv,
                            absl::string_view tier) {
  int prev_end = 0;
  for (int i = 0; i < iv.size(); ++i) {
    const Interval& x = iv[i];
    if (x.start_frame() < 0 || x.end_frame() < x.start_frame() || x.end_frame() > u.n_frames() ||
        x.start_frame() < prev_end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "utterance '", u.id(), "': ", tier, " interval ", i, " [", x.start_frame(), ", ",
          x.end_frame(), ") is out of order or outside [0, ", u.n_frames(), ")"));
    }
    prev_end = x.end_frame();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateUtterance(const Utterance& u) {
  const std::string who = absl::StrCat("utterance '", u.id(), "': ");
  if (u.format_version() == 0 || u.format_version() > kUtteranceFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(who, "unsupported format_version ",
                                                   u.format_version(), " (this build reads 1..",
                                                   kUtteranceFormatVersion, ")"));
  }
  if (u.id().empty()) return absl::InvalidArgumentError("utterance with an empty id");
  if (u.n_frames() < 0 || u.n_mels() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "bad shape n_frames=", u.n_frames(), " n_mels=", u.n_mels()));
  }
  const int64_t expected = static_cast<int64_t>(u.n_frames()) * u.n_mels();
  if (u.mel_size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(who, "mel has ", u.mel_size(), " values, expected ",
                                                   u.n_frames(), " x ", u.n_mels(), " = ", expected));
  }
  for (int i = 0; i < u.mel_size(); ++i) {
    if (!std::isfinite(u.mel(i))) {
      return absl::InvalidArgumentError(absl::StrCat(who, "non-finite mel value at frame ",
                                                     i / u.n_mels(), ", bin ", i % u.n_mels()));
    }
  }
  for (int i = 0; i < u.symbol_ids_size(); ++i) {
    if (u.symbol_ids(i) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(who, "negative symbol id at position ", i));
    }
  }
  if (u.has_alignment()) {
    const ReferenceAlignment& a = u.alignment();
    LS_RETURN_IF_ERROR(CheckIntervals(u, a.phones(), "phone"));
    LS_RETURN_IF_ERROR(CheckIntervals(u, a.words(), "word"));
    if (a.durations_size() > 0) {
      if (a.durations_size() != u.symbol_ids_size()) {
        return absl::InvalidArgumentError(absl::StrCat(who, a.durations_size(), " durations for ",
                                                       u.symbol_ids_size(), " symbols"));
      }
      int64_t sum = 0;
      for (int d : a.durations()) {
        if (d < 0) return absl::InvalidArgumentError(absl::StrCat(who, "negative duration"));
        sum += d;
      }
      if (sum != u.n_frames()) {
        return absl::InvalidArgumentError(
            absl::StrCat(who, "durations sum to ", sum, " frames, expected n_frames=", u.n_frames()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status EncodeUtterance(const Utterance& u, std::string* payload) {
  LS_RETURN_IF_ERROR(ValidateUtterance(u));
  if (!u.SerializeToString(payload)) {
    return absl::InternalError(absl::StrCat("utterance '", u.id(), "': serialization failed"));
  }
  return absl::OkStatus();
}

absl::Status DecodeUtterance(absl::string_view payload, absl::string_view where, Utterance* u) {
  if (!u->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError(absl::StrCat(where, ": not a valid Utterance protobuf (",
                                            payload.size(), " bytes)"));
  }
  if (auto s = ValidateUtterance(*u); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace lightspeech::records
