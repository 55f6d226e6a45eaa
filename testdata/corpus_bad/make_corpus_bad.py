#!/usr/bin/python3
"""Writes testdata/corpus_bad: an LJSpeech-layout corpus with 3 good clips and one file or line per
kind of bad input that //preprocess must name and skip. Standard library only; deterministic.

Run from the workspace root: /usr/bin/python3 testdata/corpus_bad/make_corpus_bad.py
"""
import math
import os
import struct

RATE = 16000
HERE = os.path.dirname(os.path.abspath(__file__))
WAVS = os.path.join(HERE, "wavs")


def speechlike(seconds, f0):
    """A voiced-sounding signal: 5 harmonics of f0 under a 4 Hz syllable envelope, peak ~0.5."""
    n = int(round(seconds * RATE))
    out = []
    for i in range(n):
        t = i / RATE
        env = 0.5 * (1 - math.cos(2 * math.pi * 4 * t)) * 0.5
        out.append(env * sum(math.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 6)) / 1.5)
    return out


def riff(fmt_tag, bits, data, declared_data_bytes=None):
    """RIFF/WAVE mono at RATE. `declared_data_bytes` overrides the data chunk's size field."""
    block = bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, RATE, RATE * block, block, bits)
    size = len(data) if declared_data_bytes is None else declared_data_bytes
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body) + (size - len(data))) + body


def pcm16(x):
    return b"".join(struct.pack("<h", max(-32768, min(32767, int(round(v * 32768))))) for v in x)


def write(name, data):
    with open(os.path.join(WAVS, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(WAVS, exist_ok=True)
    for old in os.listdir(WAVS):
        os.unlink(os.path.join(WAVS, old))
    write("good1.wav", riff(1, 16, pcm16(speechlike(0.6, 120))))
    write("good2.wav", riff(1, 16, pcm16(speechlike(0.7, 180))))
    write("good3.wav", riff(1, 16, pcm16(speechlike(0.8, 220))))
    write("notaudio.wav", b"This is a text file with a .wav name, not audio.\n")
    full = pcm16(speechlike(0.5, 150))  # 8000 samples declared, the second half cut off
    write("truncated.wav", riff(1, 16, full[: len(full) // 2], declared_data_bytes=len(full)))
    write("empty.wav", riff(1, 16, b""))
    write("silent.wav", riff(1, 16, pcm16([0.0] * 8000)))
    x = speechlike(0.3, 200)  # 4800 float32 samples, 2 NaN and 1 +Inf
    x[100], x[2000], x[3000] = float("nan"), float("inf"), float("nan")
    write("nonfinite.wav", riff(3, 32, b"".join(struct.pack("<f", v) for v in x)))
    write("long.wav", riff(1, 16, pcm16(speechlike(2.0, 130))))  # > --max_seconds=1.5 in the test
    lines = [
        "good1|The first good clip.|The first good clip.",
        "good2|The second good clip.|",
        "missing|There is no audio file for this line.|",
        "notaudio|This file is not audio.|",
        "truncated|This file was cut short.|",
        "empty|This clip has no samples.|",
        "silent|This clip is all zeros.|",
        "nonfinite|This clip has NaN and Inf samples.|",
        "long|This clip is longer than the limit.|",
        "fields|one|two|three",
        "badutf8|caf\udcff latte|",
        "emptytext||",
        "sub/dir|A path separator in the id.|",
        "..|A parent folder as the id.|",
        "good1|A second line with the same id.|",
        "good3|The third good clip.|The third good clip.",
    ]
    with open(os.path.join(HERE, "metadata.csv"), "wb") as f:
        for line in lines:
            f.write(line.encode("utf-8", "surrogateescape") + b"\n")


if __name__ == "__main__":
    main()
