#!/usr/bin/env bash
# Scaling of //train from 1 to N local processes (docs/BENCHMARKS.md, "distributed"): the same
# config and global batch, trained for STEPS steps on a synthetic corpus, once as one process with
# T threads and once as N processes (tools/launch_local.sh) with T threads each. Prints the
# steps/s and utterances/s of the last logged window of each run (train.log, rank 0).
#
#   bazel build //train //tools:make_sample_shards
#   tools/bench_distributed.sh [--nproc=2] [--threads=1] [--steps=20] [--config=train/configs/light_mas.pbtxt]
set -euo pipefail
nproc=2 threads=1 steps=20 config=train/configs/light_mas.pbtxt
for arg in "$@"; do
  case "$arg" in
    --nproc=*) nproc="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    --steps=*) steps="${arg#*=}" ;;
    --config=*) config="${arg#*=}" ;;
    *) echo "bench_distributed: unknown option '$arg'" >&2; exit 1 ;;
  esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/bazel-bin/tools/make_sample_shards" --out="$work/data" --utterances=400 --shards=4 --val_fraction=0 >/dev/null
common=(--config="$root/$config" --data="$work/data" --steps="$steps" --device=cpu
        --set="threads=$threads,log_every=$((steps / 2)),validate_every=0,checkpoint_every=100000,bf16=false")
report() {  # $1 label, $2 run folder
  local line
  line=$(grep -E "^step $steps " "$2/train.log" | tail -n 1)
  printf '%-28s steps/s %s  utterances/s %s\n' "$1" \
    "$(sed -E 's/.*steps_per_second=([^ ]+).*/\1/' <<<"$line")" \
    "$(sed -E 's/.*utterances_per_second=([^ ]+).*/\1/' <<<"$line")"
}
"$root/bazel-bin/train/train" "${common[@]}" --run_dir="$work/one" 2>/dev/null
report "1 process x $threads threads" "$work/one"
"$root/tools/launch_local.sh" --nproc="$nproc" -- "$root/bazel-bin/train/train" "${common[@]}" --run_dir="$work/many" 2>/dev/null
report "$nproc processes x $threads threads" "$work/many"
