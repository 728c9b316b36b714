// Outgoing QoS 1 and 2 [MQTT 4.3]: packet identifiers, the in-flight window, the PUBACK and
// PUBREC/PUBREL/PUBCOMP flows with their completion events, no retransmission on the same
// connection [MQTT-4.4.0-1], retransmission after a reconnect with and without Session Present,
// and the acknowledgement timeout.
#include <doctest/doctest.h>

#include <array>
#include <map>
#include <set>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config qos_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;  // no PINGREQs in the way
  return c;
}

tern::connack connack_with(std::span<const property> props, bool session_present = false) {
  tern::connack a;
  a.session_present = session_present;
  a.props = properties(props);
  return a;
}

tern::connack resumed() {
  tern::connack a;
  a.session_present = true;
  return a;
}

template <class A>
A ack_for(std::uint16_t id, reason_code code = reason_code::success, properties props = {}) {
  A a;
  a.packet_id = id;
  a.code = code;
  a.props = props;
  return a;
}

// Loses the connection (the broker vanished) and checks the report.
void drop(session_peer& p) {
  p.close();
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::transport_closed);
  REQUIRE(d.reconnect_at);
}
}  // namespace

TEST_CASE("qos out: a QoS 1 PUBLISH, byte by byte, and its PUBACK [MQTT 4.3.2]") {
  session_peer p(qos_config(v::v3_1_1));
  (void)p.connect_with();
  const message_id id = p.publish("a/b", "hi", qos::at_least_once);
  p.expect_bytes(R"(
    32           // PUBLISH, QoS 1, no DUP, no retain
    09           // remaining length 9
    00 03 61 2f 62  // topic "a/b"
    00 01        // packet identifier 1
    68 69        // payload "hi"
  )");
  p.expect_no_event();  // not complete before the PUBACK
  CHECK(p.s.inflight() == 1);
  p.raw("40 02 00 01");  // PUBACK 1
  const auto done = p.expect_event<ev_completed>();
  CHECK(done.id == id);
  CHECK(done.packet_id == 1);
  CHECK(done.q == qos::at_least_once);
  CHECK(done.outcome == publish_outcome::acknowledged);
  CHECK(done.code == reason_code::success);
  CHECK(done.reached_broker);
  CHECK(p.s.inflight() == 0);
}

TEST_CASE(
    "qos out: PUBACK completion carries the broker's reason code and properties "
    "[MQTT 3.4.2]") {
  session_peer p(qos_config(v::v5));
  (void)p.connect_with();
  const message_id id = p.publish("a", "x", qos::at_least_once);
  const auto sent1 = p.expect<tern::publish>();
  const std::array<property, 2> props{property::string(property_id::reason_string, "nobody"),
                                      property::user("u", "1")};
  p.reply(ack_for<puback>(sent1->packet_id, reason_code::no_matching_subscribers, props));
  const auto done = p.expect_event<ev_completed>();
  CHECK(done.id == id);
  CHECK(done.outcome == publish_outcome::acknowledged);
  CHECK(done.code == reason_code::no_matching_subscribers);
  CHECK(done.props.text(property_id::reason_string) == "nobody");
  CHECK(done.props.size() == 2);
}

TEST_CASE("qos out: the QoS 2 flow PUBLISH, PUBREC, PUBREL, PUBCOMP [MQTT 4.3.3]") {
  const v version = each_version();
  session_peer p(qos_config(version));
  (void)p.connect_with();
  const message_id id = p.publish("a", "x", qos::exactly_once);
  const auto pub = p.expect<tern::publish>();
  CHECK(pub->q == qos::exactly_once);
  CHECK_FALSE(pub->dup);
  p.reply(ack_for<pubrec>(pub->packet_id));
  const auto rel = p.expect<tern::pubrel>();
  CHECK(rel->packet_id == pub->packet_id);
  CHECK(rel->code == reason_code::success);
  p.expect_no_event();  // not complete before PUBCOMP
  CHECK(p.s.inflight() == 1);
  const std::array<property, 1> props{property::user("done", "yes")};
  p.reply(ack_for<pubcomp>(pub->packet_id, reason_code::success,
                           version == v::v5 ? properties(props) : properties()));
  const auto done = p.expect_event<ev_completed>();
  CHECK(done.id == id);
  CHECK(done.packet_id == pub->packet_id);
  CHECK(done.q == qos::exactly_once);
  CHECK(done.outcome == publish_outcome::acknowledged);
  CHECK(done.reached_broker);
  CHECK(done.props.size() == (version == v::v5 ? 1u : 0u));
  CHECK(p.s.inflight() == 0);
  p.expect_nothing();
}

TEST_CASE(
    "qos out: a failure code on PUBACK or PUBREC ends the message, no PUBREL "
    "[MQTT-4.3.3-?] [MQTT 3.5.2.1]") {
  session_config c = qos_config(v::v5);
  c.max_inflight = 1;
  session_peer p(c);
  (void)p.connect_with();
  const message_id a = p.publish("a", "1", qos::at_least_once);
  const message_id b = p.publish("a", "2", qos::exactly_once);
  const message_id d = p.publish("a", "3", qos::at_least_once);
  CHECK(p.s.queued() == 2);  // window of one

  const auto pa = p.expect<tern::publish>();
  p.reply(ack_for<puback>(pa->packet_id, reason_code::not_authorized));
  auto done = p.expect_event<ev_completed>();
  CHECK(done.id == a);
  CHECK(done.code == reason_code::not_authorized);
  CHECK(done.outcome == publish_outcome::acknowledged);
  CHECK(done.reached_broker);

  const auto pb = p.expect<tern::publish>();  // the freed window slot took the next one
  const std::array<property, 1> props{property::string(property_id::reason_string, "quota")};
  p.reply(ack_for<pubrec>(pb->packet_id, reason_code::quota_exceeded, props));
  done = p.expect_event<ev_completed>();
  CHECK(done.id == b);
  CHECK(done.q == qos::exactly_once);
  CHECK(done.code == reason_code::quota_exceeded);
  CHECK(done.props.text(property_id::reason_string) == "quota");
  // No PUBREL for a refused QoS 2 message; the window moves on.
  const auto pd = p.expect<tern::publish>();
  CHECK(str(as_chars(pd->payload)) == "3");
  p.expect_nothing();
  p.reply(ack_for<puback>(pd->packet_id));
  CHECK(p.expect_event<ev_completed>().id == d);
}

TEST_CASE("qos out: packet identifiers are never 0 and never twice in flight [MQTT-2.2.1-3]") {
  const v version = each_version();
  session_config c = qos_config(version);
  c.max_inflight = 10;
  session_peer p(c);
  (void)p.connect_with();
  // Ten in flight, acknowledged out of order: all ids distinct and non-zero.
  std::vector<std::uint16_t> ids;
  for (int i = 0; i < 10; ++i)
    (void)p.publish("t", "x", i % 2 ? qos::at_least_once : qos::exactly_once);
  for (int i = 0; i < 10; ++i) ids.push_back(p.expect<tern::publish>()->packet_id);
  CHECK(std::set<std::uint16_t>(ids.begin(), ids.end()).size() == 10);
  CHECK(std::find(ids.begin(), ids.end(), 0) == ids.end());
  // The subscribe request shares the id space.
  const std::array<subscription, 1> sub{subscription{"s", {}}};
  const std::uint16_t sub_id = p.subscribe(sub);
  CHECK(std::find(ids.begin(), ids.end(), sub_id) == ids.end());
}

TEST_CASE("qos out: packet identifiers wrap from 65535 to 1, skipping ids still in use") {
  session_config c = qos_config(v::v5);
  c.max_inflight = 2;
  session_peer p(c);
  (void)p.connect_with();
  // Message 1 stays unacknowledged for the whole run.
  (void)p.publish("held", "x", qos::at_least_once);
  CHECK(p.expect<tern::publish>()->packet_id == 1);
  std::uint16_t last = 1;
  for (std::uint32_t i = 0; i < 65'536; ++i) {
    const auto r = p.s.publish(make_publish("t", "x", qos::at_least_once), p.now);
    REQUIRE(r.has_value());
    p.s.commit_transmit(p.s.transmit_size(), p.now);  // skip the peer's decoding: speed
    const std::uint16_t expected = last == 65'535 ? 2 : static_cast<std::uint16_t>(last + 1);
    const std::array<std::byte, 4> ack{std::byte{0x40}, std::byte{0x02},
                                       static_cast<std::byte>(expected >> 8),
                                       static_cast<std::byte>(expected & 0xFF)};
    p.s.handle_bytes(ack, p.now);
    auto e = p.s.poll_event();
    REQUIRE(e.has_value());
    const auto* done = std::get_if<publish_completed>(&*e);
    REQUIRE(done != nullptr);
    REQUIRE(done->packet_id == expected);  // 0 and 1 are never handed out
    last = expected;
  }
  CHECK(p.s.inflight() == 1);
}

TEST_CASE(
    "qos out: the window is min(max_inflight, Receive Maximum), the rest waits in order "
    "[MQTT-4.9.0-2]") {
  const v version = each_version();
  struct row {
    std::uint16_t max_inflight;
    std::uint16_t receive_maximum;  // 0: not sent
    std::size_t window;
  };
  for (const row r : {row{5, 3, 3}, row{2, 10, 2}, row{4, 0, 4}}) {
    if (version != v::v5 && r.receive_maximum != 0) continue;
    CAPTURE(r.max_inflight);
    CAPTURE(r.receive_maximum);
    session_config c = qos_config(version);
    c.max_inflight = r.max_inflight;
    session_peer p(c);
    const std::array<property, 1> props{
        property::integer(property_id::receive_maximum, r.receive_maximum)};
    (void)p.connect_with(connack_with(r.receive_maximum != 0 ? std::span<const property>(props)
                                                             : std::span<const property>()));
    for (int i = 0; i < 8; ++i)
      (void)p.publish("t", std::to_string(i), i % 2 ? qos::exactly_once : qos::at_least_once);
    CHECK(p.s.inflight() == r.window);
    CHECK(p.s.queued() == 8 - r.window);
    std::vector<sent<tern::publish>> out;
    for (std::size_t i = 0; i < r.window; ++i) out.push_back(p.expect<tern::publish>());
    p.expect_nothing();
    // Each completion lets exactly one more in, in publish order.
    int next = static_cast<int>(r.window);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto& m = out[i];
      if (m->q == qos::at_least_once) {
        p.reply(ack_for<puback>(m->packet_id));
      } else {
        p.reply(ack_for<pubrec>(m->packet_id));
        (void)p.expect<tern::pubrel>();
        p.expect_nothing();  // PUBREC does not free the slot; PUBCOMP does
        p.reply(ack_for<pubcomp>(m->packet_id));
      }
      (void)p.expect_event<ev_completed>();
      if (next < 8) {
        auto more = p.expect<tern::publish>();
        CHECK(str(as_chars(more->payload)) == std::to_string(next++));
        out.push_back(more);
      }
      p.expect_nothing();
      CHECK(p.s.inflight() <= r.window);
    }
    CHECK(next == 8);
    CHECK(p.s.inflight() == 0);
    CHECK(p.s.queued() == 0);
  }
}

TEST_CASE("qos out: no retransmission on the same connection [MQTT-4.4.0-1]") {
  const v version = each_version();
  session_peer p(qos_config(version));
  (void)p.connect_with();
  (void)p.publish("t", "1", qos::at_least_once);
  (void)p.publish("t", "2", qos::exactly_once);
  (void)p.expect<tern::publish>();
  const auto two = p.expect<tern::publish>();
  p.reply(ack_for<pubrec>(two->packet_id));
  (void)p.expect<tern::pubrel>();
  p.advance(std::chrono::hours(24));
  p.expect_nothing();  // neither the PUBLISH nor the PUBREL goes again
  CHECK(p.s.inflight() == 2);
  CHECK(p.s.is_connected());
}

TEST_CASE(
    "qos out: after a reconnect with Session Present, unacknowledged messages go again "
    "with DUP, the same ids, in order; PUBREL for PUBREC'd ones [MQTT-4.4.0-1]") {
  const v version = each_version();
  session_peer p(qos_config(version));
  (void)p.connect_with();
  const message_id a = p.publish("t", "a", qos::at_least_once);
  (void)p.publish("t", "b", qos::exactly_once);
  const message_id c = p.publish("t", "c", qos::exactly_once);
  (void)p.publish("t", "d", qos::at_least_once);
  const auto pa = p.expect<tern::publish>();
  const auto pb = p.expect<tern::publish>();
  const auto pc = p.expect<tern::publish>();
  const auto pd = p.expect<tern::publish>();
  p.reply(ack_for<pubrec>(pc->packet_id));
  (void)p.expect<tern::pubrel>();
  p.reply(ack_for<puback>(pd->packet_id));  // d is done
  (void)p.expect_event<ev_completed>();
  drop(p);
  p.blocked = true;  // offline publishes wait behind the resent ones
  const message_id e = p.s.publish(make_publish("t", "e", qos::at_least_once), p.now).value();
  p.blocked = false;

  const auto again = p.reconnect_with(resumed());
  CHECK_FALSE(again->clean_start);
  const auto ra = p.expect<tern::publish>();
  CHECK(ra->dup);
  CHECK(ra->packet_id == pa->packet_id);
  CHECK(str(as_chars(ra->payload)) == "a");
  const auto rb = p.expect<tern::publish>();
  CHECK(rb->dup);
  CHECK(rb->packet_id == pb->packet_id);
  CHECK(rb->q == qos::exactly_once);
  const auto rc = p.expect<tern::pubrel>();  // c reached the broker: only its PUBREL
  CHECK(rc->packet_id == pc->packet_id);
  const auto re = p.expect<tern::publish>();  // then what was queued while offline, fresh
  CHECK_FALSE(re->dup);
  CHECK(str(as_chars(re->payload)) == "e");
  p.expect_nothing();

  p.reply(ack_for<puback>(ra->packet_id));
  CHECK(p.expect_event<ev_completed>().id == a);
  p.reply(ack_for<pubcomp>(rc->packet_id));
  const auto done_c = p.expect_event<ev_completed>();
  CHECK(done_c.id == c);
  CHECK(done_c.outcome == publish_outcome::acknowledged);
  p.reply(ack_for<puback>(re->packet_id));
  CHECK(p.expect_event<ev_completed>().id == e);
  // b completes its normal flow on the new connection.
  p.reply(ack_for<pubrec>(rb->packet_id));
  (void)p.expect<tern::pubrel>();
  p.reply(ack_for<pubcomp>(rb->packet_id));
  CHECK(p.expect_event<ev_completed>().outcome == publish_outcome::acknowledged);
  CHECK(p.s.inflight() == 0);
}

TEST_CASE("qos out: a resend respects the new connection's window") {
  session_config c = qos_config(v::v5);
  c.max_inflight = 4;
  session_peer p(c);
  (void)p.connect_with();
  for (int i = 0; i < 4; ++i) (void)p.publish("t", std::to_string(i), qos::at_least_once);
  std::vector<std::uint16_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(p.expect<tern::publish>()->packet_id);
  drop(p);
  const std::array<property, 1> props{property::integer(property_id::receive_maximum, 2)};
  (void)p.reconnect_with(connack_with(props, true));
  auto r0 = p.expect<tern::publish>();
  auto r1 = p.expect<tern::publish>();
  p.expect_nothing();
  CHECK((r0->packet_id == ids[0] && r1->packet_id == ids[1]));
  p.reply(ack_for<puback>(ids[0]));
  (void)p.expect_event<ev_completed>();
  const auto r2 = p.expect<tern::publish>();
  CHECK(r2->packet_id == ids[2]);
  CHECK(r2->dup);
  p.expect_nothing();
}

TEST_CASE(
    "qos out: after a reconnect without Session Present, nothing is sent twice "
    "[MQTT 4.1] [MQTT-4.3.3]") {
  const v version = each_version();
  bool republish = true;
  SUBCASE("republish_after_session_loss") { republish = true; }
  SUBCASE("report them lost") { republish = false; }
  CAPTURE(republish);
  session_config c = qos_config(version);
  c.republish_after_session_loss = republish;
  session_peer p(c);
  (void)p.connect_with();
  const message_id a = p.publish("t", "a", qos::at_least_once);
  const message_id b = p.publish("t", "b", qos::exactly_once);
  const message_id cc = p.publish("t", "c", qos::exactly_once);
  const auto pa = p.expect<tern::publish>();
  const auto pb = p.expect<tern::publish>();
  const auto pc = p.expect<tern::publish>();
  p.reply(ack_for<pubrec>(pc->packet_id));  // c reached the broker
  (void)p.expect<tern::pubrel>();
  drop(p);

  (void)p.reconnect_with(tern::connack{});  // the broker lost the session
  std::map<message_id, ev_completed> done;
  for (auto& e : p.take_events()) {
    if (auto* x = std::get_if<ev_completed>(&e)) done.emplace(x->id, *x);
  }
  // c was PUBREC'd: sending it again would deliver it twice. It is reported, never resent.
  REQUIRE(done.count(cc) == 1);
  CHECK(done[cc].outcome == publish_outcome::session_lost);
  CHECK(done[cc].reached_broker);
  if (republish) {
    CHECK(done.size() == 1);
    // a and b go again as new messages: DUP 0, new packet identifiers, in order.
    const auto na = p.expect<tern::publish>();
    const auto nb = p.expect<tern::publish>();
    CHECK(str(as_chars(na->payload)) == "a");
    CHECK(str(as_chars(nb->payload)) == "b");
    CHECK_FALSE(na->dup);
    CHECK_FALSE(nb->dup);
    CHECK(na->packet_id != pa->packet_id);
    CHECK(nb->packet_id != pb->packet_id);
    CHECK(na->packet_id != nb->packet_id);
    p.expect_nothing();  // and no PUBREL for c
    p.reply(ack_for<puback>(na->packet_id));
    const auto done_a = p.expect_event<ev_completed>();
    CHECK(done_a.id == a);  // the message keeps its id for the application
    CHECK(done_a.outcome == publish_outcome::acknowledged);
  } else {
    CHECK(done.size() == 3);
    CHECK(done[a].outcome == publish_outcome::session_lost);
    CHECK_FALSE(done[a].reached_broker);
    CHECK(done[b].outcome == publish_outcome::session_lost);
    CHECK_FALSE(done[b].reached_broker);
    p.expect_nothing();
  }
  (void)b;
}

TEST_CASE(
    "qos out: an ack timeout closes the connection; the message goes again after the "
    "reconnect") {
  const v version = each_version();
  session_config c = qos_config(version);
  c.ack_timeout = 10s;
  session_peer p(c);
  (void)p.connect_with();
  const time_point t0 = p.now;
  const message_id id = p.publish("t", "x", qos::at_least_once);
  const auto first = p.expect<tern::publish>();
  CHECK(p.s.poll_timeout() == t0 + 10s);
  p.advance(9s);
  p.expect_no_event();
  p.advance(1s);
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::ack_timeout);
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.actions().back().at == t0 + 10s);
  p.expect_nothing();  // never resent on the connection it went out on
  REQUIRE(d.reconnect_at);

  (void)p.reconnect_with(resumed());
  const auto again = p.expect<tern::publish>();
  CHECK(again->dup);
  CHECK(again->packet_id == first->packet_id);
  p.reply(ack_for<puback>(again->packet_id));
  CHECK(p.expect_event<ev_completed>().id == id);
  CHECK_FALSE(p.s.poll_timeout().has_value());
}

TEST_CASE("qos out: the ack timeout also waits for PUBCOMP after PUBREL") {
  session_config c = qos_config(v::v5);
  c.ack_timeout = 10s;
  session_peer p(c);
  (void)p.connect_with();
  (void)p.publish("t", "x", qos::exactly_once);
  const auto pub = p.expect<tern::publish>();
  p.advance(8s);
  p.reply(ack_for<pubrec>(pub->packet_id));  // restarts the wait, now for PUBCOMP
  (void)p.expect<tern::pubrel>();
  p.advance(9s);
  p.expect_no_event();
  p.advance(1s);
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::ack_timeout);
}

TEST_CASE("qos out: acknowledgements for unknown packet ids [MQTT 4.3.3]") {
  const v version = each_version();
  session_peer p(qos_config(version));
  (void)p.connect_with();
  p.reply(ack_for<puback>(77));
  p.reply(ack_for<pubcomp>(78));
  p.expect_nothing();
  p.expect_no_event();
  CHECK(p.s.is_connected());
  // An unknown PUBREC still gets a PUBREL so the broker can finish.
  p.reply(ack_for<pubrec>(79));
  const auto rel = p.expect<tern::pubrel>();
  CHECK(rel->packet_id == 79);
  CHECK(rel->code ==
        (version == v::v5 ? reason_code::packet_identifier_not_found : reason_code::success));
  // A PUBACK for a QoS 2 message is a protocol violation: the connection ends, and the
  // message is kept for the resend [MQTT 4.3].
  (void)p.publish("t", "x", qos::exactly_once);
  const auto pub = p.expect<tern::publish>();
  p.reply(ack_for<puback>(pub->packet_id));
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::protocol_error);
  CHECK(d.code == reason_code::protocol_error);
  CHECK(p.s.inflight() == 1);
}

TEST_CASE("qos out: messages lost with the broker's session are reported in publish order") {
  const v version = each_version();
  session_config c = qos_config(version);
  c.republish_after_session_loss = false;
  session_peer p(c);
  (void)p.connect_with();
  std::vector<message_id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(p.publish("t", std::to_string(i), qos::at_least_once));
  for (int i = 0; i < 5; ++i) (void)p.expect<tern::publish>();
  drop(p);
  (void)p.reconnect_with(tern::connack{});
  std::vector<message_id> reported;
  for (auto& e : p.take_events()) reported.push_back(std::get<ev_completed>(e).id);
  CHECK(reported == ids);
}

TEST_CASE(
    "qos out: the order is kept within each QoS; QoS 0 is not held back by the window "
    "[MQTT 4.6]") {
  for (const v version : {v::v3_1_1, v::v5}) {
    CAPTURE(version);
    session_config c = qos_config(version);
    c.max_inflight = 1;
    c.queue_qos0_while_offline = true;
    session_peer p(c);
    // Queued while offline, in this order: QoS 0 "a", QoS 1 "1", QoS 1 "2", QoS 0 "b".
    (void)p.s.publish(make_publish("t", "a"), p.now);
    (void)p.s.publish(make_publish("t", "1", qos::at_least_once), p.now);
    (void)p.s.publish(make_publish("t", "2", qos::at_least_once), p.now);
    (void)p.s.publish(make_publish("t", "b"), p.now);
    CHECK(p.s.queued() == 4);
    (void)p.connect_with();
    // The window takes "1"; "2" waits for it, the QoS 0 messages do not.
    CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "a");
    const auto one = p.expect<tern::publish>();
    CHECK(str(as_chars(one->payload)) == "1");
    CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "b");
    p.expect_nothing();
    CHECK(p.s.queued() == 1);
    // A new QoS 0 goes straight out past the waiting QoS 1 (none of its own QoS is older) ...
    (void)p.publish("t", "c", qos::at_most_once);
    CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "c");
    // ... and a new QoS 1 queues behind "2".
    (void)p.publish("t", "3", qos::at_least_once);
    CHECK(p.s.queued() == 2);
    p.reply(ack_for<puback>(one->packet_id));
    (void)p.expect_event<ev_completed>();
    const auto two = p.expect<tern::publish>();
    CHECK(str(as_chars(two->payload)) == "2");
    p.expect_nothing();
    p.reply(ack_for<puback>(two->packet_id));
    (void)p.expect_event<ev_completed>();
    CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "3");
    CHECK(p.s.queued() == 0);
  }
}

TEST_CASE("qos out: a QoS 0 message queues behind an older QoS 0 held by the transmit limit") {
  session_config c = qos_config(v::v5);
  c.max_transmit_bytes = 64;
  c.queue_qos0_while_offline = true;
  session_peer p(c);
  const std::string big(100, 'x');
  (void)p.s.publish(make_publish("t", big), p.now);  // offline: queued
  (void)p.s.publish(make_publish("t", "small"), p.now);
  p.start();
  (void)p.expect<tern::connect>();
  p.blocked = true;
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  // A message larger than the limit goes when nothing else waits (it could never go
  // otherwise); "small" waits until it is written, and a newer QoS 0 message waits behind it.
  CHECK(p.s.queued() == 1);
  REQUIRE(p.s.publish(make_publish("t", "newer"), p.now).has_value());
  CHECK(p.s.queued() == 2);
  p.unblock();
  CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == big);
  CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "small");
  CHECK(str(as_chars(p.expect<tern::publish>()->payload)) == "newer");
  CHECK(p.s.queued() == 0);
  p.expect_nothing();
}
