#!/usr/bin/env python3
"""Generates features/testdata: the test signals and their float64 torchaudio log-mel goldens.

Run from the workspace root:  /usr/bin/python3 features/testdata_gen/make_golden.py
Needs Debian's python3-torchaudio (0.13.1), python3-numpy and the espeak-ng CLI (espeak-ng 1.51).
Python is used only here, to make goldens; no test runs it.

Writes, for NAME in chirp, noise, speech:
  NAME.wav          16-bit mono PCM at 22050 Hz (the input; the tests read it with libsndfile)
  NAME.logmel.f32   raw little-endian float32, frame-major [frames][80]: torchaudio log-mel of
                    int16 / 32768 computed in float64 with the docs/DESIGN.md section 3 settings.
"""
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np
import torch
import torchaudio

RATE = 22050
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")
SPEECH_TEXT = "The quick brown fox jumps over the lazy dog, then rests."


def write_wav(path, pcm):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, path
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.reshape(-1, channels)[:, 0].copy(), rate


def chirp():
    # 0.75 s linear chirp from 60 Hz to 10 kHz at half scale.
    t = np.arange(int(0.75 * RATE)) / RATE
    f0, f1, dur = 60.0, 10000.0, 0.75
    phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / dur * t * t)
    return np.round(0.5 * 32767 * np.sin(phase)).astype(np.int16)


def noise():
    # 0.5 s of Gaussian white noise, sigma 0.1 full scale, seed 1234.
    rng = np.random.default_rng(1234)
    x = rng.normal(0.0, 0.1, int(0.5 * RATE))
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def speech():
    # espeak-ng's default voice speaks at 22050 Hz; resample with torchaudio if that ever changes.
    with tempfile.TemporaryDirectory() as d:
        raw = os.path.join(d, "speech.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", raw, SPEECH_TEXT], check=True)
        pcm, rate = read_wav(raw)
    if rate != RATE:
        x = torchaudio.functional.resample(torch.from_numpy(pcm / 32768.0), rate, RATE)
        pcm = np.clip(np.round(x.numpy() * 32768), -32768, 32767).astype(np.int16)
    return pcm


def log_mel(pcm):
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=RATE, n_fft=1024, win_length=1024, hop_length=256, f_min=0.0, f_max=8000.0,
        n_mels=80, window_fn=torch.hann_window, power=1.0, center=True, pad_mode="reflect",
        norm="slaney", mel_scale="slaney").double()
    x = torch.from_numpy(pcm.astype(np.float64) / 32768.0)
    return torch.log(torch.clamp(mel(x), min=1e-5)).T.contiguous().numpy()  # [frames, 80]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in [("chirp", chirp), ("noise", noise), ("speech", speech)]:
        path = os.path.join(OUT, name + ".wav")
        write_wav(path, make())
        pcm, _ = read_wav(path)
        lm = log_mel(pcm)
        lm.astype("<f4").tofile(os.path.join(OUT, name + ".logmel.f32"))
        print(f"{name}: {len(pcm)} samples, {lm.shape[0]} frames, log-mel in "
              f"[{lm.min():.3f}, {lm.max():.3f}]", file=sys.stderr)


if __name__ == "__main__":
    main()
