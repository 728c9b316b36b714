// The JSON form of packets is complete: the codec's byte fixtures of every packet kind, 3.1,
// 3.1.1 and 5.0, and thousands of random valid packets, decode → JSON text → encode back to the
// same bytes. Also the JSON of decode failures, and what reading JSON refuses.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "packet_json.hpp"
#include "support/hex.hpp"
#include "support/random_packets.hpp"
#include "tern/decoder.hpp"

using namespace tern;
using tern::cli::json;
using tern::test::hex;
using tern::test::to_hex;

namespace {

using v = protocol_version;

struct fixture {
  const char* what;
  protocol_version version;
  const char* bytes;
};

// Canonical encodings (what the encoder writes) from tests/unit/decode_*_test.cpp.
const fixture fixtures[] = {
    {"CONNECT 3.1 (MQIsdp) with user name and password", v::v3_1,
     "10 17 00 06 4d 51 49 73 64 70 03 c2 00 3c 00 03 63 6c 69 00 01 75 00 01 70"},
    {"CONNECT 3.1.1 with Will, user name and binary password", v::v3_1_1,
     "10 20 00 04 4d 51 54 54 04 ee 00 0a 00 02 63 31 00 03 77 2f 74 00 03 62 79 65"
     " 00 01 75 00 03 01 02 ff"},
    {"CONNECT 3.1.1 without flags", v::v3_1_1, "10 0c 00 04 4d 51 54 54 04 00 00 00 00 00"},
    {"CONNECT 5.0 with every CONNECT and Will property", v::v5, R"(
      10 69 00 04 4d 51 54 54 05 d6 00 1e
      26 11 00 00 0e 10  21 00 14  27 00 00 10 00  22 00 0a  19 01  17 00
         26 00 01 6b 00 01 76  15 00 03 74 6f 6b  16 00 02 ab cd
      00 03 64 65 76
      25 18 00 00 00 1e  01 01  02 00 00 00 78  03 00 04 74 65 78 74  08 00 03 72 2f 74
         09 00 02 01 02  26 00 01 61 00 01 62
      00 01 77  00 01 78  00 01 75  00 02 70 77)"},
    {"CONNECT 5.0 with an empty user name and password", v::v5,
     "10 11 00 04 4d 51 54 54 05 c2 00 00 00 00 00 00 00 00 00"},
    {"CONNACK 3.1.1 Session Present", v::v3_1_1, "20 02 01 00"},
    {"CONNACK 3.1.1 return code 5 (not authorized)", v::v3_1_1, "20 02 00 05"},
    {"CONNACK 5.0 with every CONNACK property", v::v5, R"(
      20 41 01 00 3e
      11 00 00 00 3c  21 00 0a  24 01  25 00  27 00 01 00 00  12 00 02 69 64  22 00 05
      1f 00 02 6f 6b  26 00 01 6b 00 01 76  28 01  29 00  2a 01  13 00 78  1a 00 01 72
      1c 00 01 73  15 00 01 6d  16 00 01 64)"},
    {"CONNACK 5.0 refusal without properties", v::v5, "20 03 00 87 00"},
    {"PUBLISH 3.1.1 QoS 0", v::v3_1_1, "30 08 00 03 61 2f 62 68 69 21"},
    {"PUBLISH 3.1.1 QoS 1 retained", v::v3_1_1, "33 09 00 03 61 2f 62 00 0a 6f 6b"},
    {"PUBLISH 3.1.1 QoS 2 DUP, empty payload", v::v3_1_1, "3c 05 00 01 74 ff ff"},
    {"PUBLISH 5.0 QoS 0, no properties", v::v5, "30 0a 00 03 61 2f 62 00 68 69 21 21"},
    {"PUBLISH 5.0 with every PUBLISH property", v::v5, R"(
      32 31 00 03 61 2f 62 00 01
      28 01 01  02 00 00 00 0a  0b 01  26 00 01 61 00 01 31  0b ff ff ff 7f
         26 00 01 61 00 01 32  03 00 01 74  08 00 01 72  09 00 01 00
      78)"},
    {"PUBLISH 5.0 empty topic with a Topic Alias", v::v5, "31 07 00 00 03 23 00 05 70"},
    {"PUBLISH 5.0 binary payload", v::v5, "30 08 00 01 74 00 00 ff fe 80"},
    {"PUBACK 3.1.1", v::v3_1_1, "40 02 00 01"},
    {"PUBREC 3.1.1", v::v3_1_1, "50 02 00 02"},
    {"PUBREL 3.1.1", v::v3_1_1, "62 02 00 03"},
    {"PUBCOMP 3.1.1", v::v3_1_1, "70 02 00 04"},
    {"PUBACK 5.0 short form", v::v5, "40 02 01 02"},
    {"PUBACK 5.0 with a User Property", v::v5, "40 0b 00 01 00 07 26 00 01 61 00 01 62"},
    {"PUBREC 5.0 reason code only", v::v5, "50 03 00 01 97"},
    {"PUBREC 5.0 reason code and properties", v::v5,
     "50 11 00 07 80 0d 1f 00 03 62 61 64 26 00 01 6b 00 01 76"},
    {"PUBREL 5.0 Packet Identifier not found", v::v5, "62 03 00 03 92"},
    {"PUBCOMP 5.0 reason code only", v::v5, "70 03 00 02 92"},
    {"SUBSCRIBE 3.1.1", v::v3_1_1, "82 0c 00 0a 00 03 61 2f 62 01 00 01 23 02"},
    {"SUBSCRIBE 5.0 with options and properties", v::v5, R"(
      82 23 00 0b 09 0b 05 26 00 01 6b 00 01 76
      00 03 61 2f 2b 1d  00 0a 24 73 68 61 72 65 2f 67 2f 78 22  00 01 23 00)"},
    {"SUBACK 3.1.1", v::v3_1_1, "90 06 00 0a 00 01 02 80"},
    {"SUBACK 5.0 with a Reason String", v::v5,
     "90 0e 00 0b 04 1f 00 01 72 00 01 02 8f 9e a1 a2"},
    {"SUBACK 5.0 failures", v::v5, "90 08 00 0c 00 80 83 87 91 97"},
    {"UNSUBSCRIBE 3.1.1", v::v3_1_1, "a2 0a 00 0c 00 03 61 2f 62 00 01 23"},
    {"UNSUBSCRIBE 5.0 with a User Property", v::v5,
     "a2 1b 00 0d 07 26 00 01 6b 00 01 76 00 03 61 2f 2b 00 0a 24 73 68 61 72 65 2f 67 2f 78"},
    {"UNSUBACK 3.1.1", v::v3_1_1, "b0 02 00 0c"},
    {"UNSUBACK 5.0 with a Reason String", v::v5, "b0 0a 00 0d 04 1f 00 01 72 00 11 8f"},
    {"UNSUBACK 5.0 failures", v::v5, "b0 07 00 0e 00 80 83 87 91"},
    {"PINGREQ 3.1.1", v::v3_1_1, "c0 00"},
    {"PINGRESP 3.1.1", v::v3_1_1, "d0 00"},
    {"PINGREQ 5.0", v::v5, "c0 00"},
    {"PINGRESP 5.0", v::v5, "d0 00"},
    {"DISCONNECT 3.1.1", v::v3_1_1, "e0 00"},
    {"DISCONNECT 5.0 normal", v::v5, "e0 00"},
    {"DISCONNECT 5.0 with Will", v::v5, "e0 01 04"},
    {"DISCONNECT 5.0 with Session Expiry and a User Property", v::v5,
     "e0 0e 04 0c 11 00 00 00 0a 26 00 01 6b 00 01 76"},
    {"DISCONNECT 5.0 Use another server", v::v5, "e0 0b 9c 09 1f 00 02 62 79 1c 00 01 73"},
    {"AUTH 5.0 Success", v::v5, "f0 00"},
    {"AUTH 5.0 Continue authentication", v::v5,
     "f0 0d 18 0b 15 00 03 74 6f 6b 16 00 02 01 02"},
    {"AUTH 5.0 Re-authenticate", v::v5, "f0 08 19 06 15 00 03 74 6f 6b"},
};

decoder_options any_sender(protocol_version version) {
  decoder_options o;
  o.version = version;
  o.from = sender::any;
  return o;
}

// Decodes exactly one packet from `bytes`.
packet decode_one(const std::vector<std::byte>& bytes, protocol_version version) {
  std::size_t consumed = 0;
  auto r = decode_packet(bytes, any_sender(version), consumed);
  REQUIRE_MESSAGE(r.has_value(), "decode failed: " << std::string(name(r.error().code)));
  REQUIRE(r->has_value());
  REQUIRE(consumed == bytes.size());
  return **r;
}

// The JSON text of the packet in `bytes`, as `tern decode --json` prints it.
std::string json_line(const std::vector<std::byte>& bytes, protocol_version version) {
  const packet p = decode_one(bytes, version);
  return cli::packet_to_json(p, version, 0, static_cast<std::uint32_t>(bytes.size())).dump();
}

// decode → JSON text → parse → encode.
std::string round_trip(const std::vector<std::byte>& bytes, protocol_version version) {
  const std::string line = json_line(bytes, version);
  INFO("JSON: ", line);
  try {
    return to_hex(cli::encode_json_packet(json::parse(line)));
  } catch (const cli::json_packet_error& e) {
    FAIL_CHECK(e.what());
    return {};
  }
}

json parsed(const fixture& f) { return json::parse(json_line(hex(f.bytes), f.version)); }

const fixture& find_fixture(std::string_view what) {
  for (const fixture& f : fixtures)
    if (what == f.what) return f;
  FAIL("no fixture " << std::string(what));
  return fixtures[0];
}

std::string encode_error(const std::string& text) {
  try {
    (void)cli::encode_json_packet(json::parse(text));
  } catch (const cli::json_packet_error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("decode --json round-trips every codec fixture byte for byte") {
  std::set<std::string> kinds_v311, kinds_v5;
  for (const fixture& f : fixtures) {
    CAPTURE(f.what);
    const auto bytes = hex(f.bytes);
    CHECK(round_trip(bytes, f.version) == to_hex(bytes));
    const std::string type = parsed(f)["type"].get<std::string>();
    (f.version == v::v5 ? kinds_v5 : kinds_v311).insert(type);
  }
  CHECK(kinds_v311.size() == 14);  // every kind but AUTH
  CHECK(kinds_v5.size() == 15);
}

TEST_CASE("a stream of fixtures: one streaming decoder, consecutive offsets, each line encodes") {
  std::vector<std::byte> stream;
  std::vector<std::size_t> starts;
  for (const fixture& f : fixtures) {
    if (f.version != v::v5) continue;
    starts.push_back(stream.size());
    const auto b = hex(f.bytes);
    stream.insert(stream.end(), b.begin(), b.end());
  }
  decoder d(any_sender(v::v5));
  bytes_view in(stream);
  std::size_t n = 0;
  for (;;) {
    auto r = d.next(in);
    REQUIRE(r.has_value());
    if (!*r) break;
    REQUIRE(n < starts.size());
    const std::uint64_t offset = d.packet_offset();
    const auto size = static_cast<std::uint32_t>(d.stream_offset() - offset);
    const json j = json::parse(cli::packet_to_json(**r, v::v5, offset, size).dump());
    CHECK(j["offset"].get<std::uint64_t>() == starts[n]);
    const auto bytes = cli::encode_json_packet(j);
    CHECK(bytes.size() == size);
    CHECK(to_hex(bytes) == to_hex(stream.data() + offset, size));
    ++n;
  }
  CHECK(n == starts.size());
}

TEST_CASE("random valid packets of every kind and property round-trip through JSON") {
  struct run {
    protocol_version version;
    bool only_connect;
    int iterations;
  };
  const run runs[] = {{v::v3_1_1, false, 1500}, {v::v5, false, 3000}, {v::v3_1, true, 200}};
  std::set<std::string> property_names;
  for (const run& r : runs) {
    CAPTURE(static_cast<int>(r.version));
    test::packet_store store;
    test::packet_generator gen(0x7E54'0005 + static_cast<unsigned>(r.version), store);
    std::set<std::string> kinds;
    for (int i = 0; i < r.iterations; ++i) {
      if (i % 64 == 0) store.clear();
      const packet p = r.only_connect ? gen.make(packet_type::connect, r.version)
                                      : gen.make_any(r.version);
      auto bytes = test::try_encode(p, r.version);
      REQUIRE(bytes.has_value());
      const protocol_version stream = r.version == v::v3_1 && !r.only_connect ? v::v3_1_1
                                                                               : r.version;
      CAPTURE(i);
      CAPTURE(to_hex(*bytes));
      REQUIRE(round_trip(*bytes, stream) == to_hex(*bytes));

      // The JSON of a packet read from JSON is the JSON it was read from.
      const json j = json::parse(json_line(*bytes, stream));
      cli::packet_storage storage;
      const cli::json_packet back = cli::packet_from_json(j, storage);
      CHECK(cli::packet_to_json(back.pkt, back.version, 0, j["size"].get<std::uint32_t>()) == j);

      kinds.insert(j["type"].get<std::string>());
      for (const json* list : {&j, j.contains("will") && !j["will"].is_null() ? &j["will"] : &j})
        if (list->contains("properties"))
          for (const json& prop : (*list)["properties"])
            property_names.insert(prop["name"].get<std::string>());
    }
    if (!r.only_connect) CHECK(kinds.size() == (r.version == v::v5 ? 15u : 14u));
  }
  CHECK(property_names.size() == 27);  // every MQTT 5.0 property
}

TEST_CASE("JSON fields: names, binary as hex and text, reason codes with names") {
  SUBCASE("CONNECT 5.0") {
    const json j = parsed(find_fixture("CONNECT 5.0 with every CONNECT and Will property"));
    CHECK(j["type"] == "CONNECT");
    CHECK(j["protocol"] == 5);
    CHECK(j["protocol_name"] == "MQTT");
    CHECK(j["clean_start"] == true);
    CHECK(j["keep_alive"] == 30);
    CHECK(j["client_id"] == "dev");
    CHECK(j["username"] == "u");
    CHECK(j["password"] == json::parse(R"({"hex":"7077","text":"pw"})"));
    CHECK(j["will"]["topic"] == "w");
    CHECK(j["will"]["qos"] == 2);
    CHECK(j["will"]["retain"] == false);
    CHECK(j["will"]["payload"]["text"] == "x");
    CHECK(j["will"]["properties"][0] ==
          json::parse(R"({"id":24,"name":"will_delay_interval","value":30})"));
    CHECK(j["properties"].size() == 9);
    CHECK(j["properties"][6] ==
          json::parse(R"({"id":38,"name":"user_property","key":"k","value":"v"})"));
    // ab cd is not UTF-8: hex only.
    CHECK(j["properties"][8] ==
          json::parse(R"({"id":22,"name":"authentication_data","value":{"hex":"abcd"}})"));
  }
  SUBCASE("CONNECT 3.1 has no properties key, and names its protocol MQIsdp") {
    const json j = parsed(find_fixture("CONNECT 3.1 (MQIsdp) with user name and password"));
    CHECK(j["protocol"] == 3);
    CHECK(j["protocol_name"] == "MQIsdp");
    CHECK(j["will"].is_null());
    CHECK_FALSE(j.contains("properties"));
  }
  SUBCASE("PUBLISH: packet_id null at QoS 0; payload hex only when not UTF-8") {
    const json q0 = parsed(find_fixture("PUBLISH 3.1.1 QoS 0"));
    CHECK(q0["packet_id"].is_null());
    CHECK(q0["payload"] == json::parse(R"({"hex":"686921","text":"hi!"})"));
    const json bin = parsed(find_fixture("PUBLISH 5.0 binary payload"));
    CHECK(bin["payload"] == json::parse(R"({"hex":"00fffe80"})"));
    const json q2 = parsed(find_fixture("PUBLISH 3.1.1 QoS 2 DUP, empty payload"));
    CHECK(q2["packet_id"] == 65535);
    CHECK(q2["dup"] == true);
    CHECK(q2["payload"] == json::parse(R"({"hex":"","text":""})"));
  }
  SUBCASE("3.1.1 CONNACK: the 5.0 reason code and the wire's return code") {
    const json j = parsed(find_fixture("CONNACK 3.1.1 return code 5 (not authorized)"));
    CHECK(j["reason_code"] == json::parse(R"({"value":135,"name":"not_authorized"})"));
    CHECK(j["return_code"] == 5);
  }
  SUBCASE("0x00 is named after the packet") {
    const json d = parsed(find_fixture("DISCONNECT 5.0 normal"));
    CHECK(d["reason_code"]["name"] == "normal_disconnection");
    const json s = parsed(find_fixture("SUBACK 3.1.1"));
    CHECK(s["reason_codes"][0]["name"] == "granted_qos_0");
    CHECK(s["reason_codes"][3] == json::parse(R"({"value":128,"name":"unspecified_error"})"));
  }
  SUBCASE("subscription options") {
    const json j = parsed(find_fixture("SUBSCRIBE 5.0 with options and properties"));
    CHECK(j["subscriptions"][0] == json::parse(R"({"filter":"a/+","qos":1,"no_local":true,
          "retain_as_published":true,"retain_handling":1})"));
    const json old = parsed(find_fixture("SUBSCRIBE 3.1.1"));
    CHECK(old["subscriptions"][1] == json::parse(R"({"filter":"#","qos":2})"));
  }
}

TEST_CASE("the JSON of a malformed packet: offsets, error name and its MQTT 5 reason code") {
  // A PUBLISH whose topic length (9) runs past the packet's end, after a PINGREQ.
  const auto bytes = hex("c0 00  30 04 00 09 74 78");
  decoder d(any_sender(v::v5));
  bytes_view in(bytes);
  auto first = d.next(in);
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  auto second = d.next(in);
  REQUIRE_FALSE(second.has_value());
  const json j = json::parse(cli::decode_error_to_json(second.error(), d.packet_offset()).dump());
  CHECK(j["offset"] == 2);
  CHECK(j["error"] == "truncated");
  CHECK(j["error_offset"] == 4);
  CHECK(j["offset_in_packet"] == 2);
  CHECK(j["reason_code"] == json::parse(R"({"value":129,"name":"malformed_packet"})"));
  CHECK(j["message"].get<std::string>() == std::string(to_string(decode_errc::truncated)));

  const json too_large = cli::decode_error_to_json({decode_errc::packet_too_large, 1}, 10);
  CHECK(too_large["reason_code"]["value"] == 0x95);
  CHECK(too_large["error_offset"] == 11);
}

TEST_CASE("the JSON of a cut-off packet") {
  const json body = cli::incomplete_to_json(4, 3, 12);
  CHECK(body["error"] == "incomplete");
  CHECK(body["offset"] == 4);
  CHECK(body["available"] == 3);
  CHECK(body["size"] == 12);
  CHECK(body["missing"] == 9);
  const json header = cli::incomplete_to_json(0, 1, std::nullopt);
  CHECK(header["size"].is_null());
  CHECK(header["missing"].is_null());
}

TEST_CASE("reading JSON accepts the short forms a person writes") {
  // Reason codes by name, binary as bare text, properties by name or id, no "properties".
  CHECK(to_hex(cli::encode_json_packet(json::parse(
            R"({"type":"disconnect","protocol":5,
                "reason_code":"disconnect_with_will_message"})"))) ==
        "e0 01 04");
  CHECK(to_hex(cli::encode_json_packet(json::parse(
            R"({"type":"PUBLISH","protocol":4,"dup":false,"qos":0,"retain":false,"topic":"t",
                "packet_id":null,"payload":"x"})"))) == "30 04 00 01 74 78");
  CHECK(to_hex(cli::encode_json_packet(json::parse(
            R"({"type":"PUBACK","protocol":5,"packet_id":1,"reason_code":{"value":16},
                "properties":[{"id":31,"value":"r"},
                              {"name":"user_property","key":"a","value":"b"}]})"))) ==
        "40 0f 00 01 10 0b 1f 00 01 72 26 00 01 61 00 01 62");
  CHECK(to_hex(cli::encode_json_packet(json::parse(
            R"({"type":"AUTH","protocol":5,"reason_code":24,
                "properties":[{"name":"authentication_method","value":"m"},
                              {"name":"authentication_data","value":{"hex":"01:02"}}]})"))) ==
        "f0 0b 18 09 15 00 01 6d 16 00 02 01 02");
}

TEST_CASE("reading JSON names what is wrong") {
  CHECK(encode_error(R"({"protocol":5})") == "missing \"type\"");
  CHECK(encode_error(R"({"type":"PUBLISHX","protocol":5})") ==
        "type: no packet type is called \"PUBLISHX\"");
  CHECK(encode_error(R"({"type":"PINGREQ","protocol":6})") ==
        "protocol: expected 3, 4 or 5, found 6");
  CHECK(encode_error(R"({"type":"PINGREQ","protocol":5,"colour":"red"})") ==
        "unknown key \"colour\"");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5})") == "missing \"packet_id\"");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5,"packet_id":-1})") ==
        "packet_id: expected an unsigned integer, found a number");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5,"packet_id":70000})") ==
        "packet_id: 70000 is larger than 65535");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5,"packet_id":1,
                         "properties":[{"name":"reason_string","value":1}]})") ==
        "properties[0].value: expected a string, found a number");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5,"packet_id":1,
                         "properties":[{"name":"colour","value":1}]})") ==
        "properties[0].name: no property is called \"colour\"");
  CHECK(encode_error(R"({"type":"PUBACK","protocol":5,"packet_id":1,
                         "properties":[{"id":31,"name":"user_property","value":"x"}]})") ==
        "properties[0]: \"id\" and \"name\" name different properties");
  CHECK(encode_error(R"({"type":"SUBSCRIBE","protocol":5,"packet_id":1,
                         "subscriptions":[{"filter":"a","qos":3}]})") ==
        "subscriptions[0].qos: 3 is larger than 2");
  CHECK(encode_error(R"({"type":"PUBLISH","protocol":5,"dup":false,"qos":0,"retain":false,
                         "topic":"t","packet_id":null,"payload":{"hex":"0g"}})") ==
        "payload.hex: unexpected character 'g'");
  CHECK(encode_error(R"({"type":"CONNECT","protocol":4,"clean_start":true,"keep_alive":0,
                         "client_id":"c","username":null,"password":null,
                         "will":{"topic":"t","qos":0,"retain":false,"payload":"x","extra":1}})") ==
        "will: unknown key \"extra\"");
  // The encoder's own checks: a wildcard in a PUBLISH topic, properties before 5.0.
  CHECK(encode_error(R"({"type":"PUBLISH","protocol":5,"dup":false,"qos":0,"retain":false,
                         "topic":"a/#","packet_id":null,"payload":""})") ==
        "the encoder refuses the packet: " + std::string(to_string(errc::invalid_topic_name)));
  CHECK(encode_error(R"({"type":"PUBACK","protocol":4,"packet_id":1,
                         "properties":[{"name":"reason_string","value":"r"}]})") ==
        "the encoder refuses the packet: " + std::string(to_string(errc::properties_need_v5)));
}

TEST_CASE("a non-canonical encoding decodes to JSON that encodes the canonical form") {
  // The long form of a Success PUBACK (reason code and empty properties written out) means the
  // same packet; the encoder writes the short form, so the JSON is identical but the bytes are
  // not. Documented in docs/cli-decode.md.
  const auto long_form = hex("40 04 00 01 00 00");
  const auto short_form = hex("40 02 00 01");
  json a = json::parse(json_line(long_form, v::v5));
  json b = json::parse(json_line(short_form, v::v5));
  CHECK(a["size"] == 6);
  a.erase("size");
  b.erase("size");
  CHECK(a == b);
  CHECK(round_trip(long_form, v::v5) == to_hex(short_form));

  // Before 5.0 a Remaining Length may be padded; the encoder writes the fewest bytes.
  CHECK(round_trip(hex("c0 80 00"), v::v3_1_1) == "c0 00");
}
