// Every way a byte stream can fail to be an MQTT packet, one or more cases per decode_errc, named
// after the clause that forbids it: the exact error, the offset of the blamed byte (a range where
// a field rather than a byte is at fault) and the reason code the fault maps to. Each case goes
// through decode_packet, a decoder given everything and a decoder fed one byte at a time, which
// must agree (support/codec_check.hpp). Property faults are in malformed_properties_test.cpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;
using e = decode_errc;

const decoder_options v311 = opts(v::v3_1_1);
const decoder_options v5 = opts(v::v5);

// Fixed-header faults must be found before the body arrives: decode_frame on the header alone.
void check_frame_fails(const byte_vector& header, const decoder_options& o, decode_errc code) {
  auto r = decode_frame(header, o);
  REQUIRE_FALSE(r.has_value());
  CHECK(str(name(r.error().code)) == str(name(code)));
}
}  // namespace

// --- fixed header --------------------------------------------------------------------------------

TEST_CASE("packet type 0 is reserved [MQTT 2.1.2]") {
  for (const auto version : {v::v3_1, v::v3_1_1, v::v5})
    TERN_CHECK_DECODE_FAILS(hex("00 00  // type 0, remaining length 0"), opts(version),
                            e::reserved_packet_type, 0);
  check_frame_fails(hex("00"), v5, e::reserved_packet_type);
  CHECK(to_reason_code(e::reserved_packet_type) == reason_code::malformed_packet);
}

TEST_CASE("AUTH (type 15) is reserved before 5.0 [MQTT 3.1.1 2.2.1]") {
  TERN_CHECK_DECODE_FAILS(hex("f0 00  // AUTH"), v311, e::reserved_packet_type, 0);
  TERN_CHECK_DECODE_FAILS(hex("f0 00  // AUTH"), opts(v::v3_1), e::reserved_packet_type, 0);
}

TEST_CASE("a packet the sender never sends is unexpected [MQTT 2.1.2 direction of flow]") {
  struct row {
    const char* what;
    const char* bytes;
    sender from;
    protocol_version version;
  };
  const row rows[] = {
      {"CONNECT from a server", "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", sender::server, v::v3_1_1},
      {"CONNACK from a client", "20 02 00 00", sender::client, v::v3_1_1},
      {"SUBSCRIBE from a server", "82 06 00 01 00 01 61 00", sender::server, v::v3_1_1},
      {"UNSUBSCRIBE from a server", "a2 05 00 01 00 01 61", sender::server, v::v3_1_1},
      {"SUBACK from a client", "90 03 00 01 00", sender::client, v::v3_1_1},
      {"UNSUBACK from a client", "b0 02 00 01", sender::client, v::v3_1_1},
      {"PINGREQ from a server", "c0 00", sender::server, v::v5},
      {"PINGRESP from a client", "d0 00", sender::client, v::v5},
      {"DISCONNECT from a 3.1.1 server", "e0 00", sender::server, v::v3_1_1},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    TERN_CHECK_DECODE_FAILS(hex(r.bytes), opts(r.version, r.from), e::unexpected_packet, 0);
    const auto bytes = hex(r.bytes);
    check_frame_fails(byte_vector(bytes.begin(), bytes.begin() + 2), opts(r.version, r.from),
                      e::unexpected_packet);
  }
  CHECK(to_reason_code(e::unexpected_packet) == reason_code::protocol_error);
}

TEST_CASE("reserved flag bits must hold their fixed values [MQTT-2.2.2-1, MQTT-2.2.2-2]") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
  };
  const row rows[] = {
      {"CONNECT 0001", "11 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", v::v3_1_1},
      {"CONNACK 0001", "21 02 00 00", v::v3_1_1},
      {"PUBACK 0010", "42 02 00 01", v::v3_1_1},
      {"PUBREC 1000", "58 02 00 01", v::v3_1_1},
      {"PUBREL 0000 [MQTT-3.6.1-1]", "60 02 00 01", v::v3_1_1},
      {"PUBREL 0011", "63 02 00 01", v::v3_1_1},
      {"PUBCOMP 0001", "71 02 00 01", v::v3_1_1},
      {"SUBSCRIBE 0000 [MQTT-3.8.1-1]", "80 06 00 01 00 01 61 00", v::v3_1_1},
      {"SUBSCRIBE 0011", "83 06 00 01 00 01 61 00", v::v3_1_1},
      {"SUBACK 0010", "92 03 00 01 00", v::v3_1_1},
      {"UNSUBSCRIBE 0000 [MQTT-3.10.1-1]", "a0 05 00 01 00 01 61", v::v3_1_1},
      {"UNSUBACK 0001", "b1 02 00 01", v::v3_1_1},
      {"PINGREQ 0001", "c1 00", v::v3_1_1},
      {"PINGRESP 1000", "d8 00", v::v3_1_1},
      {"DISCONNECT 0010", "e2 00", v::v3_1_1},
      {"DISCONNECT 5.0 0001", "e1 00", v::v5},
      {"AUTH 0100", "f4 00", v::v5},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    const auto bytes = hex(r.bytes);
    TERN_CHECK_DECODE_FAILS(bytes, opts(r.version), e::invalid_fixed_header_flags, 0);
    check_frame_fails(byte_vector(bytes.begin(), bytes.begin() + 2), opts(r.version),
                      e::invalid_fixed_header_flags);
  }
  CHECK(to_reason_code(e::invalid_fixed_header_flags) == reason_code::malformed_packet);
}

TEST_CASE("PUBLISH with QoS 3 is malformed [MQTT-3.3.1-4]") {
  const auto bytes = hex(R"(
    36        // PUBLISH, QoS bits 11
    05        // remaining length 5
    00 01 74  // topic "t"
    00 01     // packet identifier 1
  )");
  TERN_CHECK_DECODE_FAILS(bytes, v311, e::invalid_qos, 0);
  check_frame_fails(hex("36 05"), v5, e::invalid_qos);
  CHECK(to_reason_code(e::invalid_qos) == reason_code::malformed_packet);
}

TEST_CASE("Will QoS 3 is malformed [MQTT-3.1.2-14]") {
  const auto bytes = hex(R"(
    10 13              // CONNECT, remaining length 19
    00 04 4d 51 54 54  // "MQTT"
    04                 // level 4
    1e                 // flags: Will QoS 11, Will, clean session
    00 3c              // keep alive
    00 01 63           // client identifier "c"
    00 01 74           // Will Topic "t"
    00 01 78           // Will Message "x"
  )");
  TERN_CHECK_DECODE_FAILS(bytes, opts(v::v3_1_1, sender::client), e::invalid_qos, 9);
}

TEST_CASE("subscription option QoS 3 is malformed [MQTT-3-8.3-4]") {
  const auto bytes = hex(R"(
    82 06     // SUBSCRIBE, remaining length 6
    00 01     // packet identifier 1
    00 01 61  // filter "a"
    03        // options: QoS 11
  )");
  TERN_CHECK_DECODE_FAILS(bytes, v311, e::invalid_qos, 7);
}

TEST_CASE("PUBLISH with QoS 0 and DUP set is malformed [MQTT-3.3.1-2]") {
  const auto bytes = hex(R"(
    38        // PUBLISH, DUP, QoS 0
    03        // remaining length 3
    00 01 74  // topic "t"
  )");
  TERN_CHECK_DECODE_FAILS(bytes, v311, e::dup_on_qos0, 0);
  TERN_CHECK_DECODE_FAILS(bytes, v5, e::dup_on_qos0, 0);
  check_frame_fails(hex("38 03"), v5, e::dup_on_qos0);
  CHECK(to_reason_code(e::dup_on_qos0) == reason_code::malformed_packet);
}

TEST_CASE("a Variable Byte Integer of five bytes is malformed [MQTT 1.5.5]") {
  SUBCASE("Remaining Length, found from the fixed header alone") {
    const auto bytes = hex("30 ff ff ff ff 7f  // PUBLISH, remaining length of five bytes");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::variable_integer_too_long, 1, 5);
    check_frame_fails(bytes, v5, e::variable_integer_too_long);
  }
  SUBCASE("Property Length") {
    const auto bytes = hex(R"(
      30 08           // PUBLISH, remaining length 8
      00 01 74        // topic "t"
      ff ff ff ff 7f  // property length of five bytes
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::variable_integer_too_long, 5, 9);
  }
  SUBCASE("Subscription Identifier") {
    const auto bytes = hex(R"(
      30 0a              // PUBLISH, remaining length 10
      00 01 74           // topic "t"
      06                 // property length 6
      0b ff ff ff ff 7f  //   Subscription Identifier of five bytes
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v5, sender::server), e::variable_integer_too_long,
                                 6, 11);
  }
  CHECK(to_reason_code(e::variable_integer_too_long) == reason_code::malformed_packet);
}

TEST_CASE("5.0 forbids a non-minimal Variable Byte Integer [MQTT-1.5.5-1]; 3.1.1 accepts it") {
  SUBCASE("Remaining Length 0 in two bytes") {
    const auto bytes = hex("c0 80 00  // PINGREQ, remaining length 0 written as 80 00");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::non_minimal_variable_integer, 1, 2);
    check_frame_fails(bytes, v5, e::non_minimal_variable_integer);

    const packet p = decode_all_ways(bytes, v311);
    CHECK(std::holds_alternative<pingreq>(p));
  }
  SUBCASE("3.1.1 PUBLISH with remaining length 5 in four bytes") {
    const auto bytes = hex(R"(
      30           // PUBLISH
      85 80 80 00  // remaining length 5, padded to four bytes
      00 01 74     // topic "t"
      78 78        // payload "xx"
    )");
    const publish p = decode_as<publish>(bytes, v311);
    CHECK(str(p.topic) == "t");
    CHECK(str(as_chars(p.payload)) == "xx");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::non_minimal_variable_integer, 1, 4);
  }
  SUBCASE("Property Length 0 in two bytes") {
    const auto bytes = hex(R"(
      30 05     // PUBLISH, remaining length 5
      00 01 74  // topic "t"
      80 00     // property length 0 written as 80 00
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::non_minimal_variable_integer, 5, 6);
  }
  SUBCASE("Subscription Identifier 1 in two bytes") {
    const auto bytes = hex(R"(
      30 07     // PUBLISH, remaining length 7
      00 01 74  // topic "t"
      03        // property length 3
      0b 81 00  //   Subscription Identifier 1 written as 81 00
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v5, sender::server),
                                 e::non_minimal_variable_integer, 6, 8);
  }
  CHECK(to_reason_code(e::non_minimal_variable_integer) == reason_code::malformed_packet);
}

TEST_CASE("a Remaining Length over the Maximum Packet Size is refused from the fixed header") {
  const auto limit100 = opts(v::v5, sender::any, 100);
  SUBCASE("one byte over, before any byte of the body") {
    const auto header = hex("30 63  // PUBLISH, remaining length 99: 101 bytes in all");
    TERN_CHECK_DECODE_FAILS_NEAR(header, limit100, e::packet_too_large, 0, 1);
    check_frame_fails(header, limit100, e::packet_too_large);
    decoder d(limit100);
    bytes_view in(header);
    auto r = d.next(in);
    REQUIRE_FALSE(r.has_value());
    CHECK(d.buffered() <= 2);
  }
  SUBCASE("exactly at the limit is accepted") {
    const auto header = hex("30 62  // PUBLISH, remaining length 98: 100 bytes in all");
    auto r = decode_frame(header, limit100);
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    CHECK((*r)->size() == 100);
    decoder d(limit100);
    bytes_view in(header);
    auto n = d.next(in);
    REQUIRE(n.has_value());
    CHECK_FALSE(n->has_value());
  }
  SUBCASE("a three-byte Remaining Length") {
    const auto header = hex("30 c6 01  // PUBLISH, remaining length 198: 201 bytes in all");
    TERN_CHECK_DECODE_FAILS_NEAR(header, opts(v::v3_1_1, sender::any, 200), e::packet_too_large,
                                 0, 2);
  }
  CHECK(to_reason_code(e::packet_too_large) == reason_code::packet_too_large);
}

// --- body structure ------------------------------------------------------------------------------

TEST_CASE("a field running past the Remaining Length is truncated") {
  SUBCASE("topic length past the packet (CVE-2019-17210)") {
    const auto bytes = hex(R"(
      30 05     // PUBLISH, remaining length 5
      00 10     // topic length 16
      61 62 63  // only 3 bytes follow
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::truncated, 2, 7);
  }
  SUBCASE("QoS 1 PUBLISH with no room for the packet identifier [MQTT 3.3.2.2]") {
    const auto bytes = hex(R"(
      32 03     // PUBLISH QoS 1, remaining length 3
      00 01 61  // topic "a", then nothing
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::truncated, 2, 5);
  }
  SUBCASE("QoS 2 PUBLISH with one byte of packet identifier") {
    const auto bytes = hex("34 04  00 01 61  00  // PUBLISH QoS 2, topic \"a\", half an id");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::truncated, 2, 6);
  }
  SUBCASE("Property Length past the packet") {
    const auto bytes = hex(R"(
      30 05     // PUBLISH, remaining length 5
      00 01 74  // topic "t"
      05        // property length 5
      01        // only one byte follows
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::truncated, 5, 7);
  }
  SUBCASE("a property value past the Property Length") {
    const auto bytes = hex(R"(
      30 08     // PUBLISH, remaining length 8
      00 01 74  // topic "t"
      02        // property length 2
      02 00     //   Message Expiry Interval needs 4 bytes, the properties end after 1
      00 00     // payload
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::truncated, 5, 10);
  }
  SUBCASE("User Property value past the Property Length") {
    const auto bytes = hex(R"(
      40 0a           // PUBACK, remaining length 10
      00 01           // packet identifier 1
      00              // reason code
      06              // property length 6
      26 00 01 61     //   User Property name "a"
      00 05           //   value length 5: past the properties
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::truncated, 6, 12);
  }
  SUBCASE("CONNECT client identifier past the packet") {
    const auto bytes = hex(R"(
      10 0d              // CONNECT, remaining length 13
      00 04 4d 51 54 54  // "MQTT"
      04 02 00 3c        // level 4, clean session, keep alive 60
      00 05 61           // client identifier length 5, one byte follows
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::truncated, 12, 15);
  }
  SUBCASE("CONNECT with the user name flag but no user name") {
    const auto bytes = hex(R"(
      10 0d              // CONNECT, remaining length 13
      00 04 4d 51 54 54  // "MQTT"
      04 82 00 3c        // level 4, flags: user name, clean session; keep alive 60
      00 01 63           // client identifier "c"; the user name is missing
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::truncated, 9, 15);
  }
  SUBCASE("CONNECT with the Will flag but no Will Message") {
    const auto bytes = hex(R"(
      10 10              // CONNECT, remaining length 16
      00 04 4d 51 54 54  // "MQTT"
      04 06 00 3c        // level 4, flags: Will, clean session; keep alive 60
      00 01 63           // client identifier "c"
      00 01 74           // Will Topic "t"; the Will Message is missing
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::truncated, 9, 18);
  }
  SUBCASE("SUBSCRIBE filter without its options byte") {
    const auto bytes = hex("82 05  00 01  00 01 61  // SUBSCRIBE id 1, filter \"a\", no options");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::truncated, 4, 7);
  }
  SUBCASE("CONNACK of one byte") {
    TERN_CHECK_DECODE_FAILS_NEAR(hex("20 01 00"), v311, e::truncated, 2, 3);
  }
  SUBCASE("PUBACK of one byte") {
    TERN_CHECK_DECODE_FAILS_NEAR(hex("40 01 00"), v5, e::truncated, 2, 3);
    TERN_CHECK_DECODE_FAILS_NEAR(hex("40 01 00"), v311, e::truncated, 2, 3);
  }
  SUBCASE("UNSUBACK 5.0 Property Length past the packet") {
    TERN_CHECK_DECODE_FAILS_NEAR(hex("b0 03  00 01  09  // UNSUBACK, property length 9"), v5,
                                 e::truncated, 4, 5);
  }
  CHECK(to_reason_code(e::truncated) == reason_code::malformed_packet);
}

TEST_CASE("bytes after the last field are malformed") {
  TERN_CHECK_DECODE_FAILS(hex("c0 01 00  // PINGREQ with one byte of body"), v5,
                          e::trailing_bytes, 2);
  TERN_CHECK_DECODE_FAILS(hex("d0 01 00  // PINGRESP with one byte of body"), v311,
                          e::trailing_bytes, 2);
  TERN_CHECK_DECODE_FAILS(hex("e0 01 00  // 3.1.1 DISCONNECT with one byte of body"), v311,
                          e::trailing_bytes, 2);
  TERN_CHECK_DECODE_FAILS(hex("20 03 00 00 00  // 3.1.1 CONNACK of three bytes"), v311,
                          e::trailing_bytes, 4);
  TERN_CHECK_DECODE_FAILS(hex("40 03 00 01 00  // 3.1.1 PUBACK of three bytes"), v311,
                          e::trailing_bytes, 4);
  TERN_CHECK_DECODE_FAILS(hex("b0 03 00 01 00  // 3.1.1 UNSUBACK with a payload"), v311,
                          e::trailing_bytes, 4);
  TERN_CHECK_DECODE_FAILS(hex("40 05 00 01 00 00 ff  // 5.0 PUBACK, a byte after properties"), v5,
                          e::trailing_bytes, 6);
  TERN_CHECK_DECODE_FAILS(hex("e0 03 00 00 ff  // 5.0 DISCONNECT, a byte after properties"), v5,
                          e::trailing_bytes, 4);
  TERN_CHECK_DECODE_FAILS(hex("f0 03 00 00 ff  // AUTH, a byte after properties"), v5,
                          e::trailing_bytes, 4);
  TERN_CHECK_DECODE_FAILS(hex("20 04 00 00 00 ff  // 5.0 CONNACK, a byte after properties"), v5,
                          e::trailing_bytes, 5);
  const auto connect = hex(R"(
    10 0e              // CONNECT, remaining length 14
    00 04 4d 51 54 54  // "MQTT"
    04 02 00 3c        // level 4, clean session, keep alive 60
    00 01 63           // client identifier "c"
    ff                 // one byte too many
  )");
  TERN_CHECK_DECODE_FAILS(connect, opts(v::v3_1_1, sender::client), e::trailing_bytes, 15);
  CHECK(to_reason_code(e::trailing_bytes) == reason_code::malformed_packet);
}

TEST_CASE("ill-formed UTF-8 is malformed [MQTT-1.5.4-1]") {
  struct row {
    const char* what;
    const char* topic;  // the bytes of a topic of 1-4 bytes
  };
  const row rows[] = {
      {"overlong '/' C0 AF", "c0 af"},
      {"overlong U+0000 C0 80", "c0 80"},
      {"overlong three-byte E0 80 AF", "e0 80 af"},
      {"surrogate U+D800 ED A0 80", "ed a0 80"},
      {"surrogate U+DFFF ED BF BF", "ed bf bf"},
      {"past U+10FFFF F4 90 80 80", "f4 90 80 80"},
      {"truncated sequence E2 82", "e2 82"},
      {"lone continuation byte 80", "80"},
      {"byte FF", "ff"},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    const byte_vector topic = hex(r.topic);
    byte_vector bytes = {std::byte{0x30}, static_cast<std::byte>(2 + topic.size()), std::byte{0},
                         static_cast<std::byte>(topic.size())};
    bytes.insert(bytes.end(), topic.begin(), topic.end());
    const auto last = static_cast<std::uint32_t>(bytes.size() - 1);
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::invalid_utf8, 2, last);
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::invalid_utf8, 2, last);
  }
  SUBCASE("in a client identifier") {
    const auto bytes = hex(R"(
      10 0e              // CONNECT, remaining length 14
      00 04 4d 51 54 54  // "MQTT"
      04 02 00 3c        // level 4, clean session, keep alive 60
      00 02 c0 af        // client identifier: overlong '/'
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::invalid_utf8, 12, 15);
  }
  SUBCASE("in a User Property value") {
    const auto bytes = hex(R"(
      40 0b                 // PUBACK, remaining length 11
      00 01 00              // packet identifier 1, Success
      07                    // property length 7
      26 00 01 61 00 01 ff  //   User Property "a" = FF
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::invalid_utf8, 6, 12);
  }
  SUBCASE("in a Reason String") {
    const auto bytes = hex("e0 06  00 04  1f 00 01 c0  // DISCONNECT, Reason String C0");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::invalid_utf8, 4, 7);
  }
  SUBCASE("in a topic filter") {
    const auto bytes = hex(R"(
      82 08        // SUBSCRIBE, remaining length 8
      00 01        // packet identifier 1
      00 03 ed a0 80  // filter: surrogate U+D800
      00           // options
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::invalid_utf8, 4, 8);
  }
  SUBCASE("in a user name") {
    const auto bytes = hex(R"(
      10 0f              // CONNECT, remaining length 15
      00 04 4d 51 54 54  // "MQTT"
      04 82 00 3c        // level 4, flags: user name, clean session; keep alive 60
      00 00              // client identifier ""
      00 01 ff           // user name FF
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::invalid_utf8, 14, 16);
  }
  CHECK(to_reason_code(e::invalid_utf8) == reason_code::malformed_packet);
}

TEST_CASE("U+0000 in a UTF-8 string is malformed [MQTT-1.5.4-2]") {
  SUBCASE("topic name") {
    const auto bytes = hex("30 05  00 03 61 00 62  // PUBLISH, topic \"a\\0b\"");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::utf8_null_character, 2, 6);
  }
  SUBCASE("client identifier") {
    const auto bytes = hex(R"(
      10 0d              // CONNECT, remaining length 13
      00 04 4d 51 54 54  // "MQTT"
      04 02 00 3c        // level 4, clean session, keep alive 60
      00 01 00           // client identifier "\0"
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::utf8_null_character,
                                 12, 14);
  }
  SUBCASE("User Property name") {
    const auto bytes = hex(R"(
      40 0b                 // PUBACK, remaining length 11
      00 01 00 07           // packet identifier 1, Success, property length 7
      26 00 01 00 00 01 61  //   User Property "\0" = "a"
    )");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::utf8_null_character, 6, 12);
  }
  SUBCASE("UNSUBSCRIBE filter") {
    const auto bytes = hex("a2 05  00 01  00 01 00  // UNSUBSCRIBE, filter \"\\0\"");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, v311, e::utf8_null_character, 4, 6);
  }
  CHECK(to_reason_code(e::utf8_null_character) == reason_code::malformed_packet);
}

// --- CONNECT / CONNACK ---------------------------------------------------------------------------

TEST_CASE("CONNECT with a protocol name other than MQTT (or MQIsdp at level 3) [MQTT-3.1.2-1]") {
  SUBCASE("MQTX") {
    const auto bytes = hex("10 0c  00 04 4d 51 54 58  04 02 00 3c  00 00  // \"MQTX\" level 4");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::invalid_protocol_name,
                                 2, 7);
  }
  SUBCASE("lower case mqtt") {
    const auto bytes = hex("10 0d  00 04 6d 71 74 74  05 02 00 3c  00  00 00  // \"mqtt\" level 5");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v5, sender::client), e::invalid_protocol_name, 2,
                                 7);
  }
  SUBCASE("MQIsdp at level 4") {
    const auto bytes =
        hex("10 0e  00 06 4d 51 49 73 64 70  04 02 00 3c  00 00  // \"MQIsdp\" level 4");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::invalid_protocol_name,
                                 2, 9);
  }
  SUBCASE("an empty name") {
    const auto bytes = hex("10 08  00 00  04 02 00 3c  00 00  // \"\" level 4");
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::invalid_protocol_name,
                                 2, 3);
  }
  CHECK(to_reason_code(e::invalid_protocol_name) == reason_code::unsupported_protocol_version);
}

TEST_CASE("CONNECT with a protocol level other than 3, 4 or 5 [MQTT-3.1.2-2]") {
  for (const int level : {0, 1, 2, 6, 0x83, 0xff}) {
    CAPTURE(level);
    auto bytes = hex(R"(
      10 0c              // CONNECT, remaining length 12
      00 04 4d 51 54 54  // "MQTT"
      00                 // protocol level, patched below
      02 00 3c           // clean session, keep alive 60
      00 00              // client identifier ""
    )");
    bytes[8] = static_cast<std::byte>(level);
    TERN_CHECK_DECODE_FAILS(bytes, opts(v::v5, sender::client), e::unsupported_protocol_version,
                            8);
  }
  CHECK(to_reason_code(e::unsupported_protocol_version) ==
        reason_code::unsupported_protocol_version);
}

TEST_CASE("CONNECT flags that contradict each other are malformed") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
  };
  const row rows[] = {
      {"reserved bit set [MQTT-3.1.2-3]",
       "10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", v::v3_1_1},
      {"reserved bit set, 5.0", "10 0d 00 04 4d 51 54 54 05 03 00 3c 00 00 00", v::v5},
      {"reserved bit set, 3.1", "10 0e 00 06 4d 51 49 73 64 70 03 03 00 3c 00 00", v::v3_1},
      {"Will Retain without Will [MQTT-3.1.2-15]",
       "10 0c 00 04 4d 51 54 54 04 22 00 3c 00 00", v::v3_1_1},
      {"Will QoS 1 without Will [MQTT-3.1.2-13]",
       "10 0c 00 04 4d 51 54 54 04 0a 00 3c 00 00", v::v3_1_1},
      {"Will QoS 2 without Will, 5.0", "10 0d 00 04 4d 51 54 54 05 12 00 3c 00 00 00", v::v5},
      {"password without user name in 3.1.1 [MQTT-3.1.2-22]",
       "10 0f 00 04 4d 51 54 54 04 42 00 3c 00 00 00 01 70", v::v3_1_1},
      {"password without user name in 3.1",
       "10 11 00 06 4d 51 49 73 64 70 03 42 00 3c 00 00 00 01 70", v::v3_1},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    const std::uint32_t flags_at = r.version == v::v3_1 ? 11 : 9;
    TERN_CHECK_DECODE_FAILS(hex(r.bytes), opts(r.version, sender::client),
                            e::invalid_connect_flags, flags_at);
  }
  CHECK(to_reason_code(e::invalid_connect_flags) == reason_code::malformed_packet);
}

TEST_CASE("CONNACK Acknowledge Flags bits 7-1 are reserved [MQTT-3.2.2-1]") {
  TERN_CHECK_DECODE_FAILS(hex("20 02  02 00  // flags 0000 0010"), opts(v::v3_1_1, sender::server),
                          e::invalid_connack_flags, 2);
  TERN_CHECK_DECODE_FAILS(hex("20 02  80 00  // flags 1000 0000"), opts(v::v3_1_1, sender::server),
                          e::invalid_connack_flags, 2);
  TERN_CHECK_DECODE_FAILS(hex("20 03  fe 00 00  // flags 1111 1110"), opts(v::v5, sender::server),
                          e::invalid_connack_flags, 2);
  CHECK(to_reason_code(e::invalid_connack_flags) == reason_code::malformed_packet);
}

TEST_CASE("CONNACK with Session Present and a refusal [MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6]") {
  TERN_CHECK_DECODE_FAILS_NEAR(hex("20 02  01 05  // session present, not authorized"),
                               opts(v::v3_1_1, sender::server), e::session_present_on_failure, 2,
                               3);
  TERN_CHECK_DECODE_FAILS_NEAR(hex("20 03  01 87 00  // session present, 0x87"),
                               opts(v::v5, sender::server), e::session_present_on_failure, 2, 3);
  CHECK(to_reason_code(e::session_present_on_failure) == reason_code::protocol_error);
}

// --- fields --------------------------------------------------------------------------------------

TEST_CASE("a reason code the packet may not carry is malformed [MQTT 2.4]") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
    std::uint32_t at;
  };
  const row rows[] = {
      {"PUBACK 0x04", "40 03 00 01 04", v::v5, 4},
      {"PUBACK undefined 0x03", "40 03 00 01 03", v::v5, 4},
      {"PUBACK 0x92 (PUBREL/PUBCOMP only)", "40 03 00 01 92", v::v5, 4},
      {"PUBREC 0x8b", "50 04 00 01 8b 00", v::v5, 4},
      {"PUBREL 0x10 (0x00 and 0x92 only)", "62 03 00 01 10", v::v5, 4},
      {"PUBCOMP 0x80", "70 03 00 01 80", v::v5, 4},
      {"CONNACK 5.0 0x01", "20 03 00 01 00", v::v5, 3},
      {"CONNACK 5.0 0x8b Server shutting down", "20 03 00 8b 00", v::v5, 3},
      {"CONNACK 3.1.1 return code 6", "20 02 00 06", v::v3_1_1, 3},
      {"CONNACK 3.1.1 byte 0x84 (a 5.0 code)", "20 02 00 84", v::v3_1_1, 3},
      {"SUBACK 5.0 0x11", "90 05 00 01 00 00 11", v::v5, 6},
      {"SUBACK 3.1.1 0x03", "90 04 00 01 00 03", v::v3_1_1, 5},
      {"SUBACK 3.1.1 0x87 (a 5.0 code)", "90 03 00 01 87", v::v3_1_1, 4},
      {"UNSUBACK 5.0 0x01", "b0 04 00 01 00 01", v::v5, 5},
      {"DISCONNECT 5.0 0x10", "e0 01 10", v::v5, 2},
      {"DISCONNECT 5.0 0x01", "e0 02 01 00", v::v5, 2},
      {"AUTH 0x04", "f0 02 04 00", v::v5, 2},
      {"AUTH 0x80", "f0 02 80 00", v::v5, 2},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    TERN_CHECK_DECODE_FAILS(hex(r.bytes), opts(r.version, sender::any), e::invalid_reason_code,
                            r.at);
  }
  CHECK(to_reason_code(e::invalid_reason_code) == reason_code::malformed_packet);
}

TEST_CASE("packet identifier 0 is a protocol error [MQTT-2.2.1-3]") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
    std::uint32_t at;
  };
  const row rows[] = {
      {"PUBLISH QoS 1", "32 05 00 01 74 00 00", v::v3_1_1, 5},
      {"PUBLISH QoS 2, 5.0", "34 06 00 01 74 00 00 00", v::v5, 5},
      {"PUBACK", "40 02 00 00", v::v3_1_1, 2},
      {"PUBREC 5.0", "50 02 00 00", v::v5, 2},
      {"PUBREL", "62 02 00 00", v::v3_1_1, 2},
      {"PUBCOMP", "70 02 00 00", v::v3_1_1, 2},
      {"SUBSCRIBE", "82 06 00 00 00 01 61 00", v::v3_1_1, 2},
      {"SUBACK", "90 03 00 00 00", v::v3_1_1, 2},
      {"UNSUBSCRIBE", "a2 05 00 00 00 01 61", v::v3_1_1, 2},
      {"UNSUBACK", "b0 02 00 00", v::v3_1_1, 2},
      {"UNSUBACK 5.0", "b0 04 00 00 00 00", v::v5, 2},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    TERN_CHECK_DECODE_FAILS(hex(r.bytes), opts(r.version, sender::any), e::zero_packet_id, r.at);
  }
  CHECK(to_reason_code(e::zero_packet_id) == reason_code::protocol_error);
}

TEST_CASE("a wildcard in a PUBLISH topic is invalid [MQTT-3.3.2-2]") {
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 05  00 03 61 2f 2b  // topic \"a/+\""), v311,
                               e::topic_name_invalid, 2, 6);
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 06  00 03 61 2f 23  00  // topic \"a/#\", no properties"),
                               v5, e::topic_name_invalid, 2, 6);
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 04  00 01 2b  00  // topic \"+\", no properties"), v5,
                               e::topic_name_invalid, 2, 4);
  CHECK(to_reason_code(e::topic_name_invalid) == reason_code::topic_name_invalid);
}

TEST_CASE("an empty topic is invalid in 3.1.1 [MQTT-4.7.3-1]") {
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 02  00 00  // PUBLISH, topic \"\""), v311,
                               e::topic_name_invalid, 2, 3);
}

TEST_CASE("a wildcard in the Will Topic is invalid [MQTT-3.1.3-11, MQTT-4.7.1-1]") {
  const auto bytes = hex(R"(
    10 13              // CONNECT, remaining length 19
    00 04 4d 51 54 54  // "MQTT"
    04 06 00 3c        // level 4, flags: Will, clean session; keep alive 60
    00 00              // client identifier ""
    00 03 61 2f 23     // Will Topic "a/#"
    00 00              // Will Message ""
  )");
  TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(v::v3_1_1, sender::client), e::topic_name_invalid, 14,
                               18);
}

TEST_CASE("an empty topic without a Topic Alias is a protocol error in 5.0 [MQTT-3.3.2-1]") {
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 03  00 00  00  // topic \"\", no properties"), v5,
                               e::missing_topic_name, 2, 4);
  TERN_CHECK_DECODE_FAILS_NEAR(
      hex("30 05  00 00  02 01 01  // topic \"\", Payload Format Indicator only"), v5,
      e::missing_topic_name, 2, 6);
  CHECK(to_reason_code(e::missing_topic_name) == reason_code::protocol_error);
}

TEST_CASE("Topic Alias 0 is a protocol error [MQTT-3.3.2-8]") {
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 07  00 01 74  03 23 00 00  // topic \"t\", Topic Alias 0"),
                               v5, e::topic_alias_zero, 6, 8);
  TERN_CHECK_DECODE_FAILS_NEAR(hex("30 06  00 00  03 23 00 00  // topic \"\", Topic Alias 0"), v5,
                               e::topic_alias_zero, 5, 7);
  CHECK(to_reason_code(e::topic_alias_zero) == reason_code::topic_alias_invalid);
}

TEST_CASE("an invalid topic filter in SUBSCRIBE or UNSUBSCRIBE [MQTT-4.7.1-1, -2, MQTT-4.7.3-1]") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
    std::uint32_t from, to;
  };
  const row rows[] = {
      {"SUBSCRIBE \"a/#/b\"", "82 0a 00 01 00 05 61 2f 23 2f 62 00", v::v3_1_1, 4, 10},
      {"SUBSCRIBE \"a+\"", "82 07 00 01 00 02 61 2b 00", v::v3_1_1, 4, 7},
      {"SUBSCRIBE \"a#\"", "82 08 00 01 00 00 02 61 23 00", v::v5, 5, 8},
      {"SUBSCRIBE \"\"", "82 05 00 01 00 00 00", v::v3_1_1, 4, 6},
      {"SUBSCRIBE \"$share/g\" (no filter) [MQTT-4.8.2-1]",
       "82 0e 00 01 00 00 08 24 73 68 61 72 65 2f 67 00", v::v5, 5, 15},
      {"SUBSCRIBE \"$share/+/x\" [MQTT-4.8.2-2]",
       "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 2b 2f 78 00", v::v5, 5, 17},
      {"UNSUBSCRIBE \"a#\"", "a2 06 00 01 00 02 61 23", v::v3_1_1, 4, 7},
      {"UNSUBSCRIBE \"\"", "a2 05 00 01 00 00 00", v::v5, 5, 6},
      {"UNSUBSCRIBE \"+/b+\"", "a2 08 00 01 00 04 2b 2f 62 2b", v::v3_1_1, 4, 9},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    TERN_CHECK_DECODE_FAILS_NEAR(hex(r.bytes), opts(r.version, sender::client),
                                 e::topic_filter_invalid, r.from, r.to);
  }
  CHECK(to_reason_code(e::topic_filter_invalid) == reason_code::topic_filter_invalid);
}

TEST_CASE("SUBSCRIBE, UNSUBSCRIBE, SUBACK and UNSUBACK without entries (CVE-2024-10525)") {
  struct row {
    const char* what;
    const char* bytes;
    protocol_version version;
  };
  const row rows[] = {
      {"SUBSCRIBE 3.1.1 [MQTT-3.8.3-3]", "82 02 00 01", v::v3_1_1},
      {"SUBSCRIBE 5.0", "82 03 00 01 00", v::v5},
      {"UNSUBSCRIBE 3.1.1 [MQTT-3.10.3-2]", "a2 02 00 01", v::v3_1_1},
      {"UNSUBSCRIBE 5.0", "a2 03 00 01 00", v::v5},
      {"SUBACK 3.1.1", "90 02 00 01", v::v3_1_1},
      {"SUBACK 5.0", "90 03 00 01 00", v::v5},
      {"UNSUBACK 5.0", "b0 03 00 01 00", v::v5},
  };
  for (const row& r : rows) {
    CAPTURE(std::string(r.what));
    const auto bytes = hex(r.bytes);
    TERN_CHECK_DECODE_FAILS_NEAR(bytes, opts(r.version, sender::any), e::empty_list, 2,
                                 static_cast<std::uint32_t>(bytes.size()));
  }
  CHECK(to_reason_code(e::empty_list) == reason_code::protocol_error);
}

TEST_CASE("reserved Subscription Options bits are malformed [MQTT-3.8.3-5, 3.1.1 MQTT-3-8.3-4]") {
  TERN_CHECK_DECODE_FAILS(hex("82 07  00 01  00  00 01 61  40  // 5.0 options bit 6"), v5,
                          e::invalid_subscription_options, 8);
  TERN_CHECK_DECODE_FAILS(hex("82 07  00 01  00  00 01 61  80  // 5.0 options bit 7"), v5,
                          e::invalid_subscription_options, 8);
  TERN_CHECK_DECODE_FAILS(hex("82 06  00 01  00 01 61  04  // 3.1.1 options bit 2"), v311,
                          e::invalid_subscription_options, 7);
  TERN_CHECK_DECODE_FAILS(hex("82 06  00 01  00 01 61  10  // 3.1.1 options bit 4"), v311,
                          e::invalid_subscription_options, 7);
  CHECK(to_reason_code(e::invalid_subscription_options) == reason_code::malformed_packet);
}

TEST_CASE("Retain Handling 3 is a protocol error [MQTT-3.8.3.1]") {
  TERN_CHECK_DECODE_FAILS(hex("82 07  00 01  00  00 01 61  30  // Retain Handling 11"), v5,
                          e::invalid_retain_handling, 8);
  CHECK(to_reason_code(e::invalid_retain_handling) == reason_code::protocol_error);
}

TEST_CASE("No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]") {
  const auto bytes = hex(R"(
    82 10                                // SUBSCRIBE, remaining length 16
    00 01                                // packet identifier 1
    00                                   // property length 0
    00 0a 24 73 68 61 72 65 2f 67 2f 78  // filter "$share/g/x"
    04                                   // options: No Local
  )");
  TERN_CHECK_DECODE_FAILS_NEAR(bytes, v5, e::no_local_on_shared_subscription, 5, 17);
  CHECK(to_reason_code(e::no_local_on_shared_subscription) == reason_code::protocol_error);
}

TEST_CASE("every decode_errc has a name and a sentence") {
  for (int i = 1; i <= static_cast<int>(e::authentication_data_without_method); ++i) {
    CAPTURE(i);
    const auto c = static_cast<decode_errc>(i);
    CHECK_FALSE(name(c).empty());
    CHECK_FALSE(to_string(c).empty());
    CHECK(str(name(c)) != str(to_string(c)));
    CHECK(is_failure(to_reason_code(c)));
  }
  CHECK(str(name(e::truncated)) == "truncated");
  CHECK(str(name(e::packet_too_large)) == "packet_too_large");
  CHECK(str(name(e::no_local_on_shared_subscription)) == "no_local_on_shared_subscription");
}
