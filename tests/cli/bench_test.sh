#!/usr/bin/env bash
# `tern bench` end to end against a throwaway mosquitto: short runs at QoS 0, 1 and 2 in 3.1.1
# and 5.0 (by count, by duration, with a rate, over two threads, with a one-to-one --sub-topic),
# read back from --csv and --json, and the figures checked for coherence — counts that add up,
# no loss at QoS 1/2, latency percentiles present and ordered. Also: an unreachable broker
# (exit 1, a reason), usage errors (exit 2, the flag named), no progress line off a terminal.
# Never asserts speed: CI machines are shared and noisy.
#
#   bash tests/cli/bench_test.sh <tern binary> <repository root>
set -u

tern=${1:?usage: bench_test.sh <tern binary> <repository root>}
root=${2:?usage: bench_test.sh <tern binary> <repository root>}
[[ -x $tern ]] || { echo "not executable: $tern" >&2; exit 1; }
[[ -d $root ]] || { echo "not a directory: $root" >&2; exit 1; }

scratch=$(mktemp -d)
# shellcheck source=../../scripts/lib/broker.sh
. "$root/scripts/lib/broker.sh"
cleanup() {
  broker_stop
  rm -rf "$scratch"
}
trap cleanup EXIT

# Queues big enough that the broker drops nothing in these short runs: mosquitto's defaults
# (1000 queued per subscriber, 20 in flight) would turn a fast run into reported loss. No Nagle
# on the broker's side either, or its first deliveries wait for delayed ACKs.
broker_start "$scratch/broker" "set_tcp_nodelay true
max_queued_messages 1000000
max_inflight_messages 100" || exit 1
trap cleanup EXIT  # broker_start set its own

failures=0
checks=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
check() {  # check <description> <command...>: counts a check, fails it when the command fails
  local what=$1
  shift
  checks=$((checks + 1))
  "$@" || fail "$what"
}

# bench <name> <args...>: runs `tern bench` against the broker (bounded); sets rc, out, err.
bench() {
  local name=$1
  shift
  timeout 60 "$tern" bench -p "$BROKER_PORT" --quiet "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"
  rc=$?
  out=$(cat "$scratch/$name.out")
  err=$(cat "$scratch/$name.err")
}

# read_csv <file>: the header and the row into the associative array `f`.
declare -A f
read_csv() {
  f=()
  local header row i
  IFS=, read -r -a header < <(sed -n 1p "$1")
  IFS=, read -r -a row < <(sed -n 2p "$1")
  for i in "${!header[@]}"; do f[${header[$i]}]=${row[$i]:-}; done
}

# Numeric comparisons of decimal fields (awk, so "12.5" works).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }
eq() { [[ $1 == "$2" ]]; }
no_carriage_return() { [[ $1 != *$'\r'* ]]; }

# coherent <name> <qos> <publishers> <fan-out per message> [exact sent]: checks one CSV result.
coherent() {
  local name=$1 q=$2 pubs=$3 fanout=$4 sent=${5:-}
  read_csv "$scratch/$name.out"
  check "$name: exit 0 (got $rc: $err)" eq "$rc" 0
  check "$name: a CSV header and one row" eq "$(wc -l <"$scratch/$name.out")" 2
  check "$name: publishers ${f[publishers]:-}" eq "${f[publishers]:-}" "$pubs"
  check "$name: qos ${f[qos]:-}" eq "${f[qos]:-}" "$q"
  check "$name: something was sent" gt "${f[sent]:-0}" 0
  [[ -n $sent ]] && check "$name: sent ${f[sent]:-} != $sent" eq "${f[sent]:-}" "$sent"
  check "$name: no connection failed" eq "${f[failed_connections]:-x}" 0
  check "$name: no publish errors" eq "${f[publish_errors]:-x}" 0
  check "$name: acknowledged ${f[acknowledged]:-} != sent ${f[sent]:-}" \
    eq "${f[acknowledged]:-x}" "${f[sent]:-y}"
  check "$name: expected ${f[expected]:-} != acknowledged × $fanout" \
    eq "${f[expected]:-x}" "$((${f[acknowledged]:-0} * fanout))"
  check "$name: nothing foreign" eq "${f[foreign]:-x}" 0
  if ((q > 0)); then
    check "$name: received ${f[received]:-} != expected ${f[expected]:-}" \
      eq "${f[received]:-x}" "${f[expected]:-y}"
    check "$name: lost ${f[lost]:-} at QoS $q" eq "${f[lost]:-x}" 0
    check "$name: duplicates ${f[duplicates]:-}" eq "${f[duplicates]:-x}" 0
    check "$name: unacknowledged ${f[unacknowledged]:-}" eq "${f[unacknowledged]:-x}" 0
  else
    check "$name: received ${f[received]:-} > expected ${f[expected]:-}" \
      le "${f[received]:-1}" "${f[expected]:-0}"
  fi
  if ((fanout > 0)); then
    check "$name: a latency for every delivery" eq "${f[latency_count]:-x}" "${f[received]:-y}"
    check "$name: min <= p50" le "${f[latency_min_us]:-1}" "${f[latency_p50_us]:-0}"
    check "$name: p50 <= p90" le "${f[latency_p50_us]:-1}" "${f[latency_p90_us]:-0}"
    check "$name: p90 <= p99" le "${f[latency_p90_us]:-1}" "${f[latency_p99_us]:-0}"
    check "$name: p99 <= p99.9" le "${f[latency_p99_us]:-1}" "${f[latency_p99_9_us]:-0}"
    check "$name: p99.9 <= max" le "${f[latency_p99_9_us]:-1}" "${f[latency_max_us]:-0}"
    check "$name: p50 > 0" gt "${f[latency_p50_us]:-0}" 0
    check "$name: receive rate > 0" gt "${f[receive_msg_per_s]:-0}" 0
  fi
  check "$name: publish rate > 0" gt "${f[publish_msg_per_s]:-0}" 0
  check "$name: CPU time measured" gt "$(awk -v u="${f[cpu_user_s]:-0}" -v s="${f[cpu_system_s]:-0}" 'BEGIN { print u + s }')" 0
  check "$name: peak RSS measured" gt "${f[peak_rss_bytes]:-0}" 0
  check "$name: ok" eq "${f[ok]:-}" true
  check "$name: no progress line off a terminal" no_carriage_return "$err"
}

# ---- by count: every QoS, both versions, 2 publishers fanned out to 2 subscribers
for v in 311 5; do
  for q in 0 1 2; do
    bench "count_v${v}_q$q" -V "$v" -q "$q" --pub 2 --sub 2 -C 500 --csv
    coherent "count_v${v}_q$q" "$q" 2 2 1000
  done
done
read_csv "$scratch/count_v311_q1.out"
check "protocol 3.1.1 reported" eq "${f[protocol]:-}" 3.1.1

# ---- by duration, over two threads, QoS 1 and 2
bench duration_q1 -q 1 --pub 2 --sub 2 -d 1 --threads 2 --csv
coherent duration_q1 1 2 2
bench duration_q2_v311 -V 311 -q 2 --pub 3 --sub 1 -d 1 --threads 2 --csv
coherent duration_q2_v311 2 3 1

# ---- one-to-one: subscriber i subscribes to publisher i's topic only
bench one_to_one -q 1 --pub 3 --sub 3 -t 'tern/test/%i/x' --sub-topic 'tern/test/%i/x' -C 200 --csv
coherent one_to_one 1 3 1 600

# ---- a rate: 3 publishers × 50 msg/s for 1 s cannot send hundreds (bounds kept loose)
bench rated -q 1 --pub 3 --sub 1 -r 50 -d 1 --csv
coherent rated 1 3 1
check "rated: sent ${f[sent]:-} <= 300 at 50 msg/s" le "${f[sent]:-999}" 300
check "rated: rate reported" eq "${f[rate_per_publisher]:-}" 50.000

# ---- JSON: one object with the figures, the same coherence
bench json -q 1 --pub 2 --sub 2 -C 300 --json
check "json: exit 0 (got $rc: $err)" eq "$rc" 0
for key in '"publishers": 2' '"sent": 600' '"acknowledged": 600' '"received": 1200' \
  '"expected": 1200' '"lost": 0' '"latency_us"' '"p50"' '"p99_9"' '"max"' '"peak_rss_bytes"' \
  '"ok": true'; do
  check "json: has $key" grep -qF "$key" "$scratch/json.out"
done
if command -v python3 >/dev/null; then
  check "json: valid, percentiles ordered" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
assert l["count"] == r["received"], l
assert 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99_9"] <= l["max"], l
assert r["receive"]["msg_per_s"] > 0 and r["publish"]["msg_per_s"] > 0, r
assert r["problems"] == [], r["problems"]
' "$scratch/json.out"
fi

# ---- the table (default output)
bench table -q 1 --pub 1 --sub 1 -C 100
check "table: exit 0 (got $rc: $err)" eq "$rc" 0
for row in "publish throughput" "receive throughput" "latency (µs)" "p99.9" "peak RSS" "CPU" \
  "100 sent, 100 acknowledged"; do
  check "table: has '$row'" grep -qF "$row" "$scratch/table.out"
done

# ---- a broker that is not there: exit 1, and why
closed_port=$BROKER_PORT
for candidate in $(seq $((BROKER_PORT + 1)) $((BROKER_PORT + 50))); do
  broker_port_accepts "$candidate" || { closed_port=$candidate; break; }
done
timeout 30 "$tern" bench -h 127.0.0.1 -p "$closed_port" --pub 2 --sub 1 --connect-timeout 2 -d 1 \
  >"$scratch/down.out" 2>"$scratch/down.err"
rc=$?
check "unreachable: exit 1 (got $rc)" eq "$rc" 1
check "unreachable: says the connection failed" grep -q "could not connect" "$scratch/down.err"
check "unreachable: names the publisher" grep -q "publisher 0" "$scratch/down.err"
check "unreachable: says why (refused)" grep -qi "refused" "$scratch/down.err"

# ---- usage errors: exit 2 and the flag named
usage() {  # usage <flag named in the message> <args...>
  local flag=$1
  shift
  timeout 10 "$tern" bench "$@" >"$scratch/usage.out" 2>"$scratch/usage.err"
  local got=$?
  check "usage '$*': exit 2 (got $got)" eq "$got" 2
  check "usage '$*': names $flag" grep -qF -- "$flag" "$scratch/usage.err"
  check "usage '$*': nothing on stdout" eq "$(cat "$scratch/usage.out")" ""
}
usage -q -q 3
usage --pub --pub 0
usage --pub --pub abc
usage --sub --sub -1
usage -s -s 8
usage -t -t 'a/%x'
usage -t -t 'a/+/b'
usage --sub-topic --sub-topic 'a/#/b'
usage --sub-topic --sub-topic '$share/g/a/+'
usage --rate --rate -5
usage --duration -d 0
usage -C -C 0
usage --inflight --inflight 70000
usage --threads --threads 3 --pub 1 --sub 1
usage -V -V 4
usage -p -p 0
usage -L -L 'http://x'
usage -L -L 'mqtt://localhost' -p 1883
usage --csv --csv --json
usage --bogus --bogus

timeout 10 "$tern" bench --help >"$scratch/help.out" 2>&1
rc=$?
check "--help: exit 0 (got $rc)" eq "$rc" 0
check "--help: lists --pub" grep -qF -- "--pub" "$scratch/help.out"
check "--help: -h is the host" grep -qE -- "-h,--host" "$scratch/help.out"

echo "bench_test: $checks checks, $failures failed"
((failures == 0))
