#!/usr/bin/env bash
# `tern pub` and `tern sub` against mosquitto_pub and mosquitto_sub: the same flags are given
# to both, and what the broker delivers (or what the subscriber prints) must be the same.
#
#   bash tests/cli/pubsub_test.sh <path to tern> <repo root>
#
# Starts its own mosquitto on 127.0.0.1 (scripts/lib/broker.sh). Every wait has a timeout.
# Each check prints what it compares and, when the outputs differ, a diff; the script exits
# non-zero when any check failed.
set -u

tern=${1:?usage: pubsub_test.sh <tern binary> <repo root>}
root=${2:?usage: pubsub_test.sh <tern binary> <repo root>}
tern=$(cd "$(dirname "$tern")" && pwd)/$(basename "$tern")

for tool in mosquitto_pub mosquitto_sub mosquitto_passwd; do
  command -v "$tool" >/dev/null || { echo "pubsub_test: $tool not found (mosquitto-clients)"; exit 1; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tern-pubsub-XXXXXX")
cleanup_scratch() { rm -rf "$scratch"; }

mosquitto_passwd -b -c "$scratch/passwords" alice secret >/dev/null 2>&1 || {
  echo "pubsub_test: mosquitto_passwd failed"; exit 1; }
# Started as root, mosquitto drops to its own user, which must be able to read these.
chmod 755 "$scratch"
chmod 644 "$scratch/passwords"

. "$root/scripts/lib/broker.sh"
# A password file with anonymous access still allowed: a user name with a wrong password is
# refused, everything else connects without credentials.
broker_start "$scratch/broker" "password_file $scratch/passwords" || exit 1
trap 'broker_stop; cleanup_scratch' EXIT
port=$BROKER_PORT
echo "broker on 127.0.0.1:$port"

failures=0
checks=0
run=0  # makes every check's topics unique, so retained messages never leak between checks

pass() { checks=$((checks + 1)); echo "  ok: $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "  FAIL: $1"; }

# compare <what> <expected file> <actual file>
compare() {
  if cmp -s "$2" "$3"; then
    pass "$1"
  else
    fail "$1"
    diff <(od -c "$2") <(od -c "$3") | head -40 | sed 's/^/      /'
  fi
}

# expect_eq <what> <expected> <actual>
expect_eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_contains <what> <file> <text>
expect_contains() {
  if grep -qF -- "$3" "$2"; then
    pass "$1"
  else
    fail "$1: '$3' not in output:"
    sed 's/^/      /' "$2" | head -10
  fi
}

# Starts `mosquitto_sub -C <n> <args>` on the check's topic and waits until its subscription
# is in place (it answers an empty probe). Sets SUB_PID and SUB_OUT.
start_capture() {
  local out=$1 count=$2
  shift 2
  SUB_OUT=$out
  timeout 20 mosquitto_sub -p "$port" -C "$count" "$@" >"$out" 2>"$out.err" &
  SUB_PID=$!
  sleep 0.3
}

wait_capture() {
  wait "$SUB_PID" 2>/dev/null
  local rc=$?
  [[ $rc -eq 124 ]] && echo "      (capture timed out; stderr: $(head -c 300 "$SUB_OUT.err"))"
  return 0
}

# pub_case <name> <count> <capture args> -- <pub args...>
# Captures what mosquitto_pub delivers, then what tern pub delivers, with the same arguments
# (the word TOPIC in them is replaced by a fresh topic), and compares.
pub_case() {
  local name=$1 count=$2 capture_args=$3
  shift 4
  local expected=$scratch/pub-$name.expected actual=$scratch/pub-$name.actual
  local tool out
  for tool in mosquitto_pub tern; do
    run=$((run + 1))
    local topic="t/$run/$name"
    local args=("${@//TOPIC/$topic}")
    out=$expected
    [[ $tool == tern ]] && out=$actual
    # shellcheck disable=SC2086  # capture_args are words
    start_capture "$out" "$count" -t "t/$run/#" $capture_args
    if [[ $tool == tern ]]; then
      timeout 20 "$tern" pub -p "$port" "${args[@]}" <"${PUB_STDIN:-/dev/null}" 2>"$out.puberr"
    else
      timeout 20 mosquitto_pub -p "$port" "${args[@]}" <"${PUB_STDIN:-/dev/null}" 2>"$out.puberr"
    fi
    local rc=$?
    wait_capture
    [[ $rc -ne 0 ]] && echo "      ($tool pub exited $rc: $(head -c 300 "$out.puberr"))"
    # The topic differs per run: make it the same placeholder in both outputs.
    sed -i "s#t/$run/#t/N/#g" "$out"
  done
  compare "pub $name: tern pub delivers what mosquitto_pub delivers" "$expected" "$actual"
}

echo "== tern pub against mosquitto_pub (captured with mosquitto_sub -v)"
fmt='%t|q%q|r%r|l%l|%x'
pub_case qos0 1 "-F $fmt -q 2" -- -t TOPIC -m hello
pub_case qos1 1 "-F $fmt -q 2" -- -t TOPIC -m hello -q 1
pub_case qos2 1 "-F $fmt -q 2" -- -t TOPIC -m hello -q 2
pub_case null 1 "-F $fmt" -- -t TOPIC -n
pub_case spaces 1 "-F $fmt" -- -t TOPIC -m '  two  words  '

printf 'binary\x00\x01\xff\xfe\r\nend' >"$scratch/binary.bin"
pub_case file-binary 1 "-F $fmt" -- -t TOPIC -f "$scratch/binary.bin"
: >"$scratch/empty.bin"
pub_case file-empty 1 "-F $fmt" -- -t TOPIC -f "$scratch/empty.bin"

printf 'first line\nsecond\n\nlast without newline' >"$scratch/lines.txt"
PUB_STDIN=$scratch/lines.txt pub_case stdin-lines 4 "-F $fmt" -- -t TOPIC -l
PUB_STDIN=$scratch/binary.bin pub_case stdin-file 1 "-F $fmt" -- -t TOPIC -s
PUB_STDIN=$scratch/lines.txt pub_case stdin-lines-qos1 4 "-F $fmt -q 1" -- -t TOPIC -l -q 1
pub_case repeat 3 "-F $fmt" -- -t TOPIC -m again --repeat 3
pub_case repeat-delay 2 "-F $fmt" -- -t TOPIC -m slow --repeat 2 --repeat-delay 0.2
pub_case v311 1 "-F $fmt" -- -t TOPIC -m v311 -V mqttv311 -q 1
pub_case v31 1 "-F $fmt" -- -t TOPIC -m v31 -V 31
pub_case v5 1 "-F $fmt -V 5" -- -t TOPIC -m v5 -V 5 -q 2
pub_case v5-properties 1 "-V 5 -F %t|%C|%R|%D|%E|%F|%P|%p" -- -t TOPIC -m props -V 5 \
  -D publish content-type text/plain -D publish response-topic reply/here \
  -D publish correlation-data corr-42 -D publish user-property k1 v1 \
  -D publish user-property k2 'v 2' -D publish payload-format-indicator 1 \
  -D publish message-expiry-interval 3600
pub_case v5-implied 1 "-V 5 -F %t|%P|%p" -- -t TOPIC -m implied -D publish user-property a b
pub_case url 1 "-F $fmt" -- -L "mqtt://127.0.0.1:$port/TOPIC" -m via-url
pub_case long-options 1 "-F $fmt" -- --topic TOPIC --message long --qos 1 --id tern-long-opts \
  --keepalive 30

# Retained: publish, then a fresh subscriber must receive it with the retain flag.
retained_case() {
  local tool out topic expected=$scratch/retain.expected actual=$scratch/retain.actual
  for tool in mosquitto_pub tern; do
    run=$((run + 1))
    topic="t/$run/retained"
    out=$expected
    [[ $tool == tern ]] && out=$actual
    if [[ $tool == tern ]]; then
      timeout 20 "$tern" pub -p "$port" -t "$topic" -m kept -r -q 1
    else
      timeout 20 mosquitto_pub -p "$port" -t "$topic" -m kept -r -q 1
    fi
    timeout 20 mosquitto_sub -p "$port" -t "$topic" -C 1 -F '%t|r%r|%p' >"$out"
    sed -i "s#t/$run/#t/N/#g" "$out"
    # Clear it again (with the same tool) and check that nothing is retained any more.
    if [[ $tool == tern ]]; then
      timeout 20 "$tern" pub -p "$port" -t "$topic" -r -n
    else
      timeout 20 mosquitto_pub -p "$port" -t "$topic" -r -n
    fi
    timeout 20 mosquitto_sub -p "$port" -t "$topic" -W 1 -F '%t|r%r|%p' >>"$out" 2>/dev/null
  done
  compare "pub -r: retained and cleared (-r -n) as with mosquitto_pub" "$expected" "$actual"
}
retained_case

# Will: a subscriber with a Will is killed (no DISCONNECT); the broker publishes the Will.
will_case() {
  local tool expected=$scratch/will.expected actual=$scratch/will.actual out topic pid
  for tool in mosquitto_sub tern; do
    run=$((run + 1))
    topic="t/$run/will"
    out=$expected
    [[ $tool == tern ]] && out=$actual
    start_capture "$out" 1 -t "$topic" -F '%t|q%q|r%r|%p' -q 1
    if [[ $tool == tern ]]; then
      timeout 20 "$tern" sub -p "$port" -t "t/$run/other" --will-topic "$topic" \
        --will-payload 'gone away' --will-qos 1 >/dev/null 2>&1 &
    else
      timeout 20 mosquitto_sub -p "$port" -t "t/$run/other" --will-topic "$topic" \
        --will-payload 'gone away' --will-qos 1 >/dev/null 2>&1 &
    fi
    pid=$!
    sleep 0.5
    # SIGKILL to the client itself (timeout's child), so the socket just closes.
    pkill -KILL -P "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    wait_capture
    sed -i "s#t/$run/#t/N/#g" "$out"
  done
  compare "--will-topic/--will-payload/--will-qos: Will published on abrupt close" \
    "$expected" "$actual"
}
will_case

# A Will must not be published after a normal disconnect.
run=$((run + 1))
start_capture "$scratch/nowill.out" 1 -t "t/$run/will" -W 2
timeout 20 "$tern" pub -p "$port" -t "t/$run/x" -m y --will-topic "t/$run/will" --will-payload no
wait_capture
expect_eq "no Will after a clean tern pub exit" "" "$(cat "$scratch/nowill.out")"

echo "== tern sub against mosquitto_sub (same messages, same flags)"

# sub_case <name> <messages publisher script> -- <sub args...>
# Runs mosquitto_sub and tern sub side by side with the same arguments (TOPIC replaced by the
# check's topic root), publishes the messages once, and compares their standard output. The
# publisher script is eval'ed with $base set to the topic root.
sub_case() {
  local name=$1 publish_script=$2
  shift 3
  run=$((run + 1))
  local base="s/$run"
  local args=("${@//TOPIC/$base}")
  local expected=$scratch/sub-$name.expected actual=$scratch/sub-$name.actual
  [[ -n ${SUB_BEFORE:-} ]] && eval "$SUB_BEFORE"
  timeout 20 mosquitto_sub -p "$port" "${args[@]}" >"$expected" 2>"$expected.err" &
  local mpid=$!
  timeout 20 "$tern" sub -p "$port" "${args[@]}" >"$actual" 2>"$actual.err" &
  local tpid=$!
  sleep 0.5
  eval "$publish_script"
  wait "$mpid"
  local mrc=$?
  wait "$tpid"
  local trc=$?
  # Timestamps differ between the two runs; the rest must not.
  sed -i -E 's/"tst":(\t?)"[^"]*"/"tst":\1"T"/g' "$expected" "$actual"
  compare "sub $name: tern sub prints what mosquitto_sub prints" "$expected" "$actual"
  expect_eq "sub $name: exit code as mosquitto_sub" "$mrc" "$trc"
}

mp() { timeout 20 mosquitto_pub -p "$port" "$@"; }

three='mp -t $base/a -m one; mp -t $base/b/c -m two -q 1; mp -t $base/a -m three -q 2'
sub_case payload "$three" -- -t 'TOPIC/#' -C 3
sub_case verbose "$three" -- -t 'TOPIC/#' -C 3 -v
sub_case verbose-qos2 "$three" -- -t 'TOPIC/#' -C 3 -v -q 2
sub_case no-eol "$three" -- -t 'TOPIC/#' -C 3 -N
sub_case null-verbose 'mp -t $base/n -n; mp -t $base/n -m ""' -- -t 'TOPIC/#' -C 2 -v
sub_case multiple-topics 'mp -t $base/x -m X; mp -t $base/y -m Y; mp -t $base/z -m Z' \
  -- -t 'TOPIC/x' -t 'TOPIC/z' -C 2 -v
sub_case filter-out 'mp -t $base/a -m skip; mp -t $base/b/1 -m skip2; mp -t $base/c -m keep' \
  -- -t 'TOPIC/#' -T 'TOPIC/a' -T 'TOPIC/b/#' -C 1 -v
sub_case format-basic "$three" -- -t 'TOPIC/#' -C 3 -q 2 \
  -F '[%t][%q][%r][%m][%l][%p][%x][%X][%%][@@][\t][\\]'
sub_case format-width "$three" -- -t 'TOPIC/#' -C 3 \
  -F '[%12t][%-12t][%5.3t][%.2t][%05l][%-5l|][%5m][%05m][%-4m|][%10p][%-10p|]'
# mosquitto_sub 2.0.11 cuts %x / %X short when a field width is given (its "%12x" of "one"
# prints "00000000006f"); tern pads the whole hex string, as the documentation describes.
run=$((run + 1))
timeout 20 "$tern" sub -p "$port" -t "s/$run" -C 1 -F '[%012x][%-8X|][%4x]' >"$scratch/hexwidth.out" &
hpid=$!
sleep 0.5
timeout 20 mosquitto_pub -p "$port" -t "s/$run" -m one
wait "$hpid"
expect_eq "sub -F hex with width and flags" "[0000006f6e65][6F6E65  |][6f6e65]" \
  "$(cat "$scratch/hexwidth.out")"
sub_case format-escapes "$three" -- -t 'TOPIC/#' -C 3 -F '%t\0%p\a\e\r\v\n'
sub_case format-no-eol "$three" -- -t 'TOPIC/#' -C 3 -F '%t=%p;' -N
sub_case format-v5 \
  'mp -V 5 -t $base/p -m v5 -q 1 -D publish content-type ct -D publish response-topic rt -D publish correlation-data cd -D publish message-expiry-interval 100 -D publish payload-format-indicator 1 -D publish user-property a b -D publish user-property c d' \
  -- -V 5 -t 'TOPIC/#' -C 1 -q 1 -F '[%C][%10C][%-5.1C|][%R][%D][%E][%05E][%F][%P][%A][%S]'
sub_case json "$three" -- -t 'TOPIC/#' -C 3 -q 2 -F '%j'
sub_case json-v5 \
  'mp -V 5 -t $base/p -m "say \"hi\"	\\ /" -q 1 -D publish content-type ct -D publish user-property a b -D publish user-property a c -D publish correlation-data cd -D publish payload-format-indicator 1'  \
  -- -V 5 -t 'TOPIC/#' -C 1 -q 1 -F '%j'
sub_case json-pretty "$three" -- -t 'TOPIC/#' -C 3 -F '%j' --pretty
json='{"a": [1, 2.50, {"b": null}], "c": {}, "d": [], "e": "x\u00e9\n", "f": true, "g": 1e3, "h": -0.1, "i": 12345678901234}'
sub_case json-payload "mp -t \$base/j -m '$json'; mp -t \$base/j -n" -- -t 'TOPIC/#' -C 2 -F '%J'
sub_case json-payload-pretty "mp -t \$base/j -m '$json'" -- -t 'TOPIC/#' -C 1 -F '%J' --pretty
sub_case json-invalid 'mp -t $base/j -m "not json"; mp -t $base/j -m "[1]"' \
  -- -t 'TOPIC/#' -C 2 -F '%J|'
expect_contains "sub %J: invalid JSON payload reported on stderr" \
  "$scratch/sub-json-invalid.actual.err" "not valid JSON on topic"
sub_case count-with-filter "$three" -- -t 'TOPIC/#' -T 'TOPIC/b/#' -C 2 -v

# Retained messages: prepared before the subscribers start.
SUB_BEFORE='mp -t $base/r1 -m old1 -r; mp -t $base/r2 -m old2 -r -q 1'
sub_case retained-flag 'mp -t $base/new -m fresh' -- -t 'TOPIC/#' -C 3 -F '%t %r %p'
sub_case no-retained 'mp -t $base/new -m fresh' -- -t 'TOPIC/#' -C 1 -R -v
sub_case retained-only 'mp -t $base/new -m fresh' -- -t 'TOPIC/#' --retained-only -v -W 10
SUB_BEFORE='mp -t $base/r1 -m old1 -r'
sub_case retained-v5 'mp -t $base/new -m fresh' -- -V 5 -t 'TOPIC/#' -C 2 -F '%t %r %p'
SUB_BEFORE=

sub_case timeout 'true' -- -t 'TOPIC/#' -W 1
expect_contains "sub -W: 'Timed out' on stderr" "$scratch/sub-timeout.actual.err" "Timed out"
sub_case exit-on-suback 'true' -- -t 'TOPIC/#' -E
sub_case url "$three" -- -L "mqtt://127.0.0.1:$port/TOPIC/a" -C 2 -v

# --remove-retained clears what it receives (run it alone: it changes the broker's state).
run=$((run + 1))
mp -t "s/$run/r" -m old -r
timeout 20 "$tern" sub -p "$port" -t "s/$run/#" --remove-retained --retained-only -W 10 \
  >/dev/null 2>&1 &
rpid=$!
sleep 0.5
mp -t "s/$run/fresh" -m end
wait "$rpid"
left=$(timeout 20 mosquitto_sub -p "$port" -t "s/$run/#" -W 1 -v 2>/dev/null)
expect_eq "sub --remove-retained: the retained message is gone" "" "$left"

echo "== interoperation: tern pub -> tern sub"
run=$((run + 1))
timeout 20 "$tern" sub -p "$port" -t "i/$run/#" -C 3 -q 2 -V 5 -F '%t|%q|%P|%p' \
  >"$scratch/interop.out" 2>&1 &
ipid=$!
sleep 0.5
timeout 20 "$tern" pub -p "$port" -t "i/$run/a" -m one -q 0
timeout 20 "$tern" pub -p "$port" -t "i/$run/b" -m two -q 1 -V 5 -D publish user-property u v
timeout 20 "$tern" pub -p "$port" -t "i/$run/c" -f "$scratch/lines.txt" -q 2
wait "$ipid"
printf 'i/%s/a|0||one\ni/%s/b|1|u:v|two\ni/%s/c|2||%s\n' "$run" "$run" "$run" \
  "$(cat "$scratch/lines.txt")" >"$scratch/interop.expected"
compare "tern pub (QoS 0/1/2, v5 properties, file) -> tern sub" "$scratch/interop.expected" \
  "$scratch/interop.out"

echo "== errors"

# error_case <what> <expected exit code> <text expected on stderr> -- <tern args...>
error_case() {
  local what=$1 want_rc=$2 want_text=$3
  shift 4
  timeout 20 "$tern" "$@" >"$scratch/error.out" 2>"$scratch/error.err" </dev/null
  local rc=$?
  expect_eq "$what: exit code" "$want_rc" "$rc"
  expect_contains "$what: message" "$scratch/error.err" "$want_text"
}

error_case "pub unknown flag" 1 "--bogus" -- pub -p "$port" -t a -m b --bogus
error_case "sub unknown flag" 1 "--frobnicate" -- sub -p "$port" -t a --frobnicate
error_case "pub missing -t" 1 "a topic is needed" -- pub -p "$port" -m b
error_case "pub missing message" 1 "a message is needed" -- pub -p "$port" -t a
error_case "pub two message sources" 1 "only one of" -- pub -p "$port" -t a -m b -n
error_case "sub missing -t" 1 "a topic to subscribe to is needed" -- sub -p "$port"
error_case "pub wildcard topic" 1 "invalid publish topic 'a/#'" -- pub -p "$port" -t 'a/#' -m b
error_case "sub bad filter" 1 "invalid subscription topic 'a/#/b'" -- sub -p "$port" -t 'a/#/b'
error_case "sub bad -T filter" 1 "invalid filter-out topic" -- sub -p "$port" -t a -T 'x#'
error_case "pub bad QoS" 1 "invalid QoS '3'" -- pub -p "$port" -t a -m b -q 3
error_case "pub bad will QoS" 1 "invalid will QoS '7'" -- pub -p "$port" -t a -m b \
  --will-topic w --will-qos 7
error_case "pub bad protocol version" 1 "invalid protocol version '7'" -- pub -p "$port" -t a \
  -m b -V 7
error_case "pub bad keepalive" 1 "invalid keepalive" -- pub -p "$port" -t a -m b -k 2
error_case "pub -c without id" 1 "-c needs a client id" -- pub -p "$port" -t a -m b -c
error_case "pub -D with 3.1.1" 1 "needs MQTT v5" -- pub -p "$port" -t a -m b -V 311 \
  -D publish content-type x
error_case "pub -D unknown property" 1 "unknown property 'colour'" -- pub -p "$port" -t a \
  -m b -D publish colour red
error_case "pub -D property on the wrong packet" 1 "content-type is not allowed on connect" \
  -- pub -p "$port" -t a -m b -D connect content-type x
error_case "pub -D bad number" 1 "invalid value 'soon'" -- pub -p "$port" -t a -m b \
  -D publish message-expiry-interval soon
error_case "bad -F specifier" 1 "Invalid format specifier 'z'" -- sub -p "$port" -t a -F '%z'
error_case "incomplete -F" 1 "Incomplete format specifier" -- sub -p "$port" -t a -F 'x%'
error_case "bad -F escape" 1 "Invalid escape specifier 'q'" -- sub -p "$port" -t a -F '\q'
error_case "unavailable flag" 1 "--unix is not available" -- pub --unix /tmp/sock -t a -m b
error_case "pub missing file" 1 "cannot open file" -- pub -p "$port" -t a \
  -f "$scratch/does-not-exist"
error_case "bad URL" 1 "invalid URL" -- pub -L "gopher://x/y" -m b

# A port with no broker: find one that refuses connections.
closed_port=$((port + 1))
while broker_port_accepts "$closed_port"; do closed_port=$((closed_port + 1)); done
error_case "pub connection refused" 1 "Connection refused" -- pub -p "$closed_port" -t a -m b
error_case "sub connection refused" 1 "Connection refused" -- sub -p "$closed_port" -t a

# Wrong credentials: the broker's verdict, and its code as the exit code, like mosquitto.
refusal_case() {
  local version=$1
  timeout 20 mosquitto_pub -p "$port" -t a -m b -u alice -P wrong -V "$version" >/dev/null 2>&1
  local mrc=$?
  error_case "pub wrong password (-V $version)" "$mrc" "Connection error: Not authorized" \
    -- pub -p "$port" -t a -m b -u alice -P wrong -V "$version"
  timeout 20 mosquitto_sub -p "$port" -t a -u alice -P wrong -V "$version" >/dev/null 2>&1
  mrc=$?
  error_case "sub wrong password (-V $version)" "$mrc" "Connection error: Not authorized" \
    -- sub -p "$port" -t a -u alice -P wrong -V "$version"
}
refusal_case mqttv311
refusal_case mqttv5

run=$((run + 1))
start_capture "$scratch/auth.out" 1 -t "t/$run/auth" -v
timeout 20 "$tern" pub -p "$port" -t "t/$run/auth" -m allowed -u alice -P secret
wait_capture
expect_eq "pub with the right password is delivered" "t/$run/auth allowed" \
  "$(cat "$scratch/auth.out")"

timeout 20 "$tern" pub --help >"$scratch/help.out" 2>&1
expect_eq "pub --help exits 0" 0 $?
expect_contains "pub --help describes -h" "$scratch/help.out" "--host"
timeout 20 "$tern" sub --help >"$scratch/help.out" 2>&1
expect_contains "sub --help describes -F" "$scratch/help.out" "-F"

# ---- TLS: a broker whose certificate names broker.invalid, signed by the test CA ----------
# mosquitto's --insecure skips only the host name check; the chain is still verified.
mkdir -p "$scratch/pki" && chmod 755 "$scratch/pki"
sh "$root/tests/integration/make_pki.sh" "$scratch/pki" || { echo "make_pki.sh failed"; exit 1; }
chmod 644 "$scratch"/pki/*
broker_stop
tls_started=no
for attempt in 1 2 3 4 5; do
  tls_port=$((20000 + RANDOM % 40000))
  broker_port_accepts "$tls_port" && continue
  if broker_start "$scratch/broker-tls" "listener $tls_port 127.0.0.1
cafile $scratch/pki/ca.pem
certfile $scratch/pki/other.pem
keyfile $scratch/pki/other.key"; then
    tls_started=yes
    break
  fi
done
if [[ $tls_started != yes ]]; then
  fail "a TLS broker could not be started"
else
  port=$BROKER_PORT
  run=$((run + 1))
  start_capture "$scratch/tls.out" 1 -t "t/$run/tls" -v
  timeout 20 "$tern" pub -h localhost -p "$tls_port" --cafile "$scratch/pki/ca.pem" --insecure \
    -t "t/$run/tls" -m "over TLS"
  expect_eq "pub --cafile --insecure: exit code" 0 $?
  wait_capture
  expect_eq "pub --cafile --insecure: delivered over TLS" "t/$run/tls over TLS" \
    "$(cat "$scratch/tls.out")"

  # tern exits 8 (MOSQ_ERR_TLS) for both refusals; mosquitto_pub exits 1 or 8 depending on
  # when OpenSSL notices. Both tools must refuse.
  timeout 20 mosquitto_pub -h localhost -p "$tls_port" --cafile "$scratch/pki/ca.pem" \
    -t a -m b >/dev/null 2>&1
  mrc=$?
  expect_eq "mosquitto_pub refuses a certificate for another host" yes \
    "$([[ $mrc -ne 0 ]] && echo yes)"
  error_case "pub: certificate for another host refused" 8 "does not name localhost" \
    -- pub -h localhost -p "$tls_port" --cafile "$scratch/pki/ca.pem" -t a -m b
  timeout 20 mosquitto_pub -h localhost -p "$tls_port" --cafile "$scratch/pki/rogue-ca.pem" \
    --insecure -t a -m b >/dev/null 2>&1
  mrc=$?
  expect_eq "mosquitto_pub --insecure refuses an unknown CA" yes "$([[ $mrc -ne 0 ]] && echo yes)"
  error_case "pub --insecure still refuses an unknown CA" 8 "TLS certificate verification failed" \
    -- pub -h localhost -p "$tls_port" --cafile "$scratch/pki/rogue-ca.pem" --insecure -t a -m b
fi

echo
if [[ $failures -ne 0 ]]; then
  echo "pubsub_test: $failures of $checks checks FAILED"
  exit 1
fi
echo "pubsub_test: all $checks checks passed"
