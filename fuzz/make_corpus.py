#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the annotated fixtures below.

    python3 fuzz/make_corpus.py            # (re)writes the seeds; other files are left alone

Packets are annotated hex, one field per line; everything after '//' is a comment. Seeds named
`ok_*` must be valid: the script checks that their Remaining Lengths add up (the fuzz targets
check the rest). Files found by fuzzing and kept as regressions live next to the seeds under
names starting with `crash-`, `regress-` or libFuzzer's hashes; this script never deletes them.

Decode targets take two control bytes before the stream (see fuzz/decode.cpp):
  byte 0 = sender | max_size_index << 2 | split_pattern << 5; byte 1 = move | shrink << 1 | seed << 2.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

SERVER, CLIENT, ANY = 0, 1, 2


def hexbytes(text):
    text = re.sub(r"//[^\n]*", "", text)
    digits = re.sub(r"[^0-9a-fA-F]", " ", text).split()
    out = bytearray()
    for d in digits:
        if len(d) % 2:
            raise ValueError("odd hex digit count in %r" % d)
        out += bytes.fromhex(d)
    return bytes(out)


def read_varint(b, i):
    value, shift = 0, 0
    for k in range(4):
        value |= (b[i + k] & 0x7F) << shift
        shift += 7
        if not b[i + k] & 0x80:
            return value, k + 1
    raise ValueError("varint too long")


def check_stream(name, b):
    """Every packet in an ok_ seed has a Remaining Length matching its bytes."""
    i = 0
    while i < len(b):
        length, n = read_varint(b, i + 1)
        i += 1 + n + length
    if i != len(b):
        raise ValueError("%s: remaining lengths do not add up (%d != %d)" % (name, i, len(b)))


# --- packets ------------------------------------------------------------------------------------

V5 = {
    "connect_min": """
        10 0e                    // CONNECT, remaining length 14
        00 04 4d 51 54 54        // "MQTT"
        05                       // level 5
        02                       // clean start
        00 3c                    // keep alive 60
        00                       // no properties
        00 01 63                 // client id "c"
    """,
    "connect_full": """
        10 5e                    // CONNECT, remaining length 94
        00 04 4d 51 54 54 05     // "MQTT" level 5
        ce                       // user, password, will QoS 1, will, clean start
        00 3c                    // keep alive
        26                       // properties: 38 bytes
          11 00 00 0e 10         // session expiry 3600
          21 00 14               // receive maximum 20
          27 00 01 00 00         // maximum packet size 65536
          22 00 0a               // topic alias maximum 10
          26 00 01 61 00 01 62   // user property a=b
          26 00 01 63 00 01 64   // user property c=d
          15 00 05 50 4c 41 49 4e  // authentication method "PLAIN"
        00 06 63 6c 69 65 6e 74  // client id "client"
        13                       // will properties: 19 bytes
          18 00 00 00 05         // will delay 5
          01 01                  // payload format: UTF-8
          02 00 00 00 3c         // message expiry 60
          03 00 04 74 65 78 74   // content type "text"
        00 03 77 2f 74           // will topic "w/t"
        00 03 62 79 65           // will payload "bye"
        00 01 75                 // user name "u"
        00 02 70 77              // password "pw"
    """,
    "connack_props": """
        20 16 00 00              // CONNACK, no session, success
        13                       // properties: 19 bytes
          22 00 0a               // topic alias maximum 10
          21 00 14               // receive maximum 20
          12 00 03 61 62 63      // assigned client id "abc"
          24 01                  // maximum QoS 1
          25 01                  // retain available
          13 00 1e               // server keep alive 30
    """,
    "connack_refused": "20 03 00 87 00   // CONNACK: Not authorized, no properties",
    "publish_qos0": """
        30 08 00 03 61 2f 62     // PUBLISH QoS 0, topic "a/b"
        00                       // no properties
        68 69                    // payload "hi"
    """,
    "publish_qos1_props": """
        32 20 00 01 74 00 01     // PUBLISH QoS 1, topic "t", id 1
        19                       // properties: 25 bytes
          01 01                  // payload format UTF-8
          02 00 00 00 0a         // message expiry 10
          23 00 01               // topic alias 1
          08 00 01 72            // response topic "r"
          09 00 02 01 02         // correlation data
          0b 05                  // subscription identifier 5
          03 00 01 78            // content type "x"
        78                       // payload "x"
    """,
    "publish_qos2_alias_only": """
        34 09 00 00              // PUBLISH QoS 2, empty topic
        00 02                    // id 2
        03 23 00 05              // topic alias 5
        70                       // payload
    """,
    "publish_dup_retain": "3b 06 00 01 64 00 07 00   // PUBLISH DUP QoS 1 RETAIN, empty payload",
    "puback_short": "40 02 00 01",
    "puback_reason_props": "40 08 00 01 10 04 1f 00 01 72   // No matching subscribers, reason string",
    "pubrec_error": "50 03 00 02 80",
    "pubrel_not_found": "62 04 00 03 92 00",
    "pubcomp": "70 02 00 04",
    "subscribe": """
        82 1e 00 0a              // SUBSCRIBE id 10
        02 0b 01                 // subscription identifier 1
        00 03 61 2f 2b 01        // "a/+" QoS 1
        00 03 62 2f 23 2e        // "b/#" QoS 2, no local, retain as published, handling 2
        00 0a 24 73 68 61 72 65 2f 67 2f 63 00   // "$share/g/c" QoS 0
    """,
    "suback": "90 06 00 0a 00 01 02 80",
    "unsubscribe": "a2 0b 00 0b 00 00 03 61 2f 2b 00 01 23",
    "unsuback": "b0 05 00 0b 00 00 11",
    "pingreq": "c0 00",
    "pingresp": "d0 00",
    "disconnect_short": "e0 00",
    "disconnect_will": "e0 07 04 05 11 00 00 00 00   // with Will, session expiry 0",
    "auth": """
        f0 0f 18                 // AUTH: continue authentication
        0d 15 00 05 50 4c 41 49 4e   // method "PLAIN"
           16 00 02 01 02        // data
    """,
}

V311 = {
    "connect_min": "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 63",
    "connect_full": """
        10 1c 00 04 4d 51 54 54 04
        ee 00 3c                 // user, password, will retain, will QoS 1, will, clean
        00 03 63 69 64           // client id "cid"
        00 01 77                 // will topic "w"
        00 02 6f 6b              // will payload
        00 01 75                 // user name
        00 01 70                 // password
    """,
    "connect_empty_id_persistent": "10 0c 00 04 4d 51 54 54 04 00 00 00 00 00",
    "connack_session": "20 02 01 00",
    "connack_refused": "20 02 00 05",
    "publish_qos0": "30 07 00 03 61 2f 62 68 69",
    "publish_qos1": "32 08 00 01 74 00 01 70 61 79",
    "publish_qos2_retain": "35 05 00 01 74 00 02",
    "publish_nonminimal_length": "30 87 00 00 03 61 2f 62 68 69   // Remaining Length 7 in 2 bytes",
    "puback": "40 02 00 01",
    "pubrec": "50 02 00 01",
    "pubrel": "62 02 00 01",
    "pubcomp": "70 02 00 01",
    "subscribe": "82 0c 00 01 00 03 61 2f 2b 01 00 01 23 02",
    "suback": "90 05 00 01 00 01 80",
    "unsubscribe": "a2 07 00 02 00 03 61 2f 62",
    "unsuback": "b0 02 00 02",
    "pingreq": "c0 00",
    "pingresp": "d0 00",
    "disconnect": "e0 00",
}

V31 = {
    "connect_mqisdp": """
        10 0f 00 06 4d 51 49 73 64 70   // "MQIsdp"
        03 02 00 3c 00 01 63            // level 3, clean, keep alive 60, id "c"
    """,
}

# Malformed packets: each should be rejected with the error in its name (for some versions).
BAD = {
    "reserved_type_0": "00 00",
    "auth_before_v5": "f0 00",
    "puback_flags": "41 02 00 01",
    "subscribe_flags_0": "80 06 00 01 00 01 61 00",
    "publish_qos3": "36 05 00 01 74 00 01",
    "publish_dup_qos0": "38 04 00 01 74 00",
    "varint_too_long": "30 ff ff ff ff 7f",
    "varint_non_minimal_v5": "c0 80 00",
        "truncated_topic": "30 04 00 05 61 62   // CVE-2019-17210: string past the packet",
    "trailing_bytes": "40 03 00 01 00   // 3.1.1; valid 5.0 (reason code)",
    "trailing_bytes_v5": "40 05 00 01 00 00 00",
    "pingreq_trailing": "c0 01 00",
    "utf8_invalid": "30 04 00 02 c3 28",
    "utf8_null": "30 04 00 02 61 00",
    "utf8_surrogate": "30 05 00 03 ed a0 80",
    "utf8_overlong": "30 04 00 02 c0 af",
    "protocol_name": "10 0d 00 04 4d 51 54 58 04 02 00 3c 00 01 63",
    "protocol_level_6": "10 0d 00 04 4d 51 54 54 06 02 00 3c 00 01 63",
    "mqisdp_level_4": "10 0f 00 06 4d 51 49 73 64 70 04 02 00 3c 00 01 63",
    "connect_reserved_flag": "10 0d 00 04 4d 51 54 54 04 03 00 3c 00 01 63",
    "connect_will_qos_no_will": "10 0d 00 04 4d 51 54 54 04 0a 00 3c 00 01 63",
    "connect_password_no_user_v311": "10 10 00 04 4d 51 54 54 04 42 00 3c 00 01 63 00 01 70",
    "connect_will_wildcard": "10 12 00 04 4d 51 54 54 04 06 00 3c 00 01 63 00 01 23 00 00",
    "connack_flags": "20 02 02 00",
    "connack_session_on_failure": "20 02 01 05",
    "connack_code_v311": "20 02 00 06",
    "packet_id_zero": "40 02 00 00",
    "publish_qos1_id_zero": "32 07 00 01 74 00 00 68 69",
    "publish_wildcard": "30 05 00 03 61 2f 2b",
    "publish_empty_topic_v311": "30 02 00 00",
    "subscribe_empty_v311": "82 02 00 01   // CVE-2024-10525-like: no filters",
    "subscribe_empty_v5": "82 03 00 01 00",
    "suback_empty": "90 02 00 01",
    "subscribe_reserved_options_v311": "82 08 00 01 00 03 61 2f 62 04",
    "subscribe_retain_handling_3": "82 09 00 01 00 00 03 61 2f 62 30",
    "subscribe_no_local_shared": "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 63 04",
    "subscribe_filter_invalid": "82 0a 00 01 00 05 61 2f 23 2f 62 00",
    "unknown_property": "40 06 00 01 00 02 7f 00",
    "duplicate_property": "40 0c 00 01 00 08 1f 00 01 61 1f 00 01 62",
    "property_not_allowed": "30 0a 00 01 74 05 11 00 00 00 01 78",
    "topic_alias_zero": "30 08 00 00 03 23 00 00 78 79",
    "receive_maximum_zero": "20 06 00 00 03 21 00 00",
    "auth_data_without_method": "f0 07 18 05 16 00 02 01 02",
    "property_length_past_end": "40 05 00 01 00 09 1f",
    "disconnect_reason_v5_invalid": "e0 01 03",
}


def seeds_for(version):
    """(name, stream bytes) for a decode target."""
    out = []
    own = {3: {**V311, **V31}, 4: V311, 5: V5}[version]
    for name, text in own.items():
        b = hexbytes(text)
        check_stream(name, b)
        out.append(("ok_" + name, b))
    # Streams: several packets back to back, each side's view of a session.
    if version == 5:
        server = [V5[k] for k in ("connack_props", "publish_qos1_props", "puback_short", "suback",
                                  "pingresp", "disconnect_short")]
        client = [V5[k] for k in ("connect_full", "subscribe", "publish_qos0", "pubrel_not_found",
                                  "unsubscribe", "auth", "disconnect_will")]
        downgrade = [V311["connect_min"], V311["publish_qos1"], V311["subscribe"]]
        out.append(("ok_stream_client_connect_v311", b"".join(map(hexbytes, downgrade))))
    else:
        server = [V311[k] for k in ("connack_session", "publish_qos1", "puback", "suback",
                                    "unsuback", "pingresp")]
        first = V31["connect_mqisdp"] if version == 3 else V311["connect_min"]
        client = [first] + [V311[k] for k in ("subscribe", "publish_qos2_retain", "pubrel",
                                              "unsubscribe", "pingreq", "disconnect")]
        upgrade = [V5["connect_min"], V5["publish_qos1_props"], V5["subscribe"]]
        out.append(("ok_stream_client_connect_v5", b"".join(map(hexbytes, upgrade))))
    out.append(("ok_stream_server", b"".join(map(hexbytes, server))))
    out.append(("ok_stream_client", b"".join(map(hexbytes, client))))
    for name, text in BAD.items():
        out.append(("bad_" + name, hexbytes(text)))
    # A header announcing 256 MiB followed by 3 bytes: nothing may be reserved for the rest.
    out.append(("partial_huge_remaining_length", hexbytes("30 ff ff ff 7f 00 01 74")))
    return out


def control(sender, max_index=0, pattern=0, move=False, shrink=False, seed=0):
    return bytes([sender | max_index << 2 | pattern << 5, int(move) | int(shrink) << 1 | seed << 2])


def decode_files(version):
    files = {}
    for name, b in seeds_for(version):
        sender = SERVER if "stream_server" in name else CLIENT if "stream_client" in name else ANY
        files[name + ".whole"] = control(sender) + b
        if name.startswith("ok_"):
            files[name + ".bytewise_move_shrink"] = control(sender, 0, 1, True, True) + b
            files[name + ".random_split"] = control(sender, 0, 5, False, False, 7) + b
    # Limits: a packet of 8 bytes against Maximum Packet Size 5 (index 2) and 9 (index 3).
    pub = hexbytes(V5["publish_qos0"] if version == 5 else V311["publish_qos0"])
    files["bad_packet_too_large.max5"] = control(ANY, 2, 1) + pub
    files["ok_packet_at_limit.max9_split"] = control(ANY, 3, 3) + pub
    files["bad_wrong_sender_connect_from_server.whole"] = control(SERVER) + hexbytes(
        V5["connect_min"] if version == 5 else V311["connect_min"])
    files["bad_wrong_sender_connack_from_client.whole"] = control(CLIENT) + hexbytes("20 02 00 00")
    return files


# --- roundtrip seeds: the byte choices fuzz/roundtrip.cpp's reader makes ------------------------

KIND = {"connect": 0, "connack": 1, "publish": 2, "puback": 3, "pubrec": 4, "pubrel": 5,
        "pubcomp": 6, "subscribe": 7, "suback": 8, "unsubscribe": 9, "unsuback": 10,
        "pingreq": 11, "pingresp": 12, "disconnect": 13, "auth": 14}
VER = {3: 0, 4: 1, 5: 2}
IDS = [0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A,
       0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A]


def s_raw(text):
    b = text.encode() if isinstance(text, str) else text
    assert len(b) <= 40
    return bytes([0, len(b)]) + b


def s_long(past_limit):
    return bytes([6, 1 if past_limit else 0])


def s_empty():
    return bytes([7])


def num(n):
    return bytes([2, n >> 8, n & 0xFF]) if n < 65536 else bytes([3]) + n.to_bytes(4, "big")


def props(*items):
    """items: (id, value) with value an int, a str, or a (name, value) pair."""
    assert len(items) < 5
    out = bytes([len(items)])
    for pid, value in items:
        out += bytes([IDS.index(pid)])
        if isinstance(value, int):
            out += num(value)
        elif isinstance(value, tuple):
            out += s_raw(value[0]) + s_raw(value[1])
        else:
            out += s_raw(value)
    return out


NO_PROPS = bytes([0])


def pid(n):
    return bytes([n]) if n < 8 else bytes([8, n >> 8, n & 0xFF])


def code(c):
    return bytes([0]) if c == 0 else bytes([255, c])


def rt(kind, version, body, cut=3):
    return bytes([KIND[kind], VER[version]]) + body + bytes([cut])


def roundtrip_files():
    f = {}
    f["publish_v5_qos1_props"] = rt("publish", 5, s_raw("a/b") + s_raw("hi") + b"\x02" + pid(42)
                                    + props((0x01, 1), (0x23, 5), (0x26, ("k", "v"))))
    f["publish_v311_qos0"] = rt("publish", 4, s_raw("t") + s_raw("payload") + b"\x00" + pid(0)
                                + NO_PROPS)
    f["publish_v5_alias_empty_topic"] = rt("publish", 5, s_empty() + s_raw("x") + b"\x06" + pid(9)
                                           + props((0x23, 3)))
    f["publish_v311_long_topic"] = rt("publish", 4, s_long(False) + s_raw("p") + b"\x00" + pid(0)
                                      + NO_PROPS)
    f["publish_v311_topic_too_long"] = rt("publish", 4, s_long(True) + s_raw("p") + b"\x00"
                                          + pid(0) + NO_PROPS)
    f["publish_v5_wildcard_topic"] = rt("publish", 5, s_raw("a/#") + s_raw("p") + b"\x00" + pid(0)
                                        + NO_PROPS)
    connect_v5 = (b"\x02" + b"\x01" + b"\x00\x3c" + s_raw("client") + b"\x07" + s_raw("user")
                  + s_raw("pw") + s_raw("will/t") + s_raw("bye") + b"\x01" + b"\x01"
                  + props((0x18, 5), (0x01, 1)) + props((0x11, 3600), (0x21, 20), (0x15, "PLAIN")))
    f["connect_v5_will_user_password"] = rt("connect", 5, connect_v5)
    connect_v311 = (b"\x01" + b"\x00" + b"\x00\x0a" + s_raw("c") + b"\x05" + s_raw("u")
                    + s_raw("w") + s_raw("m") + b"\x02" + b"\x00" + NO_PROPS + NO_PROPS)
    f["connect_v311_will"] = rt("connect", 4, connect_v311)
    f["connect_v31"] = rt("connect", 3, b"\x00\x01\x00\x3c" + s_raw("c31") + b"\x00" + NO_PROPS)
    f["connack_v5_props"] = rt("connack", 5, b"\x01" + code(0) + props((0x22, 10), (0x24, 1)))
    f["connack_v311_refused"] = rt("connack", 4, b"\x00" + code(0x87) + NO_PROPS)
    for k in ("puback", "pubrec", "pubrel", "pubcomp"):
        f[k + "_v5_reason"] = rt(k, 5, pid(7) + code(0x92 if k in ("pubrel", "pubcomp") else 0x10)
                                 + props((0x1F, "why")))
        f[k + "_v311"] = rt(k, 4, pid(1) + code(0) + NO_PROPS)
    subs = (bytes([3]) + s_raw("a/+") + b"\x01" + s_raw("b/#") + b"\x2e"
            + s_raw("$share/g/c") + b"\x00")
    f["subscribe_v5"] = rt("subscribe", 5, pid(10) + subs + props((0x0B, 1)))
    f["subscribe_v311"] = rt("subscribe", 4, pid(11) + bytes([2]) + s_raw("a/+") + b"\x01"
                             + s_raw("#") + b"\x02" + NO_PROPS)
    f["subscribe_v311_no_local"] = rt("subscribe", 4, pid(11) + bytes([1]) + s_raw("a") + b"\x04"
                                      + NO_PROPS)
    f["suback_v5"] = rt("suback", 5, pid(3) + bytes([3]) + code(0) + code(1) + code(0x80) + NO_PROPS)
    f["suback_v311_bad_code"] = rt("suback", 4, pid(3) + bytes([1]) + code(0x97) + NO_PROPS)
    f["unsubscribe_v5"] = rt("unsubscribe", 5, pid(4) + bytes([2]) + s_raw("a/b") + s_raw("+")
                             + props((0x26, ("x", "y"))))
    f["unsuback_v5"] = rt("unsuback", 5, pid(4) + bytes([2]) + code(0) + code(0x11) + NO_PROPS)
    f["unsuback_v311"] = rt("unsuback", 4, pid(4) + bytes([0]) + NO_PROPS)
    f["pingreq"] = rt("pingreq", 4, b"")
    f["pingresp"] = rt("pingresp", 5, b"")
    f["disconnect_v5_props"] = rt("disconnect", 5, code(0x04) + props((0x11, 0), (0x1F, "bye")))
    f["disconnect_v311"] = rt("disconnect", 4, code(0) + NO_PROPS)
    f["auth_v5"] = rt("auth", 5, code(0x18) + props((0x15, "PLAIN"), (0x16, "data")))
    f["auth_v311"] = rt("auth", 4, code(0) + NO_PROPS)
    return f


# --- topic_match seeds: flags, filter length, filter, topic -------------------------------------

TOPICS = [
    ("sport/#", "sport"), ("sport/#", "sport/tennis/player1"), ("sport/+", "sport/"),
    ("+/+", "/finance"), ("/+", "/finance"), ("+", "/finance"), ("#", "$SYS/broker"),
    ("$SYS/#", "$SYS/broker"), ("+/broker", "$SYS/broker"), ("$share/g/a/+", "a/b"),
    ("$share/g/#", "$SYS/x"), ("$share//a", "a"), ("$share/g+/a", "a"), ("$share/g", "g"),
    ("a/#/b", "a/x/b"), ("a/b#", "a/b#"), ("a+/b", "a+/b"), ("", "a"), ("a", ""),
    ("a//b", "a//b"), ("a/+/b", "a//b"), ("#", "/"), ("+", ""), (b"a\xc3\xa9", b"a\xc3\xa9"),
    (b"a\xc3", b"a\xc3"), (b"\xed\xa0\x80", b"x"), (b"a\x00b", b"a\x00b"), (b"\xf4\x90\x80\x80", b"x"),
]


def topic_files():
    f = {}
    for i, (filt, topic) in enumerate(TOPICS):
        fb = filt.encode() if isinstance(filt, str) else filt
        tb = topic.encode() if isinstance(topic, str) else topic
        f["pair_%02d" % i] = bytes([0, len(fb)]) + fb + tb
    f["derived_wildcards"] = bytes([2, 9]) + b"a/+/c/+/#"
    f["derived_shared"] = bytes([2, 12]) + b"$share/g/+/#"
    return f


# --- session seeds: programs for fuzz/session.cpp's interpreter ---------------------------------
# Configuration bytes (fuzz/session_ops.hpp, read_config), then one byte per operation (its value
# mod 24, see harness::run) followed by that operation's arguments (restart: a damage byte and a
# u16 position for the damaged copy it tries to restore).

OP = {"connect": 0, "opened": 1, "closed": 3, "feed": 4, "packet": 6, "publish": 9,
      "subscribe": 11, "unsubscribe": 12, "ack": 13, "disconnect": 14, "reauth": 15, "write": 16,
      "block": 18, "advance": 19, "deadline": 20, "idle": 21, "early": 22, "restart": 23}
PKT = {"connack": 0, "publish": 1, "puback": 2, "pubrec": 3, "pubrel": 4, "pubcomp": 5,
       "suback": 6, "unsuback": 7, "pingresp": 8, "auth": 10}


def s_config(v5=True, manual_ack=False, resubscribe=True, republish=True, offline_qos0=False,
             clean=1, keep_alive=0, auth=False, will=False, auto_write=True, inflight=6,
             receive_max=6, queued=5, queued_bytes=4, in_aliases=0, out_aliases=0, ack_timeout=0,
             max_packet=5, transmit=0, prompt_close=True, client=1, log=False, credentials=False):
    b0 = (v5 | manual_ack << 1 | resubscribe << 2 | republish << 3 | offline_qos0 << 4)
    b1 = clean | keep_alive << 2 | auth << 5 | will << 6 | auto_write << 7
    b2 = inflight | receive_max << 3
    b3 = queued | queued_bytes << 3 | in_aliases << 6
    b4 = out_aliases | ack_timeout << 2 | max_packet << 4
    b6 = client << 2 | credentials << 4 | prompt_close << 5 | log << 6
    return bytes([b0, b1, b2, b3, b4, 0, b6, 0])


def op(name, *args):
    return bytes([OP[name]]) + bytes(args)


def sess_raw(data):  # reader::raw: a length byte, then the bytes
    return bytes([len(data)]) + data


def pkt(kind, *fields, mode=0):  # a well-formed server packet fed with `mode`
    return op("packet", mode, PKT[kind], *fields)


def s_props(*pairs):  # (index into the op's allowed list, value byte)
    return bytes([len(pairs)]) + b"".join(bytes([i, v]) for i, v in pairs)


def publish_op(topic=1, q=1, payload=b"hello", retain=False, props=None):
    flags = topic | q << 3 | retain << 5
    out = op("publish", flags, len(payload)) + sess_raw(payload)
    return out + (b"\x01" + props if props else b"\x00")


def incoming(q=1, dup=False, pid=200, payload=b"data", props=b"\x00", mode=0):
    head = bytes([PKT["publish"], q | dup << 2]) + (bytes([pid]) if q else b"")
    return op("packet", mode) + head + bytes([len(payload)]) + sess_raw(payload) + props


CONNACK = pkt("connack", 0, 0, 0)           # success, no session, no properties
CONNACK_SP = pkt("connack", 1, 0, 0)        # session present
START = op("connect") + op("opened") + CONNACK
ACK_LAST = (0, 0, 0)                        # id: the client's first recent id; success; no props


def session_files():
    f = {}
    for v5, tag in ((True, "v5"), (False, "v311")):
        c = s_config(v5=v5, log=True)
        f["qos0_publish_" + tag] = c + START + publish_op(q=0)
        f["qos1_round_" + tag] = c + START + publish_op(q=1) + pkt("puback", *ACK_LAST)
        f["qos2_round_" + tag] = (c + START + publish_op(q=2) + pkt("pubrec", *ACK_LAST)
                                  + pkt("pubcomp", *ACK_LAST))
        f["incoming_qos012_" + tag] = (c + START + incoming(0) + incoming(1) + incoming(2)
                                       + incoming(2, dup=True) + pkt("pubrel", 0, 0, 0))
        f["subscribe_unsubscribe_" + tag] = (
            c + START + op("subscribe", 1, 1, 1, 0) + pkt("suback", 0, 0, 1, 0)
            + op("unsubscribe", 0, 0, 1, 0) + pkt("unsuback", 0, 0, 0, 0))
        f["reconnect_session_present_" + tag] = (
            c + START + publish_op(q=1) + publish_op(q=2) + op("closed") + op("deadline")
            + op("opened") + CONNACK_SP + pkt("puback", 0, 0, 0) + pkt("pubrec", 1, 0, 0)
            + pkt("pubcomp", 1, 0, 0))
        f["reconnect_session_lost_" + tag] = (
            c + START + publish_op(q=1) + publish_op(q=2) + pkt("pubrec", 1, 0, 0)
            + op("closed") + op("deadline") + op("opened") + CONNACK + pkt("puback", 2, 0, 0))
        f["keepalive_" + tag] = (s_config(v5=v5, keep_alive=1) + START + op("advance", 3)
                                 + pkt("pingresp") + op("advance", 3) + op("advance", 3)
                                 + op("deadline"))
        f["restart_" + tag] = (c + START + op("block") + publish_op(q=1) + publish_op(q=2)
                               + op("subscribe", 0, 0, 0, 0) + op("restart", 3, 0, 9)
                               + op("connect") + op("opened") + CONNACK_SP
                               + pkt("pubrec", 1, 0, 0))
        f["manual_ack_" + tag] = (s_config(v5=v5, manual_ack=True) + START + incoming(1)
                                  + incoming(2, pid=201) + op("ack", 0, 0, 0, 0)
                                  + op("ack", 1, 0, 0, 0) + pkt("pubrel", 1, 0, 0))
        f["offline_qos0_" + tag] = (s_config(v5=v5, offline_qos0=True) + publish_op(q=0)
                                    + publish_op(q=1) + START)
        f["partial_writes_" + tag] = (
            s_config(v5=v5, auto_write=False) + op("connect") + op("opened") + op("write", 5)
            + op("write", 255) + pkt("connack", 0, 0, 0, mode=1)
            + publish_op(q=1, payload=b"x" * 40)
            + op("write", 3) + op("write", 0) + op("write", 255)
            + pkt("puback", 0, 0, 0, mode=4) + incoming(1, mode=2 | 4 << 3) + op("write", 255))
        f["disconnect_" + tag] = c + START + publish_op(q=1) + op("disconnect", 0, 0)
        f["timeouts_" + tag] = (s_config(v5=v5, ack_timeout=1, auto_write=True) + START
                                + publish_op(q=1) + op("advance", 4) + op("deadline")
                                + op("opened") + op("idle", 0x10, 0) + op("deadline"))
    v5 = s_config()
    # 5.0 only: CONNACK properties (Receive Maximum 2, Topic Alias Maximum 2), topic aliases,
    # server DISCONNECT with a Server Reference, enhanced authentication.
    f["window_aliases_v5"] = (
        s_config(out_aliases=3) + op("connect") + op("opened")
        + pkt("connack", 0, 0, 2, 0, 2, 4, 2) + publish_op(q=1) + publish_op(q=1)
        + publish_op(q=1) + publish_op(q=0) + pkt("puback", 0, 0, 0) + pkt("puback", 1, 0, 0))
    f["server_disconnect_v5"] = (v5 + START + pkt("auth", 0, 0x80, 2, 0, 0, 1, 0)
                                 + op("deadline") + op("opened") + CONNACK)
    f["auth_v5"] = (s_config(auth=True, log=True, credentials=True) + op("connect") + op("opened")
                    + pkt("auth", 1, 0x80, 2, 0, 1, 2, 3) + pkt("connack", 0, 0, 1, 11, 1)
                    + op("reauth") + pkt("auth", 1, 0, 1, 0, 1))
    f["large_payload_v5"] = v5 + START + op("publish", 1 | 1 << 3, 201) + b"\x00"
    return f


def write_dir(target, files):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    return len(files)


def main():
    n = 0
    n += write_dir("fuzz_decode_v31", decode_files(3))
    n += write_dir("fuzz_decode_v311", decode_files(4))
    n += write_dir("fuzz_decode_v5", decode_files(5))
    n += write_dir("fuzz_roundtrip", roundtrip_files())
    n += write_dir("fuzz_topic_match", topic_files())
    n += write_dir("fuzz_session", session_files())
    print("wrote %d seeds under %s" % (n, os.path.relpath(CORPUS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
