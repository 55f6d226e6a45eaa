#include "features/stft.h"

#include <fftw3.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"

namespace lightspeech::features {
namespace {

// FFTW's planner (creation and destruction of plans) is not thread-safe; executing a plan is.
absl::Mutex& PlannerMutex() {
  static absl::Mutex* mu = new absl::Mutex;
  return *mu;
}

// One thread's buffers and plans for one transform size. FFTW_ESTIMATE: the plan is a deterministic
// function of the size, so every thread and every run computes bit-identical features (on this
// machine FFTW_MEASURE was no faster for n = 1024 and took ~0.5 s to plan). Buffers come from fftwf_malloc, so the
// new-array execute functions may be used on them with the plans' alignment.
struct FftWorkspace {
  explicit FftWorkspace(int n) : n(n) {
    real = fftwf_alloc_real(n);
    spectrum = fftwf_alloc_complex(n / 2 + 1);
    absl::MutexLock lock(&PlannerMutex());
    forward = fftwf_plan_dft_r2c_1d(n, real, spectrum, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
    inverse = fftwf_plan_dft_c2r_1d(n, spectrum, real, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
  }
  ~FftWorkspace() {
    {
      absl::MutexLock lock(&PlannerMutex());
      fftwf_destroy_plan(forward);
      fftwf_destroy_plan(inverse);
    }
    fftwf_free(real);
    fftwf_free(spectrum);
  }
  FftWorkspace(const FftWorkspace&) = delete;
  FftWorkspace& operator=(const FftWorkspace&) = delete;

  int n;
  float* real;
  fftwf_complex* spectrum;
  fftwf_plan forward;
  fftwf_plan inverse;
};

// This thread's workspace for size n, created on first use and kept until the thread exits.
FftWorkspace& ThreadWorkspace(int n) {
  thread_local std::vector<std::unique_ptr<FftWorkspace>> cache;
  for (const auto& w : cache) {
    if (w->n == n) return *w;
  }
  cache.push_back(std::make_unique<FftWorkspace>(n));
  return *cache.back();
}

std::vector<float> MakeWindow(int n_fft, int win_length, WindowType type) {
  std::vector<float> window(n_fft, 0.0f);
  const int offset = (n_fft - win_length) / 2;
  const double a0 = type == WindowType::kPeriodicHann ? 0.5 : 0.54;
  const double a1 = 1.0 - a0;
  for (int i = 0; i < win_length; ++i) {
    window[offset + i] =
        static_cast<float>(a0 - a1 * std::cos(2.0 * M_PI * i / static_cast<double>(win_length)));
  }
  return window;
}

}  // namespace

absl::StatusOr<Stft> Stft::Create(int n_fft, int hop, int win_length, WindowType window) {
  if (n_fft < 2 || n_fft % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("stft: n_fft must be even and >= 2, got ", n_fft));
  }
  if (hop < 1) return absl::InvalidArgumentError(absl::StrCat("stft: hop must be >= 1, got ", hop));
  if (win_length < 1 || win_length > n_fft) {
    return absl::InvalidArgumentError(absl::StrCat("stft: win_length must be in [1, n_fft=", n_fft,
                                                   "], got ", win_length));
  }
  return Stft(n_fft, hop, MakeWindow(n_fft, win_length, window));
}

absl::Status Stft::PadReflect(absl::Span<const float> x, std::vector<float>* padded) const {
  const int64_t pad = n_fft_ / 2;
  const int64_t n = static_cast<int64_t>(x.size());
  if (n <= pad) {
    return absl::InvalidArgumentError(absl::StrCat("stft: reflect padding by ", pad,
                                                   " needs more than ", pad, " samples, got ", n));
  }
  padded->resize(n + 2 * pad);
  float* p = padded->data();
  for (int64_t i = 0; i < pad; ++i) p[i] = x[pad - i];
  std::memcpy(p + pad, x.data(), n * sizeof(float));
  for (int64_t i = 0; i < pad; ++i) p[pad + n + i] = x[n - 2 - i];
  return absl::OkStatus();
}

void Stft::FrameMagnitude(const float* frame_start, float* magnitude) const {
  FftWorkspace& w = ThreadWorkspace(n_fft_);
  const float* win = window_.data();
  for (int i = 0; i < n_fft_; ++i) w.real[i] = frame_start[i] * win[i];
  fftwf_execute_dft_r2c(w.forward, w.real, w.spectrum);
  const int bins = num_bins();
  for (int k = 0; k < bins; ++k) {
    const float re = w.spectrum[k][0], im = w.spectrum[k][1];
    magnitude[k] = std::sqrt(re * re + im * im);
  }
}

absl::Status Stft::Forward(absl::Span<const float> x,
                           std::vector<std::complex<float>>* spec) const {
  std::vector<float> padded;
  LS_RETURN_IF_ERROR(PadReflect(x, &padded));
  const int64_t frames = NumFrames(static_cast<int64_t>(x.size()));
  const int bins = num_bins();
  spec->resize(frames * bins);
  FftWorkspace& w = ThreadWorkspace(n_fft_);
  const float* win = window_.data();
  for (int64_t t = 0; t < frames; ++t) {
    const float* frame = padded.data() + t * hop_;
    for (int i = 0; i < n_fft_; ++i) w.real[i] = frame[i] * win[i];
    fftwf_execute_dft_r2c(w.forward, w.real, w.spectrum);
    std::memcpy(spec->data() + t * bins, w.spectrum, bins * sizeof(fftwf_complex));
  }
  return absl::OkStatus();
}

absl::Status Stft::Inverse(absl::Span<const std::complex<float>> spec, int64_t n_frames,
                           std::vector<float>* out) const {
  const int bins = num_bins();
  if (n_frames < 1 || static_cast<int64_t>(spec.size()) != n_frames * bins) {
    return absl::InvalidArgumentError(absl::StrCat("istft: expected ", n_frames, " x ", bins,
                                                   " bins, got ", spec.size()));
  }
  const int64_t full = n_fft_ + hop_ * (n_frames - 1);
  std::vector<float> sum(full, 0.0f), envelope(full, 0.0f);
  FftWorkspace& w = ThreadWorkspace(n_fft_);
  const float* win = window_.data();
  const float scale = 1.0f / static_cast<float>(n_fft_);  // FFTW's c2r is unnormalized.
  for (int64_t t = 0; t < n_frames; ++t) {
    std::memcpy(w.spectrum, spec.data() + t * bins, bins * sizeof(fftwf_complex));
    // A real signal's DC and Nyquist bins are real; drop imaginary parts as irfft does.
    w.spectrum[0][1] = 0.0f;
    w.spectrum[bins - 1][1] = 0.0f;
    fftwf_execute_dft_c2r(w.inverse, w.spectrum, w.real);
    float* s = sum.data() + t * hop_;
    float* e = envelope.data() + t * hop_;
    for (int i = 0; i < n_fft_; ++i) {
      s[i] += w.real[i] * scale * win[i];
      e[i] += win[i] * win[i];
    }
  }
  const int64_t pad = n_fft_ / 2;
  const int64_t length = hop_ * (n_frames - 1);
  out->resize(length);
  for (int64_t i = 0; i < length; ++i) {
    const float e = envelope[pad + i];
    (*out)[i] = e > 1e-11f ? sum[pad + i] / e : 0.0f;
  }
  return absl::OkStatus();
}

}  // namespace lightspeech::features
