#!/usr/bin/env bash
# Starts N local processes of a command as one distributed job on this machine, the way torchrun
# does: each gets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT. If one process
# fails, the others are stopped; the exit code is the first failure's (0 when all succeed).
#
#   tools/launch_local.sh --nproc=2 -- bazel-bin/train/train --data=data/corpus_en --run_dir=runs/ddp
#
# Options: --nproc=N (default 2), --port=P (default: $MASTER_PORT, else a free port), -h/--help.
set -uo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

nproc=2
port="${MASTER_PORT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --nproc=*) nproc="${1#--nproc=}" ;;
    --port=*) port="${1#--port=}" ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "launch_local: unknown option '$1' (use -- before the command)" >&2; usage >&2; exit 1 ;;
  esac
  shift
done
if [ $# -eq 0 ]; then echo "launch_local: no command given" >&2; usage >&2; exit 1; fi
if ! [[ "$nproc" =~ ^[1-9][0-9]*$ ]]; then echo "launch_local: --nproc must be a positive integer, got '$nproc'" >&2; exit 1; fi
if [ -z "$port" ]; then
  # A port that is free now: ask the kernel for one on the loopback interface.
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 29500)
fi

pids=()
for ((rank = 0; rank < nproc; rank++)); do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=$nproc MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$@" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM

# Poll: `wait PID` on a finished process returns its exit code (bash keeps it until asked).
status=0
live=("${pids[@]}")
while [ ${#live[@]} -gt 0 ]; do
  next=()
  for pid in "${live[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then next+=("$pid"); continue; fi
    wait "$pid"
    code=$?
    if [ $code -ne 0 ] && [ $status -eq 0 ]; then
      status=$code
      echo "launch_local: process $pid exited with $code; stopping the others" >&2
      kill "${pids[@]}" 2>/dev/null
    fi
  done
  live=("${next[@]}")
  [ ${#live[@]} -gt 0 ] && sleep 0.2
done
exit $status
