#include "train/batch_tensors.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace lightspeech::train {
namespace {

absl::Status CheckSize(const char* what, size_t got, int64_t expected) {
  if (static_cast<int64_t>(got) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("ToTensors: ", what, " has ", got, " values, expected ", expected));
  }
  return absl::OkStatus();
}

absl::Status CheckLengths(const char* what, const std::vector<int64_t>& lengths, int64_t max) {
  for (size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 0 || lengths[b] > max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ToTensors: ", what, "[", b, "] = ", lengths[b], " is outside [0, ", max, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBatch(const HostBatch& b, int64_t min_length) {
  if (b.batch_size < 0 || b.max_tokens < 0 || b.max_frames < 0 || b.n_mels < 0) {
    return absl::InvalidArgumentError("ToTensors: negative batch dimensions");
  }
  const int64_t B = b.batch_size, N = b.max_tokens, T = b.max_frames, M = b.n_mels;
  for (absl::Status s :
       {CheckSize("tokens", b.tokens.size(), B * N),
        CheckSize("token_lengths", b.token_lengths.size(), B),
        CheckSize("mel", b.mel.size(), B * T * M),
        CheckSize("frame_lengths", b.frame_lengths.size(), B),
        b.durations.empty() ? absl::OkStatus() : CheckSize("durations", b.durations.size(), B * N),
        CheckLengths("token_lengths", b.token_lengths, N),
        CheckLengths("frame_lengths", b.frame_lengths, T)}) {
    if (!s.ok()) return s;
  }
  if (min_length <= 0) return absl::OkStatus();
  if (B == 0 || M == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ToTensors: empty batch (", B, " utterances, ", M, " mel bins)"));
  }
  for (int64_t i = 0; i < B; ++i) {
    if (b.token_lengths[i] < min_length || b.frame_lengths[i] < min_length) {
      const std::string id = i < static_cast<int64_t>(b.ids.size()) ? b.ids[i] : absl::StrCat("#", i);
      return absl::InvalidArgumentError(absl::StrCat("ToTensors: utterance '", id, "' has ", b.token_lengths[i],
                                                     " tokens and ", b.frame_lengths[i], " frames, need >= ",
                                                     min_length, " of each"));
    }
  }
  return absl::OkStatus();
}

// A host tensor holding a copy of `data`, in pinned memory when `pinned`.
torch::Tensor HostCopy(const void* data, std::vector<int64_t> sizes, torch::ScalarType dtype,
                       bool pinned) {
  torch::Tensor t = torch::empty(sizes, torch::TensorOptions().dtype(dtype).pinned_memory(pinned));
  if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
  return t;
}

// [B, L] mask: position < lengths[b].
torch::Tensor LengthMask(const torch::Tensor& lengths, int64_t max_length) {
  torch::Tensor positions = torch::arange(max_length, lengths.options());  // [L]
  return positions.unsqueeze(0) < lengths.unsqueeze(1);                    // [B, L]
}

}  // namespace

absl::StatusOr<TensorBatch> ToTensors(const HostBatch& batch, torch::Device device,
                                      const ToTensorsOptions& options) {
  LS_RETURN_IF_ERROR(CheckBatch(batch, options.min_length));
  const int64_t B = batch.batch_size, N = batch.max_tokens, T = batch.max_frames, M = batch.n_mels;
  try {
    const bool cuda = device.is_cuda();
    if (cuda && !torch::cuda::is_available()) {
      return absl::FailedPreconditionError(
          absl::StrCat("ToTensors: device ", device.str(), " requested but CUDA is not available"));
    }
    // Pinned staging memory lets the copies below run asynchronously; LibTorch's pinned allocator
    // keeps each staging block alive until its copy has finished.
    auto put = [&](const void* data, std::vector<int64_t> sizes, torch::ScalarType dtype) {
      torch::Tensor host = HostCopy(data, std::move(sizes), dtype, cuda);
      return cuda ? host.to(device, dtype, /*non_blocking=*/true) : host;
    };
    TensorBatch t;
    t.tokens = put(batch.tokens.data(), {B, N}, torch::kInt64);
    t.token_lengths = put(batch.token_lengths.data(), {B}, torch::kInt64);
    t.mel = put(batch.mel.data(), {B, T, M}, torch::kFloat32);
    t.frame_lengths = put(batch.frame_lengths.data(), {B}, torch::kInt64);
    if (batch.has_durations()) t.durations = put(batch.durations.data(), {B, N}, torch::kInt64);
    t.token_mask = LengthMask(t.token_lengths, N);
    t.mel_mask = LengthMask(t.frame_lengths, T);
    return t;
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("ToTensors to ", device.str(), ": ", e.what_without_backtrace()));
  }
}

}  // namespace lightspeech::train
