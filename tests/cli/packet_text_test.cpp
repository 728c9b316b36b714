// The human-readable form: a heading with offset, kind, size and version, then one line per
// field; failures as one line with both offsets, the error and its MQTT 5 reason code.
#include <doctest/doctest.h>

#include <string>

#include "packet_text.hpp"
#include "support/hex.hpp"
#include "tern/decoder.hpp"

using namespace tern;
using tern::test::hex;

namespace {

std::string text_of(std::string_view fixture, protocol_version version,
                    std::uint64_t offset = 0) {
  const auto bytes = hex(fixture);
  std::size_t consumed = 0;
  auto r = decode_packet(bytes, {version, sender::any}, consumed);
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
  return cli::packet_to_text(**r, version, offset, static_cast<std::uint32_t>(consumed));
}

}  // namespace

TEST_CASE("text: CONNECT 3.1.1 lists every field") {
  CHECK(text_of("10 20 00 04 4d 51 54 54 04 ee 00 0a 00 02 63 31 00 03 77 2f 74 00 03 62 79 65"
                " 00 01 75 00 03 01 02 ff",
                protocol_version::v5, 7) ==
        "offset 7: CONNECT (34 bytes, MQTT 3.1.1)\n"
        "  protocol_name: MQTT\n"
        "  clean_start: true\n"
        "  keep_alive: 10 s\n"
        "  client_id: \"c1\"\n"
        "  username: \"u\"\n"
        "  password: 3 bytes hex 01 02 ff\n"
        "  will:\n"
        "    topic: \"w/t\"\n"
        "    qos: 1\n"
        "    retain: true\n"
        "    payload: 3 bytes \"bye\"\n");
}

TEST_CASE("text: PUBLISH 5.0 with properties, escapes in strings") {
  CHECK(text_of("32 18 00 03 61 2f 62 00 01 0d 26 00 01 6b 00 02 0a 22 09 00 02 ab cd 68 69 0a",
                protocol_version::v5) ==
        "offset 0: PUBLISH (26 bytes, MQTT 5.0)\n"
        "  dup: false\n"
        "  qos: 1\n"
        "  retain: false\n"
        "  topic: \"a/b\"\n"
        "  packet_id: 1\n"
        "  properties:\n"
        "    user_property (0x26): \"k\" = \"\\n\\\"\"\n"
        "    correlation_data (0x09): 2 bytes hex ab cd\n"
        "  payload: 3 bytes \"hi\\n\"\n");
}

TEST_CASE("text: reason codes with number, name and the specification's words") {
  CHECK(text_of("90 06 00 0a 00 01 02 80", protocol_version::v3_1_1) ==
        "offset 0: SUBACK (8 bytes, MQTT 3.1.1)\n"
        "  packet_id: 10\n"
        "  reason_codes:\n"
        "    [0]: 0x00 granted_qos_0 (Granted QoS 0)\n"
        "    [1]: 0x01 granted_qos_1 (Granted QoS 1)\n"
        "    [2]: 0x02 granted_qos_2 (Granted QoS 2)\n"
        "    [3]: 0x80 unspecified_error (Unspecified error)\n");
  CHECK(text_of("20 02 00 05", protocol_version::v3_1_1) ==
        "offset 0: CONNACK (4 bytes, MQTT 3.1.1)\n"
        "  session_present: false\n"
        "  return_code: 5 = 5.0 reason code 0x87 not_authorized (Not authorized)\n");
  CHECK(text_of("e0 00", protocol_version::v5) ==
        "offset 0: DISCONNECT (2 bytes, MQTT 5.0)\n"
        "  reason_code: 0x00 normal_disconnection (Normal disconnection)\n"
        "  properties: none\n");
}

TEST_CASE("text: long binary data is cut after 256 bytes") {
  std::string fixture = "30 82 02 00 01 74";  // QoS 0, remaining length 258, topic "t"
  for (int i = 0; i < 255; ++i) fixture += " 00";
  const std::string t = text_of(fixture, protocol_version::v3_1_1);
  CHECK(t.find("payload: 255 bytes hex 00 00") != std::string::npos);
  fixture = "30 86 02 00 01 74";  // remaining length 262: 259 payload bytes
  for (int i = 0; i < 259; ++i) fixture += " 61";
  const std::string cut = text_of(fixture, protocol_version::v3_1_1);
  CHECK(cut.find("payload: 259 bytes \"" + std::string(256, 'a') + "\" ... (3 more bytes)") !=
        std::string::npos);
}

TEST_CASE("text: a malformed packet names both offsets, the error and the reason code") {
  CHECK(cli::decode_error_to_text({decode_errc::truncated, 2}, 10) ==
        "offset 10: malformed packet: truncated at offset 12 (byte 2 of the packet): " +
            std::string(to_string(decode_errc::truncated)) +
            "; MQTT 5 reason code 0x81 malformed_packet (Malformed Packet)");
  CHECK(cli::decode_error_to_text({decode_errc::topic_alias_zero, 9}, 0).find(
            "reason code 0x94 topic_alias_invalid") != std::string::npos);
}

TEST_CASE("text: a cut-off packet") {
  CHECK(cli::incomplete_to_text(4, 3, 12) ==
        "offset 4: incomplete packet: 3 of its 12 bytes present, 9 more needed");
  CHECK(cli::incomplete_to_text(0, 1, std::nullopt) ==
        "offset 0: incomplete packet: the input ends inside its fixed header (1 byte present)");
}

TEST_CASE("text: binary with control characters shows as hex even when it is UTF-8") {
  // PUBLISH QoS 0, topic "t", payload 01 02 (valid UTF-8, but not text to a reader).
  CHECK(text_of("30 05 00 01 74 01 02", protocol_version::v3_1_1).find(
            "payload: 2 bytes hex 01 02\n") != std::string::npos);
}
