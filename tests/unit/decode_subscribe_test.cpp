// Byte-exact fixtures for SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK in MQTT 3.1.1 (3.1 is
// identical) and 5.0 (sections 3.8-3.11 of both specifications).
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

std::vector<int> codes(const reason_code_list& l) {
  std::vector<int> out;
  for (const reason_code c : l) out.push_back(static_cast<int>(c));
  return out;
}
}  // namespace

// --- SUBSCRIBE -----------------------------------------------------------------------------------

TEST_CASE("SUBSCRIBE 3.1.1: flags 0010, requested QoS per filter [MQTT-3.8.1-1]") {
  const auto bytes = hex(R"(
    82              // SUBSCRIBE, flags 0010
    0c              // remaining length 12
    00 0a           // packet identifier 10
    00 03 61 2f 62  // filter "a/b"
    01              //   options: QoS 1
    00 01 23        // filter "#"
    02              //   options: QoS 2
  )");
  const subscription subs[] = {
      {"a/b", {qos::at_least_once}},
      {"#", {qos::exactly_once}},
  };
  subscribe expected;
  expected.packet_id = 10;
  expected.subscriptions = subs_of(subs);
  for (const auto version : {v::v3_1, v::v3_1_1}) {
    const subscribe s = check_fixture(bytes, expected, opts(version, sender::client));
    CHECK(s.packet_id == 10);
    REQUIRE(s.subscriptions.size() == 2);
    auto it = s.subscriptions.begin();
    CHECK(str((*it).filter) == "a/b");
    CHECK((*it).options.max_qos == qos::at_least_once);
    CHECK_FALSE((*it).options.no_local);
    CHECK_FALSE((*it).options.retain_as_published);
    CHECK((*it).options.retain == retain_handling::send_on_subscribe);
    ++it;
    CHECK(str((*it).filter) == "#");
    CHECK((*it).options.max_qos == qos::exactly_once);
    ++it;
    CHECK(it == s.subscriptions.end());
    CHECK(s.props.empty());
  }
}

TEST_CASE("SUBSCRIBE 5.0: subscription options bits and properties [MQTT 3.8.3.1]") {
  const auto bytes = hex(R"(
    82                    // SUBSCRIBE, flags 0010
    23                    // remaining length 35
    00 0b                 // packet identifier 11
    09                    // property length 9
    0b 05                 //   Subscription Identifier 5
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
    00 03 61 2f 2b        // filter "a/+"
    1d                    //   options 0001 1101: Retain Handling 1, RAP, No Local, QoS 1
    00 0a 24 73 68 61 72 65 2f 67 2f 78  // filter "$share/g/x"
    22                    //   options 0010 0010: Retain Handling 2, QoS 2
    00 01 23              // filter "#"
    00                    //   options 0: QoS 0, Retain Handling 0
  )");
  const property props[] = {property::integer(property_id::subscription_identifier, 5),
                            property::user("k", "v")};
  const subscription subs[] = {
      {"a/+", {qos::at_least_once, true, true, retain_handling::send_if_new_subscription}},
      {"$share/g/x", {qos::exactly_once, false, false, retain_handling::do_not_send}},
      {"#", {qos::at_most_once, false, false, retain_handling::send_on_subscribe}},
  };
  subscribe expected;
  expected.packet_id = 11;
  expected.subscriptions = subs_of(subs);
  expected.props = props_of(props);
  const subscribe s = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(s.packet_id == 11);
  CHECK(s.props.number(property_id::subscription_identifier) == std::optional<std::uint32_t>(5));
  REQUIRE(s.subscriptions.size() == 3);
  auto it = s.subscriptions.begin();
  const subscription first = *it++;
  CHECK(str(first.filter) == "a/+");
  CHECK(first.options.max_qos == qos::at_least_once);
  CHECK(first.options.no_local);
  CHECK(first.options.retain_as_published);
  CHECK(first.options.retain == retain_handling::send_if_new_subscription);
  const subscription second = *it++;
  CHECK(str(second.filter) == "$share/g/x");
  CHECK(second.options.max_qos == qos::exactly_once);
  CHECK_FALSE(second.options.no_local);
  CHECK_FALSE(second.options.retain_as_published);
  CHECK(second.options.retain == retain_handling::do_not_send);
  const subscription third = *it++;
  CHECK(str(third.filter) == "#");
  CHECK(third.options == subscribe_options{});
  CHECK(it == s.subscriptions.end());
}

// --- SUBACK --------------------------------------------------------------------------------------

TEST_CASE("SUBACK 3.1.1: return codes 0x00-0x02 and 0x80 Failure [MQTT 3.9.3]") {
  const auto bytes = hex(R"(
    90           // SUBACK
    06           // remaining length 6
    00 0a        // packet identifier 10
    00 01 02 80  // Success QoS 0, QoS 1, QoS 2, Failure
  )");
  const reason_code list[] = {reason_code::granted_qos_0, reason_code::granted_qos_1,
                              reason_code::granted_qos_2, reason_code::unspecified_error};
  suback expected;
  expected.packet_id = 10;
  expected.codes = codes_of(list);
  const suback s = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
  CHECK(s.packet_id == 10);
  CHECK(codes(s.codes) == std::vector<int>{0x00, 0x01, 0x02, 0x80});
  CHECK(s.props.empty());
}

TEST_CASE("SUBACK 5.0 with a Reason String and reason codes") {
  const auto bytes = hex(R"(
    90                    // SUBACK
    0e                    // remaining length 14
    00 0b                 // packet identifier 11
    04                    // property length 4
    1f 00 01 72           //   Reason String "r"
    00 01 02 8f 9e a1 a2  // granted 0/1/2, filter invalid, shared / ids / wildcards unsupported
  )");
  const property props[] = {property::string(property_id::reason_string, "r")};
  const reason_code list[] = {reason_code::granted_qos_0,
                              reason_code::granted_qos_1,
                              reason_code::granted_qos_2,
                              reason_code::topic_filter_invalid,
                              reason_code::shared_subscriptions_not_supported,
                              reason_code::subscription_identifiers_not_supported,
                              reason_code::wildcard_subscriptions_not_supported};
  suback expected;
  expected.packet_id = 11;
  expected.codes = codes_of(list);
  expected.props = props_of(props);
  const suback s = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(codes(s.codes) == std::vector<int>{0x00, 0x01, 0x02, 0x8f, 0x9e, 0xa1, 0xa2});
  CHECK(str(s.props.text(property_id::reason_string).value_or("")) == "r");
}

TEST_CASE("SUBACK 5.0 with the remaining failure codes and no properties") {
  const auto bytes = hex(R"(
    90              // SUBACK
    08              // remaining length 8
    00 0c           // packet identifier 12
    00              // property length 0
    80 83 87 91 97  // unspecified, implementation specific, not authorized, id in use, quota
  )");
  const reason_code list[] = {reason_code::unspecified_error,
                              reason_code::implementation_specific_error,
                              reason_code::not_authorized, reason_code::packet_identifier_in_use,
                              reason_code::quota_exceeded};
  suback expected;
  expected.packet_id = 12;
  expected.codes = codes_of(list);
  const suback s = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(s.codes.size() == 5);
}

// --- UNSUBSCRIBE ---------------------------------------------------------------------------------

TEST_CASE("UNSUBSCRIBE 3.1.1: flags 0010 and a list of filters [MQTT-3.10.1-1]") {
  const auto bytes = hex(R"(
    a2              // UNSUBSCRIBE, flags 0010
    0a              // remaining length 10
    00 0c           // packet identifier 12
    00 03 61 2f 62  // filter "a/b"
    00 01 23        // filter "#"
  )");
  const std::string_view filters[] = {"a/b", "#"};
  unsubscribe expected;
  expected.packet_id = 12;
  expected.filters = filters_of(filters);
  const unsubscribe u = check_fixture(bytes, expected, opts(v::v3_1_1, sender::client));
  CHECK(u.packet_id == 12);
  std::vector<std::string> got;
  for (const std::string_view f : u.filters) got.emplace_back(f);
  CHECK(got == std::vector<std::string>{"a/b", "#"});
}

TEST_CASE("UNSUBSCRIBE 5.0 with a User Property and a shared subscription") {
  const auto bytes = hex(R"(
    a2                    // UNSUBSCRIBE, flags 0010
    1b                    // remaining length 27
    00 0d                 // packet identifier 13
    07                    // property length 7
    26 00 01 6b 00 01 76  //   User Property "k" = "v"
    00 03 61 2f 2b        // filter "a/+"
    00 0a 24 73 68 61 72 65 2f 67 2f 78  // filter "$share/g/x"
  )");
  const property props[] = {property::user("k", "v")};
  const std::string_view filters[] = {"a/+", "$share/g/x"};
  unsubscribe expected;
  expected.packet_id = 13;
  expected.filters = filters_of(filters);
  expected.props = props_of(props);
  const unsubscribe u = check_fixture(bytes, expected, opts(v::v5, sender::client));
  CHECK(u.filters.size() == 2);
  CHECK(u.props.size() == 1);
}

// --- UNSUBACK ------------------------------------------------------------------------------------

TEST_CASE("UNSUBACK 3.1.1 has no payload [MQTT 3.11.3]") {
  const auto bytes = hex(R"(
    b0     // UNSUBACK
    02     // remaining length 2
    00 0c  // packet identifier 12
  )");
  unsuback expected;
  expected.packet_id = 12;
  const unsuback u = check_fixture(bytes, expected, opts(v::v3_1_1, sender::server));
  CHECK(u.packet_id == 12);
  CHECK(u.codes.empty());
  CHECK(u.props.empty());
}

TEST_CASE("UNSUBACK 5.0 with a Reason String and reason codes") {
  const auto bytes = hex(R"(
    b0           // UNSUBACK
    0a           // remaining length 10
    00 0d        // packet identifier 13
    04           // property length 4
    1f 00 01 72  //   Reason String "r"
    00 11 8f     // Success, No subscription existed, Topic Filter invalid
  )");
  const property props[] = {property::string(property_id::reason_string, "r")};
  const reason_code list[] = {reason_code::success, reason_code::no_subscription_existed,
                              reason_code::topic_filter_invalid};
  unsuback expected;
  expected.packet_id = 13;
  expected.codes = codes_of(list);
  expected.props = props_of(props);
  const unsuback u = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(codes(u.codes) == std::vector<int>{0x00, 0x11, 0x8f});
}

TEST_CASE("UNSUBACK 5.0 with the remaining failure codes and no properties") {
  const auto bytes = hex(R"(
    b0           // UNSUBACK
    07           // remaining length 7
    00 0e        // packet identifier 14
    00           // property length 0
    80 83 87 91  // unspecified, implementation specific, not authorized, id in use
  )");
  const reason_code list[] = {reason_code::unspecified_error,
                              reason_code::implementation_specific_error,
                              reason_code::not_authorized, reason_code::packet_identifier_in_use};
  unsuback expected;
  expected.packet_id = 14;
  expected.codes = codes_of(list);
  const unsuback u = check_fixture(bytes, expected, opts(v::v5, sender::server));
  CHECK(codes(u.codes) == std::vector<int>{0x80, 0x83, 0x87, 0x91});
}
