// Maximum Packet Size both ways (5.0): never send a packet larger than the server accepts
// [MQTT-3.1.2-24] — a command that would fails with errc::packet_too_large and changes nothing
// — and refuse an incoming packet larger than ours [MQTT-3.2.2-15] with DISCONNECT 0x95.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config size_config(v version = v::v5) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

tern::connack limited(std::uint32_t max, std::uint16_t aliases = 0, bool present = false) {
  static std::array<property, 2> props;
  props[0] = property::integer(property_id::maximum_packet_size, max);
  props[1] = property::integer(property_id::topic_alias_maximum, aliases);
  tern::connack a;
  a.session_present = present;
  a.props = properties(std::span<const property>(props.data(), aliases != 0 ? 2 : 1));
  return a;
}

// A payload that makes the PUBLISH (topic "t", no properties) exactly `total` bytes (< 128).
std::string payload_for(std::size_t total, qos q) {
  const std::size_t fixed = 2 + 3 + (q == qos::at_most_once ? 0 : 2) + 1;  // 5.0: property len
  return std::string(total - fixed, 'p');
}
}  // namespace

TEST_CASE(
    "packet size: a publish over the server's maximum fails and changes nothing "
    "[MQTT-3.1.2-24]") {
  session_peer p(size_config());
  (void)p.connect_with(limited(100));
  for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
    CAPTURE(static_cast<int>(q));
    const std::string too_big = payload_for(101, q);
    CHECK(p.s.publish(make_publish("t", too_big, q), p.now).error() == errc::packet_too_large);
    p.pump();
    p.expect_nothing();
    p.expect_no_event();
    CHECK(p.s.inflight() == 0);
    CHECK(p.s.queued() == 0);
  }
  // Exactly the maximum goes, and no packet identifier was used by the refusals.
  (void)p.publish("t", payload_for(100, qos::at_least_once), qos::at_least_once);
  const auto m = p.expect<tern::publish>();
  CHECK(m.bytes->size() == 100);
  CHECK(m->packet_id == 1);
}

TEST_CASE("packet size: a topic alias is not added when it would pass the maximum") {
  session_peer p(size_config());
  (void)p.connect_with(limited(100, 10));
  (void)p.publish("t", payload_for(100, qos::at_least_once), qos::at_least_once);
  const auto m = p.expect<tern::publish>();
  CHECK(m.bytes->size() == 100);
  CHECK(str(m->topic) == "t");
  CHECK_FALSE(m->props.contains(property_id::topic_alias));
  (void)p.publish("t", payload_for(100, qos::at_most_once));
  const auto m0 = p.expect<tern::publish>();
  CHECK(m0.bytes->size() == 100);
  CHECK_FALSE(m0->props.contains(property_id::topic_alias));
}

TEST_CASE("packet size: SUBSCRIBE and UNSUBSCRIBE over the maximum fail") {
  session_peer p(size_config());
  (void)p.connect_with(limited(40));
  const std::string filter(50, 'f');
  const std::array<subscription, 1> subs{subscription{filter, {}}};
  CHECK(p.s.subscribe(subs, p.now).error() == errc::packet_too_large);
  const std::array<std::string_view, 1> filters{filter};
  CHECK(p.s.unsubscribe(filters, p.now).error() == errc::packet_too_large);
  p.pump();
  p.expect_nothing();
  const std::array<subscription, 1> small{subscription{"ok", {}}};
  CHECK(p.subscribe(small) == 1);
}

TEST_CASE("packet size: a queued message too large for the new server is dropped") {
  session_peer p(size_config());
  const message_id big = p.publish("t", std::string(200, 'x'), qos::at_least_once);
  const message_id small = p.publish("t", "fits", qos::at_least_once);
  (void)p.connect_with(limited(100));
  const auto dropped = p.expect_event<ev_completed>();
  CHECK(dropped.id == big);
  CHECK(dropped.outcome == publish_outcome::dropped);
  CHECK(dropped.code == reason_code::packet_too_large);
  const auto m = p.expect<tern::publish>();
  CHECK(str(as_chars(m->payload)) == "fits");
  p.expect_nothing();
  (void)small;
}

TEST_CASE(
    "packet size: an unacknowledged message too large for the resumed server is not "
    "resent [MQTT-3.1.2-24]") {
  session_peer p(size_config());
  (void)p.connect_with();
  const message_id big = p.publish("t", std::string(200, 'x'), qos::at_least_once);
  (void)p.publish("t", "fits", qos::at_least_once);
  (void)p.expect<tern::publish>();
  const auto fits = p.expect<tern::publish>();
  p.close();
  (void)p.expect_event<ev_disconnected>();
  (void)p.reconnect_with(limited(100, 0, true));
  const auto resent = p.expect<tern::publish>();  // only what the server accepts
  CHECK(resent->packet_id == fits->packet_id);
  CHECK(resent->dup);
  p.expect_nothing();
  const auto dropped = p.expect_event<ev_completed>();
  CHECK(dropped.id == big);
  CHECK(dropped.outcome == publish_outcome::dropped);
  CHECK(dropped.code == reason_code::packet_too_large);
  CHECK(p.s.inflight() == 1);
}

TEST_CASE(
    "packet size: an incoming packet over our maximum ends the connection "
    "[MQTT-3.2.2-15]") {
  const v version = each_version();
  session_config c = size_config(version);
  c.maximum_packet_size = 64;
  session_peer p(c);
  p.start();
  if (version == v::v5)
    CHECK(p.expect<tern::connect>()->props.number(property_id::maximum_packet_size) == 64u);
  else (void)p.expect<tern::connect>();
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  SUBCASE("exactly the maximum is fine") {
    p.reply(make_publish("t", std::string(64 - 2 - 3 - (version == v::v5 ? 1 : 0), 'x')));
    CHECK(p.expect_event<ev_message>().payload.size() == (version == v::v5 ? 58u : 59u));
    CHECK(p.s.is_connected());
  }
  SUBCASE("one byte more is refused from its fixed header, before the body arrives") {
    p.raw(R"(
      30     // PUBLISH QoS 0
      3f     // remaining length 63: 65 bytes in all
    )");
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    CHECK(d.code == reason_code::packet_too_large);
    REQUIRE(d.error);
    CHECK(d.error->code == decode_errc::packet_too_large);
    if (version == v::v5)
      CHECK(p.expect<tern::disconnect>()->code == reason_code::packet_too_large);
    p.expect_nothing();
    CHECK(p.actions().back().k == peer_action::kind::close);
  }
}
