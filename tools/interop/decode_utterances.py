"""Decodes payloads extracted by read_shards.js with Python's protobuf (Debian python3-protobuf) and
checks them against the manifest: per-shard record and frame counts, and each Utterance's internal
consistency. Usage: /usr/bin/python3 decode_utterances.py PB2_DIR CORPUS_DIR PAYLOAD_DIR COUNTS_JSONL"""
import collections
import json
import os
import sys

pb2_dir, corpus_dir, payload_dir, counts_file = sys.argv[1:5]
sys.path.insert(0, pb2_dir)
from google.protobuf import text_format  # noqa: E402
import manifest_pb2  # noqa: E402
import utterance_pb2  # noqa: E402

manifest = manifest_pb2.Manifest()
with open(os.path.join(corpus_dir, "manifest.pbtxt")) as f:
    text_format.Parse(f.read(), manifest)

node_counts = {}
with open(counts_file) as f:
    for line in f:
        row = json.loads(line)
        node_counts[row["shard"]] = row["records"]

frames = collections.Counter()
records = collections.Counter()
problems = []
for name in sorted(os.listdir(payload_dir)):
    shard = name.rsplit(".", 2)[0]
    u = utterance_pb2.Utterance()
    with open(os.path.join(payload_dir, name), "rb") as f:
        u.ParseFromString(f.read())
    if len(u.mel) != u.n_frames * u.n_mels:
        problems.append(f"{name}: {len(u.mel)} mel values for {u.n_frames}x{u.n_mels}")
    if u.alignment.durations and sum(u.alignment.durations) != u.n_frames:
        problems.append(f"{name}: durations sum {sum(u.alignment.durations)} != n_frames {u.n_frames}")
    if not u.id or u.format_version != 1:
        problems.append(f"{name}: id {u.id!r}, format_version {u.format_version}")
    frames[shard] += u.n_frames
    records[shard] += 1

for s in manifest.shards:
    if node_counts.get(s.path) != s.num_records or records[s.path] != s.num_records:
        problems.append(f"{s.path}: manifest {s.num_records} records, node read {node_counts.get(s.path)}, "
                        f"python decoded {records[s.path]}")
    if frames[s.path] != s.num_frames:
        problems.append(f"{s.path}: manifest {s.num_frames} frames, python decoded {frames[s.path]}")

if problems:
    print("interop: FAILED\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"interop: OK, {sum(records.values())} records in {len(manifest.shards)} shards read by "
      f"@roboflow/tfrecords framing and decoded by Python protobuf; counts match the manifest")
