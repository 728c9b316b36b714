// Byte-exact fixtures for PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP in
// MQTT 3.1.1 (3.1 is identical) and 5.0 (sections 3.3-3.7 of both specifications).
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;
}  // namespace

// --- PUBLISH -------------------------------------------------------------------------------------

TEST_CASE("PUBLISH 3.1.1 QoS 0: no packet identifier [MQTT-2.3.1-5]") {
  const auto bytes = hex(R"(
    30              // PUBLISH, QoS 0, no DUP, no RETAIN
    08              // remaining length 8
    00 03 61 2f 62  // topic "a/b"
    68 69 21        // payload "hi!"
  )");
  publish expected;
  expected.topic = "a/b";
  expected.payload = bin("hi!");
  for (const v version : {v::v3_1, v::v3_1_1}) {
    CAPTURE(static_cast<int>(version));
    const publish p = check_fixture(bytes, expected, opts(version, sender::server));
    CHECK(str(p.topic) == "a/b");
    CHECK(str(as_chars(p.payload)) == "hi!");
    CHECK(p.q == qos::at_most_once);
    CHECK_FALSE(p.retain);
    CHECK_FALSE(p.dup);
    CHECK(p.packet_id == 0);
    CHECK(p.props.empty());
    // zero-copy: the views point into the fixture
    CHECK(p.topic.data() == reinterpret_cast<const char*>(bytes.data() + 4));
    CHECK(p.payload.data() == bytes.data() + 7);
  }
}

TEST_CASE("PUBLISH 3.1.1 QoS 1 with RETAIN") {
  const auto bytes = hex(R"(
    33              // PUBLISH, QoS 1, RETAIN
    09              // remaining length 9
    00 03 61 2f 62  // topic "a/b"
    00 0a           // packet identifier 10
    6f 6b           // payload "ok"
  )");
  publish expected;
  expected.topic = "a/b";
  expected.payload = bin("ok");
  expected.q = qos::at_least_once;
  expected.retain = true;
  expected.packet_id = 10;
  const publish p = check_fixture(bytes, expected, opts(v::v3_1_1, sender::client));
  CHECK(p.q == qos::at_least_once);
  CHECK(p.retain);
  CHECK_FALSE(p.dup);
  CHECK(p.packet_id == 10);
  CHECK(str(as_chars(p.payload)) == "ok");
}

TEST_CASE("PUBLISH 3.1.1 QoS 2 with DUP, packet identifier 65535 and an empty payload") {
  const auto bytes = hex(R"(
    3c        // PUBLISH, DUP, QoS 2, no RETAIN
    05        // remaining length 5
    00 01 74  // topic "t"
    ff ff     // packet identifier 65535
              // payload: zero length
  )");
  publish expected;
  expected.topic = "t";
  expected.q = qos::exactly_once;
  expected.dup = true;
  expected.packet_id = 65535;
  const publish p = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
  CHECK(p.q == qos::exactly_once);
  CHECK(p.dup);
  CHECK_FALSE(p.retain);
  CHECK(p.packet_id == 65535);
  CHECK(p.payload.empty());
}

TEST_CASE("PUBLISH 5.0 QoS 0 with an empty property list") {
  const auto bytes = hex(R"(
    30              // PUBLISH, QoS 0, no DUP, no RETAIN
    0a              // remaining length 10
    00 03 61 2f 62  // topic "a/b"
    00              // property length 0
    68 69 21 21     // payload "hi!!"
  )");
  publish expected;
  expected.topic = "a/b";
  expected.payload = bin("hi!!");
  const publish p = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(str(p.topic) == "a/b");
  CHECK(str(as_chars(p.payload)) == "hi!!");
  CHECK(p.props.empty());
  CHECK(p.payload.data() == bytes.data() + 8);
}

TEST_CASE("PUBLISH 5.0 QoS 1 with every PUBLISH property, repeated ones kept in order") {
  const auto bytes = hex(R"(
    32                    // PUBLISH, QoS 1
    31                    // remaining length 49
    00 03 61 2f 62        // topic "a/b"
    00 01                 // packet identifier 1
    28                    // property length 40
    01 01                 //   Payload Format Indicator 1
    02 00 00 00 0a        //   Message Expiry Interval 10
    0b 01                 //   Subscription Identifier 1
    26 00 01 61 00 01 31  //   User Property "a" = "1"
    0b ff ff ff 7f        //   Subscription Identifier 268435455
    26 00 01 61 00 01 32  //   User Property "a" = "2"
    03 00 01 74           //   Content Type "t"
    08 00 01 72           //   Response Topic "r"
    09 00 01 00           //   Correlation Data 00
    78                    // payload "x"
  )");
  const std::byte zero[] = {std::byte{0}};
  const property props[] = {
      property::integer(property_id::payload_format_indicator, 1),
      property::integer(property_id::message_expiry_interval, 10),
      property::integer(property_id::subscription_identifier, 1),
      property::user("a", "1"),
      property::integer(property_id::subscription_identifier, 268'435'455),
      property::user("a", "2"),
      property::string(property_id::content_type, "t"),
      property::string(property_id::response_topic, "r"),
      property::binary_data(property_id::correlation_data, zero),
  };
  publish expected;
  expected.topic = "a/b";
  expected.payload = bin("x");
  expected.q = qos::at_least_once;
  expected.packet_id = 1;
  expected.props = props_of(props);

  const publish p = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(p.packet_id == 1);
  CHECK(p.props.size() == 9);
  std::vector<std::uint32_t> subscription_ids;
  std::vector<std::string> user_values;
  for (const property pr : p.props) {
    if (pr.id == property_id::subscription_identifier) subscription_ids.push_back(pr.number);
    if (pr.id == property_id::user_property) user_values.push_back(str(pr.text) + "=" + str(pr.value));
  }
  CHECK(subscription_ids == std::vector<std::uint32_t>{1, 268'435'455});
  CHECK(user_values == std::vector<std::string>{"a=1", "a=2"});
  CHECK(p.props.number(property_id::payload_format_indicator) == std::optional<std::uint32_t>(1));
  CHECK(p.props.number(property_id::message_expiry_interval) == std::optional<std::uint32_t>(10));
  CHECK(str(p.props.text(property_id::content_type).value_or("")) == "t");
  CHECK(str(p.props.text(property_id::response_topic).value_or("")) == "r");
  CHECK(to_hex(p.props.find(property_id::correlation_data)->binary()) == "00");
  CHECK(str(as_chars(p.payload)) == "x");
}

TEST_CASE("PUBLISH 5.0 with an empty topic and a Topic Alias [MQTT 3.3.2.3.4]") {
  const auto bytes = hex(R"(
    31        // PUBLISH, QoS 0, RETAIN
    07        // remaining length 7
    00 00     // topic "" (the alias names it)
    03        // property length 3
    23 00 05  //   Topic Alias 5
    70        // payload "p"
  )");
  const property props[] = {property::integer(property_id::topic_alias, 5)};
  publish expected;
  expected.topic = "";
  expected.payload = bin("p");
  expected.retain = true;
  expected.props = props_of(props);
  const publish p = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(p.topic.empty());
  CHECK(p.retain);
  CHECK(p.props.number(property_id::topic_alias) == std::optional<std::uint32_t>(5));
}

TEST_CASE("PUBLISH 5.0 QoS 2 with a topic and a Topic Alias, empty payload") {
  const auto bytes = hex(R"(
    34              // PUBLISH, QoS 2
    0b              // remaining length 11
    00 03 61 2f 62  // topic "a/b"
    12 34           // packet identifier 0x1234
    03              // property length 3
    23 00 01        //   Topic Alias 1
  )");
  const property props[] = {property::integer(property_id::topic_alias, 1)};
  publish expected;
  expected.topic = "a/b";
  expected.q = qos::exactly_once;
  expected.packet_id = 0x1234;
  expected.props = props_of(props);
  const publish p = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(p.packet_id == 0x1234);
  CHECK(p.payload.empty());
}

TEST_CASE("PUBLISH with a payload of 200 bytes: two-byte remaining length") {
  std::vector<std::byte> bytes = hex(R"(
    30     // PUBLISH, QoS 0
    cd 01  // remaining length 205 = 0x4d + 1 * 128
    00 03 61 2f 62  // topic "a/b"
  )");
  const std::vector<std::byte> payload(200, std::byte{0x5a});
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  publish expected;
  expected.topic = "a/b";
  expected.payload = payload;
  const publish p = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
  CHECK(p.payload.size() == 200);
}

// --- PUBACK, PUBREC, PUBREL, PUBCOMP ------------------------------------------------------------

namespace {

template <class Ack>
void check_v311_ack(std::uint8_t first_byte) {
  auto bytes = hex(R"(
    00     // type and flags, patched below
    02     // remaining length 2
    12 34  // packet identifier 0x1234
  )");
  bytes[0] = std::byte{first_byte};
  Ack expected;
  expected.packet_id = 0x1234;
  for (const auto version : {v::v3_1, v::v3_1_1}) {
    const Ack a = check_fixture(bytes, expected, opts(version, sender::any));
    CHECK(a.packet_id == 0x1234);
    CHECK(a.code == reason_code::success);
    CHECK(a.props.empty());
  }
}

}  // namespace

TEST_CASE("PUBACK, PUBREC, PUBREL, PUBCOMP 3.1.1: a packet identifier only") {
  SUBCASE("PUBACK 40") { check_v311_ack<puback>(0x40); }
  SUBCASE("PUBREC 50") { check_v311_ack<pubrec>(0x50); }
  SUBCASE("PUBREL 62: flags 0010 [MQTT-3.6.1-1]") { check_v311_ack<pubrel>(0x62); }
  SUBCASE("PUBCOMP 70") { check_v311_ack<pubcomp>(0x70); }
}

TEST_CASE("PUBACK 5.0 with remaining length 2 means Success, no properties [MQTT 3.4.2.1]") {
  const auto bytes = hex(R"(
    40     // PUBACK
    02     // remaining length 2: no reason code, no property length
    00 01  // packet identifier 1
  )");
  puback expected;
  expected.packet_id = 1;
  const puback a = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(a.code == reason_code::success);
  CHECK(a.props.empty());
}

TEST_CASE("acks 5.0 with remaining length 3 carry a reason code and no properties") {
  SUBCASE("PUBACK 0x10 No matching subscribers") {
    const auto bytes = hex(R"(
      40     // PUBACK
      03     // remaining length 3: reason code, no property length
      00 01  // packet identifier 1
      10     // reason code 0x10 No matching subscribers
    )");
    puback expected;
    expected.packet_id = 1;
    expected.code = reason_code::no_matching_subscribers;
    const puback a = check_fixture(bytes, expected, opts(v::v5, sender::server));
    CHECK(a.code == reason_code::no_matching_subscribers);
    CHECK(a.props.empty());
  }
  SUBCASE("PUBREC 0x80 Unspecified error") {
    const auto bytes = hex(R"(
      50     // PUBREC
      03     // remaining length 3
      00 02  // packet identifier 2
      80     // reason code 0x80 Unspecified error
    )");
    pubrec expected;
    expected.packet_id = 2;
    expected.code = reason_code::unspecified_error;
    check_fixture(bytes, expected, opts(v::v5, sender::client));
  }
  SUBCASE("PUBREL 0x92 Packet Identifier not found") {
    const auto bytes = hex(R"(
      62     // PUBREL, flags 0010
      03     // remaining length 3
      00 03  // packet identifier 3
      92     // reason code 0x92 Packet Identifier not found
    )");
    pubrel expected;
    expected.packet_id = 3;
    expected.code = reason_code::packet_identifier_not_found;
    check_fixture(bytes, expected, opts(v::v5, sender::client));
  }
  SUBCASE("PUBCOMP 0x92 Packet Identifier not found") {
    const auto bytes = hex(R"(
      70     // PUBCOMP
      03     // remaining length 3
      00 04  // packet identifier 4
      92     // reason code 0x92
    )");
    pubcomp expected;
    expected.packet_id = 4;
    expected.code = reason_code::packet_identifier_not_found;
    check_fixture(bytes, expected, opts(v::v5, sender::server));
  }
}

TEST_CASE("PUBREC 5.0 full form: reason code and properties") {
  const auto bytes = hex(R"(
    50                    // PUBREC
    11                    // remaining length 17
    00 07                 // packet identifier 7
    80                    // reason code 0x80 Unspecified error
    0d                    // property length 13
    1f 00 03 62 61 64     //   Reason String "bad"
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
  )");
  const property props[] = {property::string(property_id::reason_string, "bad"),
                            property::user("k", "v")};
  pubrec expected;
  expected.packet_id = 7;
  expected.code = reason_code::unspecified_error;
  expected.props = props_of(props);
  const pubrec a = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(a.packet_id == 7);
  CHECK(a.code == reason_code::unspecified_error);
  CHECK(str(a.props.text(property_id::reason_string).value_or("")) == "bad");
}

TEST_CASE("PUBACK 5.0 Success with a property keeps the reason code byte") {
  const auto bytes = hex(R"(
    40           // PUBACK
    08           // remaining length 8
    00 01        // packet identifier 1
    00           // reason code 0x00 Success
    04           // property length 4
    1f 00 01 72  //   Reason String "r"
  )");
  const property props[] = {property::string(property_id::reason_string, "r")};
  puback expected;
  expected.packet_id = 1;
  expected.props = props_of(props);
  check_fixture(bytes, expected, opts(v::v5, sender::server));
}

TEST_CASE("PUBCOMP 5.0 with two User Properties in order [MQTT-3.7.2-3]") {
  const auto bytes = hex(R"(
    70                    // PUBCOMP
    12                    // remaining length 18
    00 09                 // packet identifier 9
    00                    // reason code Success
    0e                    // property length 14
    26 00 01 61 00 01 31  //   User Property "a" = "1"
    26 00 01 61 00 01 32  //   User Property "a" = "2"
  )");
  const property props[] = {property::user("a", "1"), property::user("a", "2")};
  pubcomp expected;
  expected.packet_id = 9;
  expected.props = props_of(props);
  const pubcomp a = check_fixture(bytes, expected, opts(v::v5, sender::client));
  REQUIRE(a.props.size() == 2);
  auto it = a.props.begin();
  CHECK(str((*it).value) == "1");
  ++it;
  CHECK(str((*it).value) == "2");
}
