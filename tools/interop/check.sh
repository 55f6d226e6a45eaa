#!/usr/bin/env bash
# Interop check: shards written by our C++ code are read by independent implementations: the TFRecord
# framing by the npm package @roboflow/tfrecords (Node.js), the Utterance payloads and the text-format
# manifest by Python's protobuf (Debian python3-protobuf). Also checks that a flipped byte is caught.
# Run by .ci/run; needs the npm registry the first time (npm ci into tools/interop/node_modules).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$here"
if [ ! -d node_modules/@roboflow/tfrecords ]; then npm ci --no-audit --no-fund --loglevel=error; fi

cd "$root"
bazel build //tools:make_sample_shards >/dev/null 2>&1 || bazel build //tools:make_sample_shards
"$root/bazel-bin/tools/make_sample_shards" --out="$work/corpus" --utterances=30 --shards=2 --val_fraction=0.2

mkdir -p "$work/pb2" "$work/payloads"
protoc --proto_path="$root" --python_out="$work/pb2" records/utterance.proto records/manifest.proto
touch "$work/pb2/records/__init__.py"
mv "$work/pb2/records/"*_pb2.py "$work/pb2/"

node "$here/read_shards.js" "$work/payloads" "$work"/corpus/*.tfrecord > "$work/counts.jsonl"
cat "$work/counts.jsonl"
/usr/bin/python3 "$here/decode_utterances.py" "$work/pb2" "$work/corpus" "$work/payloads" "$work/counts.jsonl"

# The independent reader must also reject damage: flip one payload byte of a copy.
cp "$work/corpus/train-00000-of-00002.tfrecord" "$work/damaged.tfrecord"
printf '\x5a' | dd of="$work/damaged.tfrecord" bs=1 seek=40 conv=notrunc status=none
mkdir -p "$work/damaged_payloads"
if node "$here/read_shards.js" "$work/damaged_payloads" "$work/damaged.tfrecord" > "$work/damaged.jsonl"; then
  echo "interop: FAILED: the independent reader accepted a damaged shard"; exit 1
fi
grep -q "payload CRC mismatch at byte 0" "$work/damaged.jsonl" || { cat "$work/damaged.jsonl"; exit 1; }
echo "interop: OK, a flipped payload byte is detected by the independent reader too"
