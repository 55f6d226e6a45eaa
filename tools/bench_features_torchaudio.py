#!/usr/bin/env python3
"""torchaudio peer for //tools:bench_features (Debian python3-torchaudio, one thread).

Usage: bench_features_torchaudio.py WAV RUNS GL_WAV GL_ITERS
Times, with the docs/DESIGN.md section 3 settings in float32:
  log-mel: MelSpectrogram(...) then log(clamp(., 1e-5)) on WAV (int16 / 32768);
  Griffin-Lim: transforms.GriffinLim(n_iter=GL_ITERS, momentum=0.99, power=1) on the linear
  magnitude of GL_WAV's log-mel, inverted through pinv(filterbank) clamped at 0 (not timed).
Prints "logmel_seconds S" and "griffinlim_seconds S" (medians of RUNS runs after one warm-up).
"""
import statistics
import sys
import time
import wave

import numpy as np
import torch
import torchaudio

torch.set_num_threads(1)
RATE = 22050


def read(path):
    with wave.open(path, "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return torch.from_numpy(pcm.astype(np.float32) / 32768.0)


def median_seconds(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    wav, runs, gl_wav, gl_iters = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=RATE, n_fft=1024, win_length=1024, hop_length=256, f_min=0.0, f_max=8000.0,
        n_mels=80, window_fn=torch.hann_window, power=1.0, center=True, pad_mode="reflect",
        norm="slaney", mel_scale="slaney")
    x = read(wav)
    with torch.inference_mode():
        print("logmel_seconds", median_seconds(lambda: torch.log(torch.clamp(mel(x), min=1e-5)),
                                               runs))
        y = read(gl_wav)
        m = mel(y)  # [80, T]
        fb = mel.mel_scale.fb  # [513, 80]
        mag = torch.clamp(torch.linalg.pinv(fb.T) @ m, min=0.0)  # [513, T]
        gl = torchaudio.transforms.GriffinLim(n_fft=1024, n_iter=gl_iters, win_length=1024,
                                              hop_length=256, power=1.0, momentum=0.99)
        print("griffinlim_seconds", median_seconds(lambda: gl(mag), max(1, runs // 2)))


if __name__ == "__main__":
    main()
