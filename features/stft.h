#ifndef LIGHTSPEECH_FEATURES_STFT_H_
#define LIGHTSPEECH_FEATURES_STFT_H_

#include <complex>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lightspeech::features {

enum class WindowType {
  kPeriodicHann,     // 0.5 - 0.5 cos(2 pi n / N), torch.hann_window(N) (the docs/DESIGN.md contract).
  kPeriodicHamming,  // 0.54 - 0.46 cos(2 pi n / N), torch.hamming_window(N).
};

// Short-time Fourier transform with torch.stft / torch.istft semantics for center=True,
// pad_mode='reflect', onesided output: frame t covers padded[t * hop, t * hop + n_fft) of the signal
// reflect-padded by n_fft / 2 on both sides, so a signal of N samples has 1 + floor(N / hop) frames.
// The window (win_length samples) is zero-padded to n_fft and centred, as torch does.
//
// FFTW float32 plans are created once per thread (and per n_fft) under a global planner lock and
// reused for every frame; every method is const and safe to call from several threads at once.
class Stft {
 public:
  // Fails with InvalidArgument unless 2 <= n_fft, n_fft is even, 1 <= hop and
  // 1 <= win_length <= n_fft.
  static absl::StatusOr<Stft> Create(int n_fft, int hop, int win_length,
                                     WindowType window = WindowType::kPeriodicHann);

  int n_fft() const { return n_fft_; }
  int hop() const { return hop_; }
  int num_bins() const { return n_fft_ / 2 + 1; }
  // The n_fft-long analysis/synthesis window.
  const std::vector<float>& window() const { return window_; }

  // 1 + floor(n_samples / hop).
  int64_t NumFrames(int64_t n_samples) const { return 1 + n_samples / hop_; }

  // Writes `x` reflect-padded by n_fft / 2 on both sides into `padded` (resized). Fails with
  // InvalidArgument when x has n_fft / 2 samples or fewer (reflection needs more, as in torch).
  absl::Status PadReflect(absl::Span<const float> x, std::vector<float>* padded) const;

  // Windows n_fft samples starting at `frame_start` and writes the num_bins() magnitudes |X_k| to
  // `magnitude`. Allocates nothing; the caller guarantees the sizes.
  void FrameMagnitude(const float* frame_start, float* magnitude) const;

  // Complex STFT of `x`, frame-major [frames][num_bins()], into `spec` (resized). Fails as PadReflect.
  absl::Status Forward(absl::Span<const float> x, std::vector<std::complex<float>>* spec) const;

  // Inverse STFT of `spec` [n_frames][num_bins()] (torch.istft, center=True, no length): windowed
  // overlap-add divided by the summed squared window, trimmed by n_fft / 2 on both sides, giving
  // hop * (n_frames - 1) samples in `out` (resized). Fails with InvalidArgument when the size of
  // `spec` is not n_frames * num_bins() or n_frames < 1.
  absl::Status Inverse(absl::Span<const std::complex<float>> spec, int64_t n_frames,
                       std::vector<float>* out) const;

 private:
  Stft(int n_fft, int hop, std::vector<float> window)
      : n_fft_(n_fft), hop_(hop), window_(std::move(window)) {}

  int n_fft_;
  int hop_;
  std::vector<float> window_;
};

}  // namespace lightspeech::features

#endif  // LIGHTSPEECH_FEATURES_STFT_H_
