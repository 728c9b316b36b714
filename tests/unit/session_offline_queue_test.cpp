// The offline queue: publishes made while there is no connection (or no room in the window)
// wait in order, bounded by count and bytes, with a policy when full (reject or drop oldest), a
// policy for QoS 0, and Message Expiry aged locally [MQTT 3.3.2.3.3].
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/counting_resource.hpp"
#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config queue_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

// Encoded size of a canonical stored PUBLISH (QoS 1, no properties) with this topic / payload.
std::size_t stored_size(v version, std::string_view topic, std::string_view payload) {
  tern::publish m = make_publish(topic, payload, qos::at_least_once);
  m.packet_id = 1;
  return encoded(m, version).size();
}

std::vector<std::string> payloads_written(session_peer& p) {
  std::vector<std::string> out;
  while (p.packets_waiting() != 0) out.emplace_back(as_chars(p.expect<tern::publish>()->payload));
  return out;
}
}  // namespace

TEST_CASE(
    "offline queue: publishes before the first connection go out in order once "
    "connected") {
  const v version = each_version();
  session_peer p(queue_config(version));
  const message_id a = p.publish("t", "a", qos::at_least_once);
  const message_id b = p.publish("t", "b", qos::exactly_once);
  const message_id c = p.publish("t", "c", qos::at_least_once);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(p.s.queued() == 3);
  CHECK(p.s.queued_bytes() == 3 * stored_size(version, "t", "a"));
  p.expect_nothing();
  (void)p.connect_with();
  CHECK(payloads_written(p) == std::vector<std::string>{"a", "b", "c"});
  CHECK(p.s.queued() == 0);
  CHECK(p.s.queued_bytes() == 0);
  CHECK(p.s.inflight() == 3);
}

TEST_CASE("offline queue: publishes while reconnecting wait for the new connection") {
  const v version = each_version();
  session_peer p(queue_config(version));
  (void)p.connect_with();
  p.close();
  (void)p.expect_event<ev_disconnected>();
  CHECK(p.s.state() == session_state::waiting);
  (void)p.publish("t", "1", qos::at_least_once);
  (void)p.publish("t", "2", qos::at_least_once);
  p.expect_nothing();
  (void)p.reconnect_with();
  CHECK(payloads_written(p) == std::vector<std::string>{"1", "2"});
}

TEST_CASE("offline queue: bounded by count; reject refuses and keeps what is queued") {
  const v version = each_version();
  session_config c = queue_config(version);
  c.max_queued_messages = 3;
  session_peer p(c);
  for (int i = 0; i < 3; ++i) (void)p.publish("t", std::to_string(i), qos::at_least_once);
  const std::size_t bytes = p.s.queued_bytes();
  CHECK(p.s.publish(make_publish("t", "3", qos::at_least_once), p.now).error() == errc::queue_full);
  p.pump();
  p.expect_no_event();
  CHECK(p.s.queued() == 3);
  CHECK(p.s.queued_bytes() == bytes);
  (void)p.connect_with();
  CHECK(payloads_written(p) == std::vector<std::string>{"0", "1", "2"});
}

TEST_CASE("offline queue: bounded by bytes") {
  const v version = each_version();
  session_config c = queue_config(version);
  const std::size_t one = stored_size(version, "t", "0123456789");
  c.max_queued_bytes = 2 * one + one / 2;
  session_peer p(c);
  (void)p.publish("t", "0123456789", qos::at_least_once);
  (void)p.publish("t", "0123456789", qos::at_least_once);
  CHECK(p.s.publish(make_publish("t", "0123456789", qos::at_least_once), p.now).error() ==
        errc::queue_full);
  // A smaller one still fits.
  CHECK(p.s.publish(make_publish("t", "x", qos::at_least_once), p.now).has_value());
  CHECK(p.s.queued() == 3);
  CHECK(p.s.queued_bytes() <= c.max_queued_bytes);
}

TEST_CASE("offline queue: drop_oldest makes room and reports what it dropped") {
  const v version = each_version();
  session_config c = queue_config(version);
  c.max_queued_messages = 3;
  c.when_queue_full = queue_full_policy::drop_oldest;
  session_peer p(c);
  std::vector<message_id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(p.publish("t", std::to_string(i), qos::at_least_once));
  const auto first = p.expect_event<ev_completed>();
  CHECK(first.id == ids[0]);
  CHECK(first.outcome == publish_outcome::dropped);
  CHECK_FALSE(first.reached_broker);
  CHECK(p.expect_event<ev_completed>().id == ids[1]);
  p.expect_no_event();
  CHECK(p.s.queued() == 3);
  (void)p.connect_with();
  CHECK(payloads_written(p) == std::vector<std::string>{"2", "3", "4"});
}

TEST_CASE("offline queue: drop_oldest by bytes drops as many as needed") {
  const v version = each_version();
  session_config c = queue_config(version);
  const std::size_t small = stored_size(version, "t", "s");
  const std::string big(3 * small, 'B');
  c.max_queued_bytes = stored_size(version, "t", big) + 2 * small;
  c.when_queue_full = queue_full_policy::drop_oldest;
  session_peer p(c);
  for (int i = 0; i < 5; ++i) (void)p.publish("t", "s", qos::at_least_once);
  CHECK(p.s.queued() == 5);
  (void)p.publish("t", big, qos::at_least_once);
  int dropped = 0;
  for (auto& e : p.take_events())
    if (std::get<ev_completed>(e).outcome == publish_outcome::dropped) ++dropped;
  CHECK(dropped == 3);  // the three oldest: no more than needed
  CHECK(p.s.queued() == static_cast<std::size_t>(6 - dropped));
  CHECK(p.s.queued_bytes() <= c.max_queued_bytes);
}

TEST_CASE(
    "offline queue: a message larger than the whole queue is refused without dropping "
    "anything") {
  const v version = each_version();
  session_config c = queue_config(version);
  c.max_queued_bytes = 200;
  c.when_queue_full = queue_full_policy::drop_oldest;
  session_peer p(c);
  (void)p.publish("t", "keep me", qos::at_least_once);
  (void)p.publish("t", "and me", qos::at_least_once);
  const std::string huge(500, 'x');
  CHECK(p.s.publish(make_publish("t", huge, qos::at_least_once), p.now).error() ==
        errc::queue_full);
  p.pump();
  p.expect_no_event();  // dropping the others would not have made room: nothing is lost
  CHECK(p.s.queued() == 2);
}

TEST_CASE("offline queue: QoS 0 while offline is refused, or queued when configured") {
  const v version = each_version();
  SUBCASE("refused by default") {
    session_peer p(queue_config(version));
    CHECK(p.s.publish(make_publish("t", "x"), p.now).error() == errc::not_connected);
    CHECK(p.s.queued() == 0);
  }
  SUBCASE("queue_qos0_while_offline") {
    session_config c = queue_config(version);
    c.queue_qos0_while_offline = true;
    session_peer p(c);
    const message_id id = p.publish("t", "zero");
    (void)p.publish("t", "one", qos::at_least_once);
    CHECK(p.s.queued() == 2);
    p.expect_no_event();
    (void)p.connect_with();
    const auto m0 = p.expect<tern::publish>();
    CHECK(m0->q == qos::at_most_once);
    CHECK(str(as_chars(m0->payload)) == "zero");
    CHECK(p.expect<tern::publish>()->q == qos::at_least_once);
    const auto sent0 = p.expect_event<ev_completed>();
    CHECK(sent0.id == id);
    CHECK(sent0.outcome == publish_outcome::sent);
  }
}

TEST_CASE("offline queue: QoS 0 not yet written when the connection drops is reported") {
  const v version = each_version();
  session_peer p(queue_config(version));
  (void)p.connect_with();
  p.blocked = true;
  const message_id id = p.publish("t", "x");
  p.expect_no_event();
  p.close();
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::transport_closed);
  const auto lost = p.expect_event<ev_completed>();
  CHECK(lost.id == id);
  CHECK(lost.outcome == publish_outcome::offline_discarded);
  CHECK_FALSE(lost.reached_broker);
}

TEST_CASE("offline queue: Message Expiry Interval is aged while queued [MQTT-3.3.2-6]") {
  session_config c = queue_config(v::v5);
  c.queue_qos0_while_offline = true;
  session_peer p(c);
  const std::array<property, 2> long_lived{
      property::integer(property_id::message_expiry_interval, 100), property::user("k", "v")};
  const std::array<property, 1> short_lived{
      property::integer(property_id::message_expiry_interval, 10)};
  (void)p.publish("t", "long", qos::at_least_once, long_lived);
  const message_id gone = p.publish("t", "short", qos::at_least_once, short_lived);
  const message_id gone0 = p.publish("t", "short0", qos::at_most_once, short_lived);
  (void)p.publish("t", "long0", qos::at_most_once, long_lived);
  p.advance(30s);
  p.advance(500ms);  // partial seconds do not count against the message
  (void)p.connect_with();
  const auto m = p.expect<tern::publish>();
  CHECK(str(as_chars(m->payload)) == "long");
  CHECK(m->props.number(property_id::message_expiry_interval) == 70u);
  CHECK(m->props.size() == 2);  // other properties untouched
  const auto m0 = p.expect<tern::publish>();
  CHECK(str(as_chars(m0->payload)) == "long0");
  CHECK(m0->props.number(property_id::message_expiry_interval) == 70u);
  p.expect_nothing();
  std::vector<message_id> expired;
  for (auto& e : p.take_events())
    if (const auto* done = std::get_if<ev_completed>(&e))
      if (done->outcome == publish_outcome::expired) expired.push_back(done->id);
  CHECK(expired == std::vector<message_id>{gone, gone0});
}

TEST_CASE("offline queue: a message waiting for the window ages too") {
  session_config c = queue_config(v::v5);
  c.max_inflight = 1;
  session_peer p(c);
  (void)p.connect_with();
  const std::array<property, 1> ten{property::integer(property_id::message_expiry_interval, 10)};
  (void)p.publish("t", "first", qos::at_least_once);
  const message_id waits = p.publish("t", "waits", qos::at_least_once, ten);
  const message_id also = p.publish("t", "also", qos::at_least_once, ten);
  const auto first = p.expect<tern::publish>();
  p.advance(4s);
  tern::puback ack;
  ack.packet_id = first->packet_id;
  p.reply(ack);
  (void)p.expect_event<ev_completed>();
  const auto second = p.expect<tern::publish>();
  CHECK(str(as_chars(second->payload)) == "waits");
  CHECK(second->props.number(property_id::message_expiry_interval) == 6u);
  p.advance(7s);  // "also" has now waited 11 s
  ack.packet_id = second->packet_id;
  p.reply(ack);
  CHECK(p.expect_event<ev_completed>().id == waits);
  const auto late = p.expect_event<ev_completed>();
  CHECK(late.id == also);
  CHECK(late.outcome == publish_outcome::expired);
  p.expect_nothing();
}

TEST_CASE("offline queue: messages the new server cannot take are dropped, not sent") {
  session_peer p(queue_config(v::v5));
  (void)p.connect_with();
  p.close();
  (void)p.expect_event<ev_disconnected>();
  const message_id q2 = p.publish("t", "qos2", qos::exactly_once);
  (void)p.publish("t", "qos1", qos::at_least_once);
  const std::array<property, 1> max_qos1{property::integer(property_id::maximum_qos, 1)};
  tern::connack ack;
  ack.props = properties(max_qos1);
  (void)p.reconnect_with(ack);
  // A QoS 2 PUBLISH would be answered with DISCONNECT 0x9B on every reconnection.
  CHECK(payloads_written(p) == std::vector<std::string>{"qos1"});
  const auto done = p.expect_event<ev_completed>();
  CHECK(done.id == q2);
  CHECK(done.outcome == publish_outcome::dropped);
  CHECK(done.code == reason_code::qos_not_supported);
}

TEST_CASE("offline queue: withdraw() takes back a waiting publish, never a sent one") {
  for (const protocol_version version : {protocol_version::v3_1_1, protocol_version::v5}) {
    CAPTURE(version);
    tern::test::counting_resource r;
    session_config c = test_config(version);
    c.keep_alive = 0s;
    c.queue_qos0_while_offline = true;
    c.max_inflight = 1;
    {
      session_peer p(c, &r);
      const auto a = p.s.publish(make_publish("t", "a", qos::at_least_once), p.now);
      const auto b = p.s.publish(make_publish("t", "b", qos::exactly_once), p.now);
      const auto zero = p.s.publish(make_publish("t", "zero"), p.now);
      const auto d = p.s.publish(make_publish("t", "d", qos::at_least_once), p.now);
      REQUIRE((a && b && zero && d));
      CHECK(p.s.queued() == 4);
      CHECK(p.s.withdraw(*b).has_value());
      CHECK(p.s.withdraw(*zero).has_value());  // a QoS 0 one: later QoS 0 is not held back
      CHECK(p.s.withdraw(*b).error() == errc::unknown_message);  // only once
      CHECK(p.s.withdraw(9999).error() == errc::unknown_message);
      CHECK(p.s.queued() == 2);

      (void)p.connect_with();
      const auto first = p.expect<tern::publish>();
      CHECK(str(as_chars(first->payload)) == "a");
      CHECK(p.s.withdraw(*a).error() == errc::unknown_message);  // sent: too late
      const message_id fresh = p.publish("t", "fresh", qos::at_most_once);  // nothing older
      CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "fresh");
      CHECK(p.expect_event<ev_completed>().id == fresh);
      p.reply(tern::puback{first->packet_id, reason_code::success, {}});
      CHECK(p.expect_event<ev_completed>().id == *a);
      CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "d");
      p.expect_nothing();  // no completion events for the withdrawn ones
    }
    CHECK(r.bytes_in_use() == 0);
  }
}
