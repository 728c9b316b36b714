// Incoming QoS 0/1/2 [MQTT 4.3]: delivery and acknowledgement flows, exactly-once delivery of
// QoS 2 (a resent PUBLISH whose id awaits PUBREL is not delivered twice), PUBREL for an unknown
// id, the incoming Receive Maximum [MQTT 3.3.4], and manual acknowledgement.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config in_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

tern::publish incoming(std::string_view topic, std::string_view payload, qos q, std::uint16_t id,
                       bool dup = false, properties props = {}) {
  tern::publish p = make_publish(topic, payload, q, props);
  p.packet_id = id;
  p.dup = dup;
  return p;
}
}  // namespace

TEST_CASE("qos in: QoS 0 is delivered and not acknowledged [MQTT 4.3.1]") {
  const v version = each_version();
  const feed_mode f = each_feed();
  session_peer p(in_config(version));
  p.feed = f;
  (void)p.connect_with();
  tern::publish m = incoming("sensors/t", "21.5", qos::at_most_once, 0);
  m.retain = true;
  p.reply(m);
  const auto got = p.expect_event<ev_message>();
  CHECK(got.topic == "sensors/t");
  CHECK(got.payload == "21.5");
  CHECK(got.q == qos::at_most_once);
  CHECK(got.retain);
  CHECK_FALSE(got.needs_ack);
  p.expect_nothing();
}

TEST_CASE("qos in: QoS 1 is delivered, then PUBACK [MQTT 4.3.2]") {
  const v version = each_version();
  const feed_mode f = each_feed();
  session_peer p(in_config(version));
  p.feed = f;
  (void)p.connect_with();
  if (version == v::v5) {
    p.raw(R"(
      32        // PUBLISH, QoS 1
      08        // remaining length 8
      00 01 74  // topic "t"
      12 34     // packet identifier 0x1234
      00        // property length 0
      6f 6b     // payload "ok"
    )");
  } else {
    p.raw(R"(
      32        // PUBLISH, QoS 1
      07        // remaining length 7
      00 01 74  // topic "t"
      12 34     // packet identifier 0x1234
      6f 6b     // payload "ok"
    )");
  }
  const auto got = p.expect_event<ev_message>();
  CHECK(got.topic == "t");
  CHECK(got.payload == "ok");
  CHECK(got.packet_id == 0x1234);
  CHECK_FALSE(got.needs_ack);
  p.expect_bytes("40 02 12 34  // PUBACK 0x1234");
  p.expect_nothing();
}

TEST_CASE("qos in: QoS 2 is delivered once, PUBREC, then PUBCOMP for PUBREL [MQTT 4.3.3]") {
  const v version = each_version();
  const feed_mode f = each_feed();
  session_peer p(in_config(version));
  p.feed = f;
  (void)p.connect_with();
  p.reply(incoming("t", "once", qos::exactly_once, 7));
  const auto got = p.expect_event<ev_message>();
  CHECK(got.payload == "once");
  CHECK(got.q == qos::exactly_once);
  const auto rec = p.expect<tern::pubrec>();
  CHECK(rec->packet_id == 7);
  CHECK(rec->code == reason_code::success);
  p.reply(tern::pubrel{7, reason_code::success, {}});
  const auto comp = p.expect<tern::pubcomp>();
  CHECK(comp->packet_id == 7);
  CHECK(comp->code == reason_code::success);
  p.expect_no_event();
  p.expect_nothing();
}

TEST_CASE(
    "qos in: a resent QoS 2 PUBLISH awaiting PUBREL is not delivered twice "
    "[MQTT-4.3.3-9]") {
  const v version = each_version();
  session_peer p(in_config(version));
  (void)p.connect_with();
  p.reply(incoming("t", "x", qos::exactly_once, 9));
  (void)p.expect_event<ev_message>();
  (void)p.expect<tern::pubrec>();
  // The broker did not see our PUBREC and sends the message again, DUP set.
  p.reply(incoming("t", "x", qos::exactly_once, 9, true));
  p.expect_no_event();
  CHECK(p.expect<tern::pubrec>()->packet_id == 9);  // PUBREC again so the broker moves on
  p.reply(tern::pubrel{9, reason_code::success, {}});
  (void)p.expect<tern::pubcomp>();
  // Released: the id may now carry a new message, delivered as such.
  p.reply(incoming("t", "new", qos::exactly_once, 9));
  CHECK(p.expect_event<ev_message>().payload == "new");
}

TEST_CASE(
    "qos in: QoS 2 ids awaiting PUBREL survive a reconnect with Session Present, not "
    "without") {
  const v version = each_version();
  session_peer p(in_config(version));
  (void)p.connect_with();
  p.reply(incoming("t", "x", qos::exactly_once, 11));
  (void)p.expect_event<ev_message>();
  (void)p.expect<tern::pubrec>();
  p.close();
  (void)p.expect_event<ev_disconnected>();

  SUBCASE("present: the redelivery is recognised") {
    tern::connack ack;
    ack.session_present = true;
    (void)p.reconnect_with(ack);
    p.reply(incoming("t", "x", qos::exactly_once, 11, true));
    p.expect_no_event();
    (void)p.expect<tern::pubrec>();
    p.reply(tern::pubrel{11, reason_code::success, {}});
    CHECK(p.expect<tern::pubcomp>()->code == reason_code::success);
  }
  SUBCASE("not present: the broker forgot it too, the id is free [MQTT 4.1]") {
    (void)p.reconnect_with(tern::connack{});
    p.reply(incoming("t", "y", qos::exactly_once, 11));
    CHECK(p.expect_event<ev_message>().payload == "y");
    (void)p.expect<tern::pubrec>();
  }
}

TEST_CASE("qos in: PUBREL for an unknown id is answered with PUBCOMP [MQTT 4.3.3]") {
  const v version = each_version();
  session_peer p(in_config(version));
  (void)p.connect_with();
  p.reply(tern::pubrel{42, reason_code::success, {}});
  const auto comp = p.expect<tern::pubcomp>();
  CHECK(comp->packet_id == 42);
  CHECK(comp->code ==
        (version == v::v5 ? reason_code::packet_identifier_not_found : reason_code::success));
  p.expect_no_event();
  CHECK(p.s.is_connected());
}

TEST_CASE(
    "qos in: more unacknowledged messages than our Receive Maximum is a protocol error "
    "[MQTT-3.3.4-9]") {
  session_config c = in_config(v::v5);
  c.receive_maximum = 2;
  session_peer p(c);
  p.start();
  CHECK(p.expect<tern::connect>()->props.number(property_id::receive_maximum) == 2u);
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  p.reply(incoming("t", "1", qos::exactly_once, 1));
  p.reply(incoming("t", "2", qos::exactly_once, 2));
  (void)p.expect_event<ev_message>();
  (void)p.expect_event<ev_message>();
  (void)p.expect<tern::pubrec>();
  (void)p.expect<tern::pubrec>();
  SUBCASE("a third one while two await PUBREL") {
    p.reply(incoming("t", "3", qos::exactly_once, 3));
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    CHECK(d.code == reason_code::receive_maximum_exceeded);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::receive_maximum_exceeded);
    p.expect_nothing();
    CHECK(p.actions().back().k == peer_action::kind::close);
  }
  SUBCASE("a released slot may be used again") {
    p.reply(tern::pubrel{1, reason_code::success, {}});
    (void)p.expect<tern::pubcomp>();
    p.reply(incoming("t", "3", qos::exactly_once, 3));
    CHECK(p.expect_event<ev_message>().payload == "3");
    CHECK(p.s.is_connected());
  }
  SUBCASE("a duplicate of a held one is not a new one") {
    p.reply(incoming("t", "2", qos::exactly_once, 2, true));
    p.expect_no_event();
    CHECK(p.s.is_connected());
  }
}

TEST_CASE("qos in: 3.1.1 has no Receive Maximum to enforce") {
  // The limit is a 5.0 CONNECT property; a 3.1.1 broker never heard of it.
  session_config c = in_config(v::v3_1_1);
  c.receive_maximum = 2;
  session_peer p(c);
  (void)p.connect_with();
  for (std::uint16_t id = 1; id <= 5; ++id) p.reply(incoming("t", "x", qos::exactly_once, id));
  CHECK(p.take_events().size() == 5);
  CHECK(p.s.is_connected());
}

TEST_CASE("qos in: manual acknowledgement waits for ack() [MQTT 4.3]") {
  const v version = each_version();
  session_config c = in_config(version);
  c.manual_ack = true;
  session_peer p(c);
  (void)p.connect_with();
  SUBCASE("QoS 1") {
    p.reply(incoming("t", "x", qos::at_least_once, 5));
    const auto got = p.expect_event<ev_message>();
    CHECK(got.needs_ack);
    p.advance(10s);
    p.expect_nothing();
    const reason_code code =
        version == v::v5 ? reason_code::no_matching_subscribers : reason_code::success;
    REQUIRE(p.s.ack(5, p.now, code).has_value());
    p.pump();
    const auto ack = p.expect<tern::puback>();
    CHECK(ack->packet_id == 5);
    CHECK(ack->code == code);
    CHECK(p.s.ack(5, p.now).error() == errc::unknown_message);  // once only
  }
  SUBCASE("QoS 2") {
    p.reply(incoming("t", "x", qos::exactly_once, 6));
    CHECK(p.expect_event<ev_message>().needs_ack);
    p.expect_nothing();
    // A duplicate before the ack is neither delivered nor answered yet.
    p.reply(incoming("t", "x", qos::exactly_once, 6, true));
    p.expect_no_event();
    p.expect_nothing();
    REQUIRE(p.s.ack(6, p.now).has_value());
    p.pump();
    CHECK(p.expect<tern::pubrec>()->packet_id == 6);
    CHECK(p.s.ack(6, p.now).error() == errc::unknown_message);
    p.reply(tern::pubrel{6, reason_code::success, {}});
    CHECK(p.expect<tern::pubcomp>()->code == reason_code::success);
  }
  SUBCASE("QoS 2 refused with a failure code ends there [MQTT 4.3.3]") {
    if (version == v::v5) {
      p.reply(incoming("t", "x", qos::exactly_once, 8));
      (void)p.expect_event<ev_message>();
      REQUIRE(p.s.ack(8, p.now, reason_code::not_authorized).has_value());
      p.pump();
      CHECK(p.expect<tern::pubrec>()->code == reason_code::not_authorized);
      // The id is not held: a new PUBLISH with it is a new message.
      p.reply(incoming("t", "again", qos::exactly_once, 8));
      CHECK(p.expect_event<ev_message>().payload == "again");
    }
  }
  SUBCASE("PUBREL before our PUBREC is a protocol error") {
    p.reply(incoming("t", "x", qos::exactly_once, 9));
    (void)p.expect_event<ev_message>();
    p.reply(tern::pubrel{9, reason_code::success, {}});
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
  }
  SUBCASE("errors change nothing") {
    CHECK(p.s.ack(1, p.now).error() == errc::unknown_message);
    p.reply(incoming("t", "x", qos::at_least_once, 3));
    (void)p.expect_event<ev_message>();
    const reason_code bad = version == v::v5 ? reason_code::granted_qos_1    // not a PUBACK code
                                             : reason_code::not_authorized;  // none in 3.1.1
    CHECK(p.s.ack(3, p.now, bad).error() == errc::invalid_reason_code);
    p.pump();
    p.expect_nothing();
    CHECK(p.s.ack(3, p.now).has_value());  // still waiting for a valid ack
    p.pump();
    (void)p.expect<tern::puback>();
  }
}

TEST_CASE("qos in: several packets in one input are all delivered, views intact") {
  const v version = each_version();
  session_peer p(in_config(version));
  (void)p.connect_with();
  std::vector<std::byte> all;
  for (int i = 0; i < 20; ++i) {
    const std::string topic = "topic/" + std::to_string(i);
    const std::string payload(static_cast<std::size_t>(i * 50), static_cast<char>('a' + i));
    const auto one = encoded(incoming(topic, payload, static_cast<qos>(i % 3),
                                      static_cast<std::uint16_t>(i % 3 ? i : 0)),
                             version);
    all.insert(all.end(), one.begin(), one.end());
  }
  p.reply_bytes(all);
  for (int i = 0; i < 20; ++i) {
    const auto got = p.expect_event<ev_message>();
    CHECK(got.topic == "topic/" + std::to_string(i));
    CHECK(got.payload == std::string(static_cast<std::size_t>(i * 50), static_cast<char>('a' + i)));
  }
}

TEST_CASE("qos in: message properties reach the application (5.0) [MQTT 3.3.2.3]") {
  session_peer p(in_config(v::v5));
  (void)p.connect_with();
  const std::array<property, 5> props{property::integer(property_id::payload_format_indicator, 1),
                                      property::string(property_id::content_type, "text/plain"),
                                      property::string(property_id::response_topic, "reply/here"),
                                      property::integer(property_id::subscription_identifier, 3),
                                      property::user("trace", "abc")};
  p.reply(incoming("t", "x", qos::at_least_once, 1, false, props));
  const auto got = p.expect_event<ev_message>();
  CHECK(got.props.size() == 5);
  CHECK(got.props.text(property_id::content_type) == "text/plain");
  CHECK(got.props.text(property_id::response_topic) == "reply/here");
  CHECK(got.props.number(property_id::subscription_identifier) == 3u);
}
