// Byte-exact fixtures for PINGREQ, PINGRESP, DISCONNECT and AUTH (sections 3.12-3.15).
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;
}  // namespace

TEST_CASE("PINGREQ and PINGRESP: two bytes in every version [MQTT 3.12, 3.13]") {
  for (const auto version : {v::v3_1, v::v3_1_1, v::v5}) {
    CAPTURE(static_cast<int>(version));
    const auto req = hex(R"(
      c0  // PINGREQ
      00  // remaining length 0
    )");
    check_fixture(req, pingreq{}, opts(version, sender::client));
    const auto resp = hex(R"(
      d0  // PINGRESP
      00  // remaining length 0
    )");
    check_fixture(resp, pingresp{}, opts(version, sender::server));
  }
}

TEST_CASE("DISCONNECT 3.1.1: two bytes [MQTT 3.14]") {
  const auto bytes = hex(R"(
    e0  // DISCONNECT
    00  // remaining length 0
  )");
  for (const auto version : {v::v3_1, v::v3_1_1}) {
    const disconnect d = check_fixture(bytes, disconnect{}, opts(version, sender::client));
    CHECK(d.code == reason_code::normal_disconnection);
    CHECK(d.props.empty());
  }
}

TEST_CASE("DISCONNECT 5.0 with remaining length 0 is a Normal disconnection [MQTT 3.14.2.1]") {
  const auto bytes = hex(R"(
    e0  // DISCONNECT
    00  // remaining length 0: no reason code, no properties
  )");
  const disconnect d = check_fixture(bytes, disconnect{}, opts(v::v5, sender::any));
  CHECK(d.code == reason_code::normal_disconnection);
  CHECK(d.props.empty());
}

TEST_CASE("DISCONNECT 5.0 with remaining length 1: a reason code, no property length") {
  const auto bytes = hex(R"(
    e0  // DISCONNECT
    01  // remaining length 1
    04  // reason code 0x04 Disconnect with Will Message
  )");
  disconnect expected;
  expected.code = reason_code::disconnect_with_will_message;
  const disconnect d = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(d.code == reason_code::disconnect_with_will_message);
  CHECK(d.props.empty());
}

TEST_CASE("DISCONNECT 5.0 from a client with Session Expiry Interval and a User Property") {
  const auto bytes = hex(R"(
    e0                    // DISCONNECT
    0e                    // remaining length 14
    04                    // reason code 0x04 Disconnect with Will Message
    0c                    // property length 12
    11 00 00 00 0a        //   Session Expiry Interval 10
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
  )");
  const property props[] = {property::integer(property_id::session_expiry_interval, 10),
                            property::user("k", "v")};
  disconnect expected;
  expected.code = reason_code::disconnect_with_will_message;
  expected.props = props_of(props);
  const disconnect d = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(d.props.number(property_id::session_expiry_interval) == std::optional<std::uint32_t>(10));
}

TEST_CASE("DISCONNECT 5.0 from a server with a Reason String and a Server Reference") {
  const auto bytes = hex(R"(
    e0              // DISCONNECT
    0b              // remaining length 11
    9c              // reason code 0x9C Use another server
    09              // property length 9
    1f 00 02 62 79  //   Reason String "by"
    1c 00 01 73     //   Server Reference "s"
  )");
  const property props[] = {property::string(property_id::reason_string, "by"),
                            property::string(property_id::server_reference, "s")};
  disconnect expected;
  expected.code = reason_code::use_another_server;
  expected.props = props_of(props);
  const disconnect d = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(d.code == reason_code::use_another_server);
  CHECK(str(d.props.text(property_id::server_reference).value_or("")) == "s");
}

TEST_CASE("AUTH 5.0 with remaining length 0 is Success [MQTT 3.15.2.1]") {
  const auto bytes = hex(R"(
    f0  // AUTH
    00  // remaining length 0
  )");
  const auth a = check_fixture(bytes, auth{}, opts(v::v5, sender::server));
  CHECK(a.code == reason_code::success);
  CHECK(a.props.empty());
}

TEST_CASE("AUTH 5.0 Continue authentication with method and data") {
  const auto bytes = hex(R"(
    f0                 // AUTH
    0d                 // remaining length 13
    18                 // reason code 0x18 Continue authentication
    0b                 // property length 11
    15 00 03 74 6f 6b  //   Authentication Method "tok"
    16 00 02 01 02     //   Authentication Data 01 02
  )");
  const std::byte data[] = {std::byte{1}, std::byte{2}};
  const property props[] = {property::string(property_id::authentication_method, "tok"),
                            property::binary_data(property_id::authentication_data, data)};
  auth expected;
  expected.code = reason_code::continue_authentication;
  expected.props = props_of(props);
  const auth a = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(a.code == reason_code::continue_authentication);
  CHECK(str(a.props.text(property_id::authentication_method).value_or("")) == "tok");
  CHECK(to_hex(a.props.find(property_id::authentication_data)->binary()) == "01 02");
}

TEST_CASE("AUTH 5.0 Re-authenticate from a client") {
  const auto bytes = hex(R"(
    f0                 // AUTH
    08                 // remaining length 8
    19                 // reason code 0x19 Re-authenticate
    06                 // property length 6
    15 00 03 74 6f 6b  //   Authentication Method "tok"
  )");
  const property props[] = {property::string(property_id::authentication_method, "tok")};
  auth expected;
  expected.code = reason_code::re_authenticate;
  expected.props = props_of(props);
  check_fixture(bytes, expected, opts(v::v5, sender::client));
}
