#!/usr/bin/env bash
# `tern decode` end to end: hex arguments, hex and binary files, stdin; text and JSON output
# compared whole; malformed and cut-off input (exit 1, offsets, reason code); usage and input
# errors (exit 2, the flag named). Needs only bash and coreutils.
#
#   bash tests/cli/decode_test.sh <tern binary> <repository root>
set -u

tern=${1:?usage: decode_test.sh <tern binary> <repository root>}
root=${2:?usage: decode_test.sh <tern binary> <repository root>}
[[ -x $tern ]] || { echo "not executable: $tern" >&2; exit 1; }
[[ -d $root ]] || { echo "not a directory: $root" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run <stdin file> <args...>: sets out, err, rc.
run() {
  local input=$1
  shift
  "$tern" decode "$@" <"$input" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# expect <name> <exit code> <expected stdout> <stdin file> <args...>
expect() {
  local name=$1 want_rc=$2 want_out=$3 input=$4
  shift 4
  checks=$((checks + 1))
  run "$input" "$@"
  if [[ $rc != "$want_rc" ]]; then
    fail "$name: exit code $rc, expected $want_rc (stderr: $err)"
  elif [[ $out != "$want_out" ]]; then
    fail "$name: unexpected output"
    diff <(printf '%s\n' "$want_out") <(printf '%s\n' "$out") >&2
  fi
}

# expect_error <name> <exit code> <text stderr must contain> <stdin file> <args...>
expect_error() {
  local name=$1 want_rc=$2 want_err=$3 input=$4
  shift 4
  checks=$((checks + 1))
  run "$input" "$@"
  if [[ $rc != "$want_rc" ]]; then
    fail "$name: exit code $rc, expected $want_rc (stderr: $err)"
  elif [[ $err != *"$want_err"* ]]; then
    fail "$name: stderr lacks '$want_err': $err"
  fi
}

empty=$work/empty
: >"$empty"

# A 3.1.1 session: CONNECT (client "a"), PUBLISH QoS 1 "t" = "hi", PUBACK, DISCONNECT.
session_hex='10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61
32 07 00 01 74 00 01 68 69
40 02 00 01
e0 00'
session_text='offset 0: CONNECT (15 bytes, MQTT 3.1.1)
  protocol_name: MQTT
  clean_start: true
  keep_alive: 60 s
  client_id: "a"
  username: none
  password: none
  will: none
offset 15: PUBLISH (9 bytes, MQTT 3.1.1)
  dup: false
  qos: 1
  retain: false
  topic: "t"
  packet_id: 1
  payload: 2 bytes "hi"
offset 24: PUBACK (4 bytes, MQTT 3.1.1)
  packet_id: 1
offset 28: DISCONNECT (2 bytes, MQTT 3.1.1)'
session_json='{"offset":0,"size":15,"type":"CONNECT","protocol":4,"protocol_name":"MQTT","clean_start":true,"keep_alive":60,"client_id":"a","username":null,"password":null,"will":null}
{"offset":15,"size":9,"type":"PUBLISH","protocol":4,"dup":false,"qos":1,"retain":false,"topic":"t","packet_id":1,"payload":{"hex":"6869","text":"hi"}}
{"offset":24,"size":4,"type":"PUBACK","protocol":4,"packet_id":1}
{"offset":28,"size":2,"type":"DISCONNECT","protocol":4}'

# --- the four ways in -------------------------------------------------------------------------

# shellcheck disable=SC2086  # one argument per byte, on purpose
expect "hex arguments, text" 0 "$session_text" "$empty" $session_hex
expect "hex as one argument, JSON" 0 "$session_json" "$empty" --json "$session_hex"

printf '%s\n' "$session_hex" >"$work/session.hex"
expect "hex file" 0 "$session_json" "$empty" --json --file "$work/session.hex"
expect "hex on stdin" 0 "$session_text" "$work/session.hex"

printf '\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01a\x32\x07\x00\x01t\x00\x01hi\x40\x02\x00\x01\xe0\x00' \
  >"$work/session.bin"
expect "binary file" 0 "$session_json" "$empty" --json -f "$work/session.bin"
expect "binary on stdin" 0 "$session_text" "$work/session.bin"
expect "binary file via -f -" 0 "$session_json" "$work/session.bin" --json --file -
expect "--binary forces bytes" 0 "$session_json" "$work/session.bin" --json --binary

# Annotated fixtures paste as they are: 0x prefixes, colons, comments.
cat >"$work/fixture.hex" <<'EOF'
# a PINGREQ, then a PINGRESP
0xc0 0x00   // PINGREQ
d0:00       // PINGRESP
EOF
expect "fixture-style hex file" 0 '{"offset":0,"size":2,"type":"PINGREQ","protocol":5}
{"offset":2,"size":2,"type":"PINGRESP","protocol":5}' "$empty" --json -f "$work/fixture.hex"

# Forced to binary, the text "c0 00" is the bytes 63 30 ...: 0x63 is a PUBREL with flags 0011,
# which the spec forbids.
printf 'c0 00' >"$work/text.hex"
expect_error "--binary reads text as bytes" 1 "invalid_fixed_header_flags" "$work/text.hex" --binary

# --- protocol and direction -------------------------------------------------------------------

expect "default protocol 5.0" 0 '{"offset":0,"size":2,"type":"DISCONNECT","protocol":5,"reason_code":{"value":0,"name":"normal_disconnection"},"properties":[]}' \
  "$empty" --json e0 00
expect "--protocol 4" 0 '{"offset":0,"size":2,"type":"DISCONNECT","protocol":4}' \
  "$empty" --json --protocol 4 e0 00
# A 5.0 CONNECT switches the packets after it to 5.0 whatever --protocol says.
expect "CONNECT sets the level" 0 '{"offset":0,"size":15,"type":"CONNECT","protocol":5,"protocol_name":"MQTT","clean_start":false,"keep_alive":0,"client_id":"","username":null,"password":null,"will":null,"properties":[]}
{"offset":15,"size":3,"type":"DISCONNECT","protocol":5,"reason_code":{"value":4,"name":"disconnect_with_will_message"},"properties":[]}' \
  "$empty" --json -p 4 10 0d 00 04 4d 51 54 54 05 00 00 00 00 00 00 e0 01 04
expect_error "--direction server refuses a CONNECT" 1 \
  "offset 0: malformed packet: unexpected_packet at offset 0 (byte 0 of the packet)" \
  "$empty" --direction server 10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61
expect_error "--direction server: the reason code" 1 "reason code 0x82 protocol_error" \
  "$empty" --direction server 10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61
expect "--direction client accepts a CONNECT" 0 "$session_json" "$empty" --json -d client "$session_hex"
expect_error "--max-packet-size" 1 "packet_too_large" "$empty" --max-packet-size 8 "$session_hex"

# --- malformed and cut-off input: the packets before it, then the fault, exit 1 ----------------

# A PINGREQ, then a PUBLISH whose topic length (9) runs past the packet.
expect "malformed: text keeps the packets before it" 1 'offset 0: PINGREQ (2 bytes, MQTT 5.0)' \
  "$empty" c0 00 30 04 00 09 74 78
[[ $err == "tern decode: offset 2: malformed packet: truncated at offset 4 (byte 2 of the packet): "*"; MQTT 5 reason code 0x81 malformed_packet (Malformed Packet)" ]] ||
  fail "malformed: stderr is '$err'"
checks=$((checks + 1))
expect "malformed: JSON" 1 '{"offset":0,"size":2,"type":"PINGREQ","protocol":5}
{"offset":2,"error":"truncated","message":"a field runs past the end of the packet","error_offset":4,"offset_in_packet":2,"reason_code":{"value":129,"name":"malformed_packet"}}' \
  "$empty" --json c0 00 30 04 00 09 74 78
expect "topic alias 0: JSON names reason 0x94" 1 '{"offset":0,"error":"topic_alias_zero","message":"topic alias 0","error_offset":6,"offset_in_packet":6,"reason_code":{"value":148,"name":"topic_alias_invalid"}}' \
  "$empty" --json 30 08 00 01 74 03 23 00 00 78
expect_error "cut-off body" 1 "offset 2: incomplete packet: 4 of its 7 bytes present, 3 more needed" \
  "$empty" c0 00 30 05 00 01
expect "cut-off body: JSON" 1 '{"offset":0,"error":"incomplete","message":"the input ends inside a packet","available":4,"size":7,"missing":3}' \
  "$empty" --json 30 05 00 01
expect_error "cut-off fixed header" 1 "offset 0: incomplete packet: the input ends inside its fixed header (2 bytes present)" \
  "$empty" 30 80
expect "empty input decodes nothing" 0 "" "$empty" --binary

# --- usage and input errors: exit 2, the flag or the place named --------------------------------

expect_error "unknown flag" 2 "--colour" "$empty" --colour c0 00
expect_error "bad --protocol" 2 "--protocol" "$empty" --protocol 6 c0 00
expect_error "bad --direction" 2 "--direction" "$empty" --direction sideways c0 00
expect_error "--hex with --binary" 2 "--hex" "$empty" --hex --binary -f "$work/session.hex"
expect_error "--binary with hex arguments" 2 "--binary" "$empty" --binary c0 00
expect_error "hex arguments and --file" 2 "not both" "$empty" -f "$work/session.hex" c0 00
expect_error "missing file" 2 "--file: cannot open '$work/nope'" "$empty" -f "$work/nope"
expect_error "bad hex argument" 2 "hex argument 2 ('0z'), column 2: unexpected character 'z'" "$empty" c0 0z
expect_error "half a byte" 2 "a byte needs two hex digits" "$empty" c0 0
expect_error "bad hex file names the line" 2 "line 2 column 1: unexpected character 'x'" \
  "$empty" --hex -f <(printf 'c0 00\nxx\n')
checks=$((checks + 1))
"$tern" decode --help >"$work/out" 2>&1 && grep -q -- "--direction" "$work/out" ||
  fail "--help exits 0 and lists --direction"

echo "decode_test: $checks checks, $failures failed"
[[ $failures == 0 ]]
