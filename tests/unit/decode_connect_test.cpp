// Byte-exact fixtures for CONNECT and CONNACK in MQTT 3.1, 3.1.1 and 5.0, written from the
// specifications (3.1.1 sections 3.1-3.2, 5.0 sections 3.1-3.2). Each fixture is decoded (whole
// and byte by byte), checked field by field, compared with the expected struct, and encoded back
// from both the expected struct (caller's arrays) and the decoded one (wire views).
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;
}  // namespace

// --- CONNECT -------------------------------------------------------------------------------------

TEST_CASE("CONNECT 3.1: protocol name MQIsdp, level 3") {
  const auto bytes = hex(R"(
    10                       // CONNECT
    17                       // remaining length 23
    00 06 4d 51 49 73 64 70  // protocol name "MQIsdp"
    03                       // protocol level 3
    c2                       // connect flags: user name, password, clean session
    00 3c                    // keep alive 60 s
    00 03 63 6c 69           // client identifier "cli"
    00 01 75                 // user name "u"
    00 01 70                 // password "p"
  )");
  connect expected;
  expected.version = v::v3_1;
  expected.clean_start = true;
  expected.keep_alive = 60;
  expected.client_id = "cli";
  expected.username = "u";
  expected.password = bin("p");

  const connect c = check_fixture(bytes, expected, opts(v::v3_1, sender::client));
  CHECK(c.version == v::v3_1);
  CHECK(c.clean_start);
  CHECK(c.keep_alive == 60);
  CHECK(str(c.client_id) == "cli");
  REQUIRE(c.username.has_value());
  CHECK(str(*c.username) == "u");
  REQUIRE(c.password.has_value());
  CHECK(str(as_chars(*c.password)) == "p");
  CHECK_FALSE(c.will.has_value());
  CHECK(c.props.empty());
}

TEST_CASE("CONNECT 3.1.1 with Will, user name and password [MQTT-3.1.2]") {
  const auto bytes = hex(R"(
    10                 // CONNECT
    20                 // remaining length 32
    00 04 4d 51 54 54  // protocol name "MQTT"
    04                 // protocol level 4
    ee                 // flags: user name, password, Will Retain, Will QoS 1, Will, clean session
    00 0a              // keep alive 10 s
    00 02 63 31        // client identifier "c1"
    00 03 77 2f 74     // Will Topic "w/t"
    00 03 62 79 65     // Will Message "bye"
    00 01 75           // user name "u"
    00 03 01 02 ff     // password 01 02 ff
  )");
  const std::byte pw[] = {std::byte{0x01}, std::byte{0x02}, std::byte{0xff}};
  connect expected;
  expected.version = v::v3_1_1;
  expected.clean_start = true;
  expected.keep_alive = 10;
  expected.client_id = "c1";
  expected.username = "u";
  expected.password = bytes_view(pw);
  expected.will = will_message{"w/t", bin("bye"), qos::at_least_once, true, {}};

  const connect c = check_fixture(bytes, expected, opts(v::v3_1_1, sender::client));
  CHECK(c.version == v::v3_1_1);
  CHECK(c.keep_alive == 10);
  CHECK(str(c.client_id) == "c1");
  REQUIRE(c.will.has_value());
  CHECK(str(c.will->topic) == "w/t");
  CHECK(str(as_chars(c.will->payload)) == "bye");
  CHECK(c.will->q == qos::at_least_once);
  CHECK(c.will->retain);
  CHECK(c.will->props.empty());
  REQUIRE(c.username.has_value());
  CHECK(str(*c.username) == "u");
  REQUIRE(c.password.has_value());
  CHECK(to_hex(*c.password) == "01 02 ff");
}

TEST_CASE("CONNECT 3.1.1 without flags: Clean Session 0, keep alive 0") {
  const auto bytes = hex(R"(
    10                 // CONNECT
    0d                 // remaining length 13
    00 04 4d 51 54 54  // "MQTT"
    04                 // level 4
    00                 // no flags: Clean Session 0
    00 00              // keep alive 0 (off)
    00 01 78           // client identifier "x"
  )");
  connect expected;
  expected.version = v::v3_1_1;
  expected.clean_start = false;
  expected.keep_alive = 0;
  expected.client_id = "x";
  const connect c = check_fixture(bytes, expected, opts(v::v3_1_1, sender::client));
  CHECK_FALSE(c.clean_start);
  CHECK(c.keep_alive == 0);
  CHECK_FALSE(c.username.has_value());
  CHECK_FALSE(c.password.has_value());
  CHECK_FALSE(c.will.has_value());
}

TEST_CASE("CONNECT 3.1.1 with a zero-length client identifier [MQTT-3.1.3-6]") {
  const auto bytes = hex(R"(
    10                 // CONNECT
    0c                 // remaining length 12
    00 04 4d 51 54 54  // "MQTT"
    04                 // level 4
    02                 // clean session
    00 3c              // keep alive 60
    00 00              // client identifier ""
  )");
  connect expected;
  expected.version = v::v3_1_1;
  expected.client_id = "";
  const connect c = check_fixture(bytes, expected, opts(v::v3_1_1, sender::client));
  CHECK(c.client_id.empty());
}

TEST_CASE("CONNECT is decoded by its own protocol level whatever the options say") {
  const auto bytes = hex(R"(
    10 0d 00 04 4d 51 54 54  // CONNECT, remaining length 13, "MQTT"
    04                       // level 4: no Property Length follows the keep alive
    02 00 05                 // clean session, keep alive 5
    00 01 7a                 // client identifier "z"
  )");
  const connect c = decode_as<connect>(bytes, opts(v::v5, sender::client));
  CHECK(c.version == v::v3_1_1);
  CHECK(c.keep_alive == 5);
  CHECK(str(c.client_id) == "z");
  CHECK(c.props.empty());
}

TEST_CASE("CONNECT 5.0 with every CONNECT property, Will Properties, user name and password") {
  const auto bytes = hex(R"(
    10                    // CONNECT
    69                    // remaining length 105
    00 04 4d 51 54 54     // protocol name "MQTT"
    05                    // protocol level 5
    d6                    // flags: user name, password, Will QoS 2, Will, Clean Start
    00 1e                 // keep alive 30 s
    26                    // property length 38
    11 00 00 0e 10        //   Session Expiry Interval 3600
    21 00 14              //   Receive Maximum 20
    27 00 00 10 00        //   Maximum Packet Size 4096
    22 00 0a              //   Topic Alias Maximum 10
    19 01                 //   Request Response Information 1
    17 00                 //   Request Problem Information 0
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
    15 00 03 74 6f 6b     //   Authentication Method "tok"
    16 00 02 ab cd        //   Authentication Data ab cd
    00 03 64 65 76        // client identifier "dev"
    25                    // Will property length 37
    18 00 00 00 1e        //   Will Delay Interval 30
    01 01                 //   Payload Format Indicator 1 (UTF-8)
    02 00 00 00 78        //   Message Expiry Interval 120
    03 00 04 74 65 78 74  //   Content Type "text"
    08 00 03 72 2f 74     //   Response Topic "r/t"
    09 00 02 01 02        //   Correlation Data 01 02
    26 00 01 61 00 01 62  //   User Property "a" = "b"
    00 01 77              // Will Topic "w"
    00 01 78              // Will Payload "x"
    00 01 75              // user name "u"
    00 02 70 77           // password "pw"
  )");
  const std::byte auth_data[] = {std::byte{0xab}, std::byte{0xcd}};
  const std::byte correlation[] = {std::byte{0x01}, std::byte{0x02}};
  const property connect_props[] = {
      property::integer(property_id::session_expiry_interval, 3600),
      property::integer(property_id::receive_maximum, 20),
      property::integer(property_id::maximum_packet_size, 4096),
      property::integer(property_id::topic_alias_maximum, 10),
      property::integer(property_id::request_response_information, 1),
      property::integer(property_id::request_problem_information, 0),
      property::user("k", "v"),
      property::string(property_id::authentication_method, "tok"),
      property::binary_data(property_id::authentication_data, auth_data),
  };
  const property will_props[] = {
      property::integer(property_id::will_delay_interval, 30),
      property::integer(property_id::payload_format_indicator, 1),
      property::integer(property_id::message_expiry_interval, 120),
      property::string(property_id::content_type, "text"),
      property::string(property_id::response_topic, "r/t"),
      property::binary_data(property_id::correlation_data, correlation),
      property::user("a", "b"),
  };
  connect expected;
  expected.version = v::v5;
  expected.clean_start = true;
  expected.keep_alive = 30;
  expected.client_id = "dev";
  expected.username = "u";
  expected.password = bin("pw");
  expected.will = will_message{"w", bin("x"), qos::exactly_once, false, props_of(will_props)};
  expected.props = props_of(connect_props);

  const connect c = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(c.version == v::v5);
  CHECK(c.keep_alive == 30);
  CHECK(c.props.size() == 9);
  CHECK(c.props.number(property_id::session_expiry_interval) == std::optional<std::uint32_t>(3600));
  CHECK(c.props.number(property_id::receive_maximum) == std::optional<std::uint32_t>(20));
  CHECK(c.props.number(property_id::maximum_packet_size) == std::optional<std::uint32_t>(4096));
  CHECK(c.props.number(property_id::topic_alias_maximum) == std::optional<std::uint32_t>(10));
  CHECK(c.props.number(property_id::request_response_information) ==
        std::optional<std::uint32_t>(1));
  CHECK(c.props.number(property_id::request_problem_information) ==
        std::optional<std::uint32_t>(0));
  REQUIRE(c.props.find(property_id::user_property).has_value());
  CHECK(str(c.props.find(property_id::user_property)->text) == "k");
  CHECK(str(c.props.find(property_id::user_property)->value) == "v");
  CHECK(str(c.props.text(property_id::authentication_method).value_or("")) == "tok");
  CHECK(to_hex(c.props.find(property_id::authentication_data)->binary()) == "ab cd");
  REQUIRE(c.will.has_value());
  CHECK(c.will->q == qos::exactly_once);
  CHECK_FALSE(c.will->retain);
  CHECK(str(c.will->topic) == "w");
  CHECK(str(as_chars(c.will->payload)) == "x");
  CHECK(c.will->props.size() == 7);
  CHECK(c.will->props.number(property_id::will_delay_interval) == std::optional<std::uint32_t>(30));
  CHECK(c.will->props.number(property_id::payload_format_indicator) ==
        std::optional<std::uint32_t>(1));
  CHECK(c.will->props.number(property_id::message_expiry_interval) ==
        std::optional<std::uint32_t>(120));
  CHECK(str(c.will->props.text(property_id::content_type).value_or("")) == "text");
  CHECK(str(c.will->props.text(property_id::response_topic).value_or("")) == "r/t");
  CHECK(to_hex(c.will->props.find(property_id::correlation_data)->binary()) == "01 02");
  CHECK(str(*c.username) == "u");
  CHECK(str(as_chars(*c.password)) == "pw");

  auto size = measure(expected, v::v5);
  REQUIRE(size.has_value());
  CHECK(size->total == 107);
  CHECK(size->remaining_length == 105);
  CHECK(size->properties == 38);
  CHECK(size->will_properties == 37);
}

TEST_CASE("CONNECT 5.0 may carry a password without a user name [MQTT 3.1.2.9]") {
  const auto bytes = hex(R"(
    10                 // CONNECT
    11                 // remaining length 17
    00 04 4d 51 54 54  // "MQTT"
    05                 // level 5
    42                 // flags: password, Clean Start (no user name)
    00 00              // keep alive 0
    00                 // property length 0
    00 00              // client identifier ""
    00 02 70 77        // password "pw"
  )");
  connect expected;
  expected.version = v::v5;
  expected.keep_alive = 0;
  expected.password = bin("pw");
  const connect c = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK_FALSE(c.username.has_value());
  REQUIRE(c.password.has_value());
  CHECK(str(as_chars(*c.password)) == "pw");
}

TEST_CASE("CONNECT 5.0 with a retained QoS 1 Will, no Will Properties and an empty Will Payload") {
  const auto bytes = hex(R"(
    10                 // CONNECT
    14                 // remaining length 20
    00 04 4d 51 54 54  // "MQTT"
    05                 // level 5
    2e                 // flags: Will Retain, Will QoS 1, Will, Clean Start
    00 3c              // keep alive 60
    00                 // property length 0
    00 01 63           // client identifier "c"
    00                 // Will property length 0
    00 01 74           // Will Topic "t"
    00 00              // Will Payload, empty
  )");
  connect expected;
  expected.version = v::v5;
  expected.client_id = "c";
  expected.will = will_message{"t", {}, qos::at_least_once, true, {}};
  const connect c = check_fixture(bytes, expected, opts(v::v5, sender::client));
  REQUIRE(c.will.has_value());
  CHECK(c.will->payload.empty());
  CHECK(c.will->retain);
  CHECK(c.will->q == qos::at_least_once);
}

// --- CONNACK -------------------------------------------------------------------------------------

TEST_CASE("CONNACK 3.1.1 return codes 0-5 map to 5.0 reason codes and back [MQTT 3.2.2.3]") {
  struct row {
    std::uint8_t return_code;
    reason_code code;
  };
  const row rows[] = {
      {0x00, reason_code::success},
      {0x01, reason_code::unsupported_protocol_version},  // 0x84
      {0x02, reason_code::client_identifier_not_valid},   // 0x85
      {0x03, reason_code::server_unavailable},            // 0x88
      {0x04, reason_code::bad_user_name_or_password},     // 0x86
      {0x05, reason_code::not_authorized},                // 0x87
  };
  for (const row& r : rows) {
    CAPTURE(static_cast<int>(r.return_code));
    auto bytes = hex(R"(
      20  // CONNACK
      02  // remaining length 2
      00  // acknowledge flags: no session present
      00  // return code, patched below
    )");
    bytes[3] = std::byte{r.return_code};
    connack expected;
    expected.session_present = false;
    expected.code = r.code;
    const connack c = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
    CHECK(static_cast<int>(c.code) == static_cast<int>(r.code));
    CHECK(c.props.empty());
    // 3.1 has the same CONNACK
    check_fixture(bytes, expected, opts(v::v3_1, sender::server));
  }
}

TEST_CASE("CONNACK 3.1.1 with Session Present [MQTT-3.2.2-2]") {
  const auto bytes = hex(R"(
    20  // CONNACK
    02  // remaining length 2
    01  // acknowledge flags: session present
    00  // return code 0: accepted
  )");
  connack expected;
  expected.session_present = true;
  const connack c = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
  CHECK(c.session_present);
  CHECK(c.code == reason_code::success);
}

TEST_CASE("CONNACK 5.0 with every CONNACK property") {
  const auto bytes = hex(R"(
    20                    // CONNACK
    41                    // remaining length 65
    01                    // acknowledge flags: session present
    00                    // reason code 0x00 Success
    3e                    // property length 62
    11 00 00 00 3c        //   Session Expiry Interval 60
    21 00 0a              //   Receive Maximum 10
    24 01                 //   Maximum QoS 1
    25 00                 //   Retain Available 0
    27 00 01 00 00        //   Maximum Packet Size 65536
    12 00 02 69 64        //   Assigned Client Identifier "id"
    22 00 05              //   Topic Alias Maximum 5
    1f 00 02 6f 6b        //   Reason String "ok"
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
    28 01                 //   Wildcard Subscription Available 1
    29 00                 //   Subscription Identifiers Available 0
    2a 01                 //   Shared Subscription Available 1
    13 00 78              //   Server Keep Alive 120
    1a 00 01 72           //   Response Information "r"
    1c 00 01 73           //   Server Reference "s"
    15 00 01 6d           //   Authentication Method "m"
    16 00 01 64           //   Authentication Data "d"
  )");
  const property props[] = {
      property::integer(property_id::session_expiry_interval, 60),
      property::integer(property_id::receive_maximum, 10),
      property::integer(property_id::maximum_qos, 1),
      property::integer(property_id::retain_available, 0),
      property::integer(property_id::maximum_packet_size, 65536),
      property::string(property_id::assigned_client_identifier, "id"),
      property::integer(property_id::topic_alias_maximum, 5),
      property::string(property_id::reason_string, "ok"),
      property::user("k", "v"),
      property::integer(property_id::wildcard_subscription_available, 1),
      property::integer(property_id::subscription_identifier_available, 0),
      property::integer(property_id::shared_subscription_available, 1),
      property::integer(property_id::server_keep_alive, 120),
      property::string(property_id::response_information, "r"),
      property::string(property_id::server_reference, "s"),
      property::string(property_id::authentication_method, "m"),
      property::binary_data(property_id::authentication_data, bin("d")),
  };
  connack expected;
  expected.session_present = true;
  expected.code = reason_code::success;
  expected.props = props_of(props);

  const connack c = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(c.session_present);
  CHECK(c.code == reason_code::success);
  CHECK(c.props.size() == 17);
  CHECK(c.props.number(property_id::session_expiry_interval) == std::optional<std::uint32_t>(60));
  CHECK(c.props.number(property_id::receive_maximum) == std::optional<std::uint32_t>(10));
  CHECK(c.props.number(property_id::maximum_qos) == std::optional<std::uint32_t>(1));
  CHECK(c.props.number(property_id::retain_available) == std::optional<std::uint32_t>(0));
  CHECK(c.props.number(property_id::maximum_packet_size) == std::optional<std::uint32_t>(65536));
  CHECK(str(c.props.text(property_id::assigned_client_identifier).value_or("")) == "id");
  CHECK(c.props.number(property_id::topic_alias_maximum) == std::optional<std::uint32_t>(5));
  CHECK(str(c.props.text(property_id::reason_string).value_or("")) == "ok");
  CHECK(c.props.number(property_id::wildcard_subscription_available) ==
        std::optional<std::uint32_t>(1));
  CHECK(c.props.number(property_id::subscription_identifier_available) ==
        std::optional<std::uint32_t>(0));
  CHECK(c.props.number(property_id::shared_subscription_available) ==
        std::optional<std::uint32_t>(1));
  CHECK(c.props.number(property_id::server_keep_alive) == std::optional<std::uint32_t>(120));
  CHECK(str(c.props.text(property_id::response_information).value_or("")) == "r");
  CHECK(str(c.props.text(property_id::server_reference).value_or("")) == "s");
  CHECK(str(c.props.text(property_id::authentication_method).value_or("")) == "m");
  CHECK(str(c.props.text(property_id::authentication_data).value_or("")) == "d");
}

TEST_CASE("CONNACK 5.0 refusal: Use another server with a Server Reference") {
  const auto bytes = hex(R"(
    20                 // CONNACK
    09                 // remaining length 9
    00                 // acknowledge flags: no session present [MQTT-3.2.2-6]
    9c                 // reason code 0x9C Use another server
    06                 // property length 6
    1c 00 03 68 3a 31  //   Server Reference "h:1"
  )");
  const property props[] = {property::string(property_id::server_reference, "h:1")};
  connack expected;
  expected.code = reason_code::use_another_server;
  expected.props = props_of(props);
  const connack c = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK_FALSE(c.session_present);
  CHECK(c.code == reason_code::use_another_server);
  CHECK(str(c.props.text(property_id::server_reference).value_or("")) == "h:1");
}

TEST_CASE("CONNACK 5.0 without properties") {
  const auto bytes = hex(R"(
    20  // CONNACK
    03  // remaining length 3
    00  // acknowledge flags
    87  // reason code 0x87 Not authorized
    00  // property length 0
  )");
  connack expected;
  expected.code = reason_code::not_authorized;
  const connack c = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(c.code == reason_code::not_authorized);
  CHECK(c.props.empty());
}
