#!/usr/bin/python3
"""torchaudio peer for //tools:bench_preprocess (Debian python3-torchaudio 0.13, /usr/bin/python3).

Usage: bench_preprocess_torchaudio.py CORPUS OUT PROCESSES

Does the work //preprocess does, on the same LJSpeech-layout corpus, in PROCESSES forked worker
processes of one torch thread each (utterance k goes to process k % PROCESSES):
  - reads metadata.csv; per line: torchaudio.load (sox_io) of wavs/ID.wav, mono, resample to 22050 Hz
    (transforms.Resample built once per process: Hann-windowed sinc, width 6, rolloff 0.99);
  - log-mel with docs/DESIGN.md section 3 settings (MelSpectrogram n_fft 1024, hop 256, win 1024, periodic
    Hann, centered, reflect padding, power 1, 80 Slaney mels 0-8000 Hz, Slaney norm), ln(max(., 1e-5)),
    float32;
  - text: lowercase, a few abbreviations, digits spelled out, characters outside the English table
    dropped, whitespace collapsed, symbol ids;
  - one record per utterance (id, text, cleaned text, ids, n_frames, mel bytes), written
    length-prefixed with a CRC32 of the payload (zlib) to OUT/peer-NNNNN.bin, one file per process.
Prints "wall_seconds S" (from reading metadata to the last file closed, process start-up included)
and "utterances N".
"""
import multiprocessing
import os
import re
import struct
import sys
import time
import zlib

import torch
import torchaudio

RATE = 22050
TABLE = "_ !'(),-.:;?abcdefghijklmnopqrstuvwxyz"  # index 0 stands for <pad>
INDEX = {c: i for i, c in enumerate(TABLE) if i > 0}
ABBREVIATIONS = [(re.compile(r"\b%s\." % a, re.IGNORECASE), b) for a, b in
                 [("mr", "mister"), ("mrs", "misess"), ("dr", "doctor"), ("st", "saint")]]
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
       "fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        return ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    return number_words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000))


def clean(text):
    text = text.replace("$", " dollars ")
    for pattern, word in ABBREVIATIONS:
        text = pattern.sub(word, text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\d+", lambda m: number_words(int(m.group(0))), text)
    text = "".join(c for c in text.lower() if c in INDEX)
    return re.sub(r"\s+", " ", text).strip()


def work(args):
    corpus, out, index, count, lines = args
    torch.set_num_threads(1)
    resample = torchaudio.transforms.Resample(16000, RATE)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=RATE, n_fft=1024, win_length=1024, hop_length=256, f_min=0.0, f_max=8000.0,
        n_mels=80, window_fn=torch.hann_window, power=1.0, center=True, pad_mode="reflect",
        norm="slaney", mel_scale="slaney")
    written = 0
    with open(os.path.join(out, "peer-%05d.bin" % index), "wb") as f, torch.inference_mode():
        for k in range(index, len(lines), count):
            fields = lines[k].split("|")
            uid, text = fields[0], fields[-1] or fields[1]
            x, sr = torchaudio.load(os.path.join(corpus, "wavs", uid + ".wav"))
            x = x.mean(dim=0)
            if sr != RATE:
                x = resample(x) if sr == 16000 else torchaudio.functional.resample(x, sr, RATE)
            m = torch.log(torch.clamp(mel(x), min=1e-5)).T.contiguous()  # [frames, 80]
            cleaned = clean(text)
            ids = [INDEX[c] for c in cleaned]
            head = uid.encode() + b"\0" + fields[1].encode() + b"\0" + cleaned.encode() + b"\0"
            payload = (struct.pack("<II", len(head), len(ids)) + head +
                       struct.pack("<%di" % len(ids), *ids) + struct.pack("<i", m.shape[0]) +
                       m.numpy().tobytes())
            f.write(struct.pack("<QI", len(payload), zlib.crc32(payload)))
            f.write(payload)
            written += 1
    return written


def main():
    corpus, out, processes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = time.perf_counter()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(corpus, "metadata.csv"), encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        n = sum(pool.map(work, [(corpus, out, i, processes, lines) for i in range(processes)]))
    print("wall_seconds", time.perf_counter() - t0)
    print("utterances", n)


if __name__ == "__main__":
    main()
