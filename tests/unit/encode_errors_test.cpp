// The encoder refuses what a peer would reject, and what does not fit, with the errc that says
// why; measure() and encode() agree (support/codec_check.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/codec_check.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

publish make_publish(std::string_view topic) {
  publish p;
  p.topic = topic;
  p.payload = bin("x");
  return p;
}

subscribe make_subscribe(std::span<const subscription> subs) {
  subscribe s;
  s.packet_id = 1;
  s.subscriptions = subscription_list(subs);
  return s;
}
}  // namespace

TEST_CASE("encode: invalid topic names [MQTT-4.7.1-1, MQTT-4.7.3-1, MQTT-4.7.3-2]") {
  TERN_CHECK_ENCODE_FAILS(make_publish("a/+"), v::v5, errc::invalid_topic_name);
  TERN_CHECK_ENCODE_FAILS(make_publish("a/#"), v::v3_1_1, errc::invalid_topic_name);
  TERN_CHECK_ENCODE_FAILS(make_publish(""), v::v3_1_1, errc::invalid_topic_name);
  TERN_CHECK_ENCODE_FAILS(make_publish(""), v::v5, errc::invalid_topic_name);  // no alias
  const std::string long_topic(65'536, 'a');
  TERN_CHECK_ENCODE_FAILS(make_publish(long_topic), v::v5, errc::invalid_topic_name);

  // An empty topic with a Topic Alias is fine in 5.0, and so is the longest topic.
  const property alias[] = {property::integer(property_id::topic_alias, 1)};
  publish aliased = make_publish("");
  aliased.props = props_of(alias);
  CHECK(measure(aliased, v::v5).has_value());
  const std::string longest(65'535, 'a');
  CHECK(measure(make_publish(longest), v::v3_1_1).has_value());
}

TEST_CASE("encode: invalid UTF-8 and U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2]") {
  TERN_CHECK_ENCODE_FAILS(make_publish("a\xc0\xaf"), v::v3_1_1, errc::invalid_utf8);
  TERN_CHECK_ENCODE_FAILS(make_publish(std::string_view("a\0b", 3)), v::v3_1_1,
                          errc::invalid_utf8);
  connect c;
  c.client_id = "\xed\xa0\x80";  // U+D800
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::invalid_utf8);
  c.client_id = "c";
  c.username = "\xff";
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::invalid_utf8);

  const property user[] = {property::user("k", std::string_view("\0", 1))};
  puback a;
  a.packet_id = 1;
  a.props = props_of(user);
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::invalid_utf8);
  const property reason[] = {property::string(property_id::reason_string, "\xf4\x90\x80\x80")};
  a.props = props_of(reason);
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::invalid_utf8);
}

TEST_CASE("encode: invalid topic filters [MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.8.2-1]") {
  for (const std::string_view filter : {"a/#/b", "a+", "#a", "", "$share/g", "$share//x"}) {
    CAPTURE(str(filter));
    const subscription subs[] = {{filter, {}}};
    TERN_CHECK_ENCODE_FAILS(make_subscribe(subs), v::v5, errc::invalid_topic_filter);
    const std::string_view filters[] = {"ok", filter};
    unsubscribe u;
    u.packet_id = 1;
    u.filters = filters_of(filters);
    TERN_CHECK_ENCODE_FAILS(u, v::v5, errc::invalid_topic_filter);
  }
}

TEST_CASE("encode: packet identifier 0 where one is required [MQTT-2.2.1-3]") {
  publish p = make_publish("t");
  p.q = qos::at_least_once;
  TERN_CHECK_ENCODE_FAILS(p, v::v3_1_1, errc::invalid_packet_id);
  p.q = qos::exactly_once;
  TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::invalid_packet_id);
  TERN_CHECK_ENCODE_FAILS(puback{}, v::v5, errc::invalid_packet_id);
  TERN_CHECK_ENCODE_FAILS(pubrec{}, v::v3_1_1, errc::invalid_packet_id);
  TERN_CHECK_ENCODE_FAILS(pubrel{}, v::v5, errc::invalid_packet_id);
  TERN_CHECK_ENCODE_FAILS(pubcomp{}, v::v5, errc::invalid_packet_id);
  const subscription subs[] = {{"a", {}}};
  subscribe s = make_subscribe(subs);
  s.packet_id = 0;
  TERN_CHECK_ENCODE_FAILS(s, v::v5, errc::invalid_packet_id);
  const reason_code codes[] = {reason_code::success};
  suback sa;
  sa.codes = codes_of(codes);
  TERN_CHECK_ENCODE_FAILS(sa, v::v5, errc::invalid_packet_id);
  const std::string_view filters[] = {"a"};
  unsubscribe u;
  u.filters = filters_of(filters);
  TERN_CHECK_ENCODE_FAILS(u, v::v3_1_1, errc::invalid_packet_id);
  TERN_CHECK_ENCODE_FAILS(unsuback{}, v::v3_1_1, errc::invalid_packet_id);
}

TEST_CASE("encode: SUBSCRIBE, UNSUBSCRIBE, SUBACK and 5.0 UNSUBACK need an entry") {
  subscribe s;
  s.packet_id = 1;
  TERN_CHECK_ENCODE_FAILS(s, v::v5, errc::empty_list);
  TERN_CHECK_ENCODE_FAILS(s, v::v3_1_1, errc::empty_list);
  unsubscribe u;
  u.packet_id = 1;
  TERN_CHECK_ENCODE_FAILS(u, v::v5, errc::empty_list);
  suback sa;
  sa.packet_id = 1;
  TERN_CHECK_ENCODE_FAILS(sa, v::v3_1_1, errc::empty_list);
  unsuback ua;
  ua.packet_id = 1;
  TERN_CHECK_ENCODE_FAILS(ua, v::v5, errc::empty_list);
  CHECK(measure(ua, v::v3_1_1).has_value());  // 3.1.1 UNSUBACK has no payload
}

TEST_CASE("encode: properties on a 3.1 or 3.1.1 packet") {
  const property expiry[] = {property::integer(property_id::message_expiry_interval, 5)};
  publish p = make_publish("t");
  p.props = props_of(expiry);
  TERN_CHECK_ENCODE_FAILS(p, v::v3_1_1, errc::properties_need_v5);
  TERN_CHECK_ENCODE_FAILS(p, v::v3_1, errc::properties_need_v5);

  const property session[] = {property::integer(property_id::session_expiry_interval, 5)};
  connect c;
  c.version = v::v3_1_1;
  c.client_id = "c";
  c.props = props_of(session);
  TERN_CHECK_ENCODE_FAILS(c, v::v3_1_1, errc::properties_need_v5);

  const property will_props[] = {property::integer(property_id::will_delay_interval, 5)};
  c.props = {};
  c.will = will_message{"t", {}, qos::at_most_once, false, props_of(will_props)};
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::properties_need_v5);  // CONNECT's own level is 4

  const property user[] = {property::user("a", "b")};
  puback a;
  a.packet_id = 1;
  a.props = props_of(user);
  TERN_CHECK_ENCODE_FAILS(a, v::v3_1_1, errc::properties_need_v5);
  disconnect d;
  d.props = props_of(user);
  TERN_CHECK_ENCODE_FAILS(d, v::v3_1_1, errc::properties_need_v5);
}

TEST_CASE("encode: a property not allowed on the packet") {
  const property alias[] = {property::integer(property_id::topic_alias, 1)};
  connack ca;
  ca.props = props_of(alias);
  TERN_CHECK_ENCODE_FAILS(ca, v::v5, errc::property_not_allowed);

  const property delay[] = {property::integer(property_id::will_delay_interval, 1)};
  publish p = make_publish("t");
  p.props = props_of(delay);
  TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::property_not_allowed);

  connect c;
  c.client_id = "c";
  c.props = props_of(delay);  // Will Delay Interval belongs in the Will Properties
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::property_not_allowed);

  const property receive[] = {property::integer(property_id::receive_maximum, 1)};
  c.props = {};
  c.will = will_message{"t", {}, qos::at_most_once, false, props_of(receive)};
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::property_not_allowed);

  const property sub_id[] = {property::integer(property_id::subscription_identifier, 1)};
  puback a;
  a.packet_id = 1;
  a.props = props_of(sub_id);
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::property_not_allowed);

  const property unknown[] = {property::integer(static_cast<property_id>(0x05), 1)};
  a.props = props_of(unknown);
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::property_not_allowed);
}

TEST_CASE("encode: a once-only property given twice") {
  const property twice[] = {property::integer(property_id::message_expiry_interval, 1),
                            property::integer(property_id::message_expiry_interval, 2)};
  publish p = make_publish("t");
  p.props = props_of(twice);
  TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::duplicate_property);

  const property ids[] = {property::integer(property_id::subscription_identifier, 1),
                          property::integer(property_id::subscription_identifier, 2)};
  const subscription subs[] = {{"a", {}}};
  subscribe s = make_subscribe(subs);
  s.props = props_of(ids);
  TERN_CHECK_ENCODE_FAILS(s, v::v5, errc::duplicate_property);
  p.props = props_of(ids);  // allowed on PUBLISH
  CHECK(measure(p, v::v5).has_value());

  const property users[] = {property::user("a", "1"), property::user("a", "1")};
  s.props = props_of(users);
  CHECK(measure(s, v::v5).has_value());
}

TEST_CASE("encode: a property value out of range or forbidden") {
  struct row {
    const char* what;
    property prop;
  };
  const row connack_rows[] = {
      {"Receive Maximum 0", property::integer(property_id::receive_maximum, 0)},
      {"Maximum Packet Size 0", property::integer(property_id::maximum_packet_size, 0)},
      {"Maximum QoS 2", property::integer(property_id::maximum_qos, 2)},
      {"Retain Available 2", property::integer(property_id::retain_available, 2)},
      {"byte property 256", property::integer(property_id::retain_available, 256)},
      {"two-byte property 65536", property::integer(property_id::topic_alias_maximum, 65'536)},
      {"two-byte Server Keep Alive 70000", property::integer(property_id::server_keep_alive, 70'000)},
  };
  for (const row& r : connack_rows) {
    CAPTURE(std::string(r.what));
    const property props[] = {r.prop};
    connack c;
    c.props = props_of(props);
    TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::invalid_property_value);
  }
  const row publish_rows[] = {
      {"Payload Format Indicator 2", property::integer(property_id::payload_format_indicator, 2)},
      {"Subscription Identifier 0", property::integer(property_id::subscription_identifier, 0)},
      {"Subscription Identifier past 268,435,455",
       property::integer(property_id::subscription_identifier, 268'435'456)},
      {"Topic Alias 0", property::integer(property_id::topic_alias, 0)},
      {"Topic Alias 65536", property::integer(property_id::topic_alias, 65'536)},
  };
  for (const row& r : publish_rows) {
    CAPTURE(std::string(r.what));
    const property props[] = {r.prop};
    publish p = make_publish("t");
    p.props = props_of(props);
    TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::invalid_property_value);
  }
  const property problem[] = {property::integer(property_id::request_problem_information, 2)};
  connect c;
  c.client_id = "c";
  c.props = props_of(problem);
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::invalid_property_value);
}

TEST_CASE("encode: a reason code the packet may not carry, or 3.1.1 cannot express") {
  puback a;
  a.packet_id = 1;
  a.code = reason_code::disconnect_with_will_message;  // 0x04
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::invalid_reason_code);
  a.code = reason_code::no_matching_subscribers;  // fine in 5.0, no place for it in 3.1.1
  CHECK(measure(a, v::v5).has_value());
  TERN_CHECK_ENCODE_FAILS(a, v::v3_1_1, errc::invalid_reason_code);

  pubrel r;
  r.packet_id = 1;
  r.code = reason_code::unspecified_error;
  TERN_CHECK_ENCODE_FAILS(r, v::v5, errc::invalid_reason_code);

  disconnect d;
  d.code = reason_code::granted_qos_1;
  TERN_CHECK_ENCODE_FAILS(d, v::v5, errc::invalid_reason_code);
  d.code = reason_code::server_busy;
  TERN_CHECK_ENCODE_FAILS(d, v::v3_1_1, errc::invalid_reason_code);

  connack ca;
  ca.code = reason_code::server_busy;  // 0x89: no 3.1.1 return code
  CHECK(measure(ca, v::v5).has_value());
  TERN_CHECK_ENCODE_FAILS(ca, v::v3_1_1, errc::invalid_reason_code);
  ca.code = reason_code::server_shutting_down;  // DISCONNECT only
  TERN_CHECK_ENCODE_FAILS(ca, v::v5, errc::invalid_reason_code);

  const reason_code quota[] = {reason_code::quota_exceeded};
  suback sa;
  sa.packet_id = 1;
  sa.codes = codes_of(quota);
  CHECK(measure(sa, v::v5).has_value());
  TERN_CHECK_ENCODE_FAILS(sa, v::v3_1_1, errc::invalid_reason_code);
  const reason_code none[] = {reason_code::no_subscription_existed};
  sa.codes = codes_of(none);
  TERN_CHECK_ENCODE_FAILS(sa, v::v5, errc::invalid_reason_code);

  unsuback ua;
  ua.packet_id = 1;
  const reason_code granted[] = {reason_code::granted_qos_1};
  ua.codes = codes_of(granted);
  TERN_CHECK_ENCODE_FAILS(ua, v::v5, errc::invalid_reason_code);

  auth au;
  au.code = reason_code::unspecified_error;
  TERN_CHECK_ENCODE_FAILS(au, v::v5, errc::invalid_reason_code);
}

TEST_CASE("encode: AUTH and 5.0-only subscription options before 5.0") {
  TERN_CHECK_ENCODE_FAILS(auth{}, v::v3_1_1, errc::unsupported_by_version);
  TERN_CHECK_ENCODE_FAILS(auth{}, v::v3_1, errc::unsupported_by_version);
  const subscription no_local[] = {{"a", {qos::at_most_once, true}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(no_local), v::v3_1_1, errc::unsupported_by_version);
  const subscription rap[] = {{"a", {qos::at_most_once, false, true}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(rap), v::v3_1_1, errc::unsupported_by_version);
  const subscription handling[] = {
      {"a", {qos::at_most_once, false, false, retain_handling::do_not_send}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(handling), v::v3_1_1, errc::unsupported_by_version);
}

TEST_CASE("encode: invalid subscription options [MQTT-3.8.3-4, MQTT 3.8.3.1]") {
  const subscription rh3[] = {
      {"a", {qos::at_most_once, false, false, static_cast<retain_handling>(3)}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(rh3), v::v5, errc::invalid_subscription_options);
  const subscription shared_no_local[] = {{"$share/g/a", {qos::at_most_once, true}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(shared_no_local), v::v5,
                          errc::invalid_subscription_options);
}

TEST_CASE("encode: QoS above 2") {
  publish p = make_publish("t");
  p.q = static_cast<qos>(3);
  p.packet_id = 1;
  TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::invalid_qos);
  const subscription subs[] = {{"a", {static_cast<qos>(3)}}};
  TERN_CHECK_ENCODE_FAILS(make_subscribe(subs), v::v3_1_1, errc::invalid_qos);
  connect c;
  c.client_id = "c";
  c.will = will_message{"t", {}, static_cast<qos>(3), false, {}};
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::invalid_qos);
}

TEST_CASE("encode: a string or binary field longer than 65,535 bytes") {
  const std::string big(65'536, 'a');
  connect c;
  c.client_id = big;
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::string_too_long);
  c.client_id = "c";
  c.password = bin(big);
  c.username = "u";
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::string_too_long);
  c.password.reset();
  c.username = big;
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::string_too_long);
  c.username.reset();
  c.will = will_message{"t", bin(big), qos::at_most_once, false, {}};
  TERN_CHECK_ENCODE_FAILS(c, v::v5, errc::string_too_long);

  const property user[] = {property::user("k", big)};
  puback a;
  a.packet_id = 1;
  a.props = props_of(user);
  TERN_CHECK_ENCODE_FAILS(a, v::v5, errc::string_too_long);
  const property data[] = {property::binary_data(property_id::correlation_data, bin(big))};
  publish p = make_publish("t");
  p.props = props_of(data);
  TERN_CHECK_ENCODE_FAILS(p, v::v5, errc::string_too_long);
}

TEST_CASE("encode: password without user name before 5.0 [MQTT-3.1.2-22]") {
  connect c;
  c.client_id = "c";
  c.password = bin("pw");
  c.version = v::v3_1_1;
  TERN_CHECK_ENCODE_FAILS(c, v::v3_1_1, errc::invalid_connect);
  c.version = v::v3_1;
  TERN_CHECK_ENCODE_FAILS(c, v::v3_1, errc::invalid_connect);
  c.version = v::v5;
  CHECK(measure(c, v::v5).has_value());
}

TEST_CASE("encode: a packet past 268,435,455 bytes of Remaining Length") {
  // Never touched: measure() only needs the size, and encode() fails before writing.
  const std::unique_ptr<std::byte[]> big(new std::byte[max_variable_integer]);
  publish p;
  p.topic = "t";
  p.payload = bytes_view(big.get(), max_variable_integer - 3);  // exactly the largest
  auto size = measure(p, v::v3_1_1);
  REQUIRE(size.has_value());
  CHECK(size->remaining_length == max_variable_integer);
  CHECK(size->total == max_variable_integer + 5);
  p.payload = bytes_view(big.get(), max_variable_integer - 2);  // one byte more
  TERN_CHECK_ENCODE_FAILS(p, v::v3_1_1, errc::packet_too_large);
}

TEST_CASE("encode: an output buffer one byte short") {
  publish p = make_publish("a/b");
  auto size = measure(p, v::v5);
  REQUIRE(size.has_value());
  std::vector<std::byte> out(size->total - 1, std::byte{0xee});
  auto n = encode(p, v::v5, out);
  REQUIRE_FALSE(n.has_value());
  CHECK(str(to_string(n.error())) == str(to_string(errc::buffer_too_small)));
  for (const std::byte b : out) REQUIRE(b == std::byte{0xee});  // nothing written
  std::vector<std::byte> none;
  auto z = encode(pingreq{}, v::v5, none);
  REQUIRE_FALSE(z.has_value());
  CHECK(str(to_string(z.error())) == str(to_string(errc::buffer_too_small)));
}

TEST_CASE("every errc has a sentence") {
  for (int i = 1; i <= static_cast<int>(errc::invalid_connect); ++i) {
    CAPTURE(i);
    CHECK_FALSE(to_string(static_cast<errc>(i)).empty());
  }
  CHECK(str(to_string(errc::buffer_too_small)) != str(to_string(errc::packet_too_large)));
}
