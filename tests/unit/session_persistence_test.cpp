// Durable session state: save_state() / restore_state() carry unacknowledged outgoing messages
// (with their stage and packet ids), queued messages, incoming QoS 2 ids awaiting PUBREL and
// the subscriptions across a process restart; damaged state is refused whole.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config durable_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  c.max_inflight = 3;
  c.session_expiry_interval = version == v::v5 ? 3600 : 0;
  return c;
}

std::vector<std::byte> saved(const tern::session& s) {
  std::vector<std::byte> out(s.state_size());
  s.save_state(out.data());
  return out;
}

template <class A>
A ack_for(std::uint16_t id) {
  A a;
  a.packet_id = id;
  return a;
}

// A session with some of everything in its state, as the test before the "restart" leaves it.
struct before_restart {
  std::vector<std::byte> state;
  message_id unacked = 0, released = 0, unsent = 0, pending = 0;
  std::uint16_t unacked_id = 0, released_id = 0, unsent_id = 0;
};

before_restart build_state(v version) {
  before_restart b;
  session_peer p(durable_config(version));
  (void)p.connect_with();
  const std::array<subscription, 1> subs{subscription{"keep/+", {qos::at_least_once}}};
  const std::uint16_t sid = p.subscribe(subs);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 1> granted{reason_code::granted_qos_1};
  p.reply(tern::suback{sid, granted, {}});
  b.unacked = p.publish("t", "unacked", qos::at_least_once);
  b.released = p.publish("t", "released", qos::exactly_once);
  b.unsent = p.publish("t", "unsent", qos::exactly_once);
  b.pending = p.publish("t", "pending", qos::at_least_once);  // beyond the window of 3
  b.unacked_id = p.expect<tern::publish>()->packet_id;
  b.released_id = p.expect<tern::publish>()->packet_id;
  b.unsent_id = p.expect<tern::publish>()->packet_id;
  p.reply(ack_for<tern::pubrec>(b.released_id));
  (void)p.expect<tern::pubrel>();
  // An incoming QoS 2 message awaits PUBREL.
  tern::publish in = make_publish("in", "once", qos::exactly_once);
  in.packet_id = 9;
  p.reply(in);
  (void)p.expect_event<ev_subscribed>();
  (void)p.expect_event<ev_message>();
  (void)p.expect<tern::pubrec>();
  CHECK(p.s.inflight() == 3);
  CHECK(p.s.queued() == 1);
  b.state = saved(p.s);
  return b;
}
}  // namespace

TEST_CASE(
    "persistence: a restored session resends with DUP and the same ids, keeps its queue "
    "and its incoming QoS 2 ids") {
  const v version = each_version();
  const before_restart b = build_state(version);

  session_peer p(durable_config(version));  // a new process
  REQUIRE(p.s.restore_state(b.state).has_value());
  CHECK(p.s.inflight() == 3);
  CHECK(p.s.queued() == 1);
  CHECK(saved(p.s) == b.state);  // the state reads back the same
  p.start();
  CHECK_FALSE(p.expect<tern::connect>()->clean_start);  // resume the broker's session
  tern::connack present;
  present.session_present = true;
  p.reply(present);
  (void)p.expect_event<ev_connected>();

  const auto r1 = p.expect<tern::publish>();
  CHECK(r1->dup);
  CHECK(r1->packet_id == b.unacked_id);
  CHECK(str(as_chars(r1->payload)) == "unacked");
  CHECK(p.expect<tern::pubrel>()->packet_id == b.released_id);
  const auto r3 = p.expect<tern::publish>();
  CHECK(r3->dup);
  CHECK(r3->packet_id == b.unsent_id);
  p.expect_nothing();  // the window (3) is full; "pending" waits

  p.reply(ack_for<tern::puback>(b.unacked_id));
  auto done = p.expect_event<ev_completed>();
  CHECK(done.id == b.unacked);  // message ids survive the restart too
  const auto r4 = p.expect<tern::publish>();
  CHECK_FALSE(r4->dup);
  CHECK(str(as_chars(r4->payload)) == "pending");
  p.reply(ack_for<tern::pubcomp>(b.released_id));
  CHECK(p.expect_event<ev_completed>().id == b.released);

  // The incoming QoS 2 message is not delivered again.
  tern::publish again = make_publish("in", "once", qos::exactly_once);
  again.packet_id = 9;
  again.dup = true;
  p.reply(again);
  p.expect_no_event();
  CHECK(p.expect<tern::pubrec>()->packet_id == 9);

  // New messages get new ids, after the old ones.
  const message_id fresh = p.publish("t", "fresh", qos::at_least_once);
  CHECK(fresh > b.pending);
}

TEST_CASE("persistence: restored subscriptions are replayed when the broker lost the session") {
  const v version = each_version();
  const before_restart b = build_state(version);
  session_peer p(durable_config(version));
  REQUIRE(p.s.restore_state(b.state).has_value());
  (void)p.connect_with();  // Session Present 0
  std::vector<std::string> filters;
  bool resubscribed = false;
  while (p.packets_waiting() != 0) {
    if (p.next_type() == packet_type::subscribe) {
      const auto s = p.expect<tern::subscribe>();
      for (const subscription x : s->subscriptions) {
        filters.emplace_back(x.filter);
        CHECK(x.options.max_qos == qos::at_least_once);
      }
      resubscribed = true;
    } else {
      (void)p.expect<tern::publish>();
    }
  }
  CHECK(resubscribed);
  CHECK(filters == std::vector<std::string>{"keep/+"});
}

TEST_CASE("persistence: a restored queued message keeps its Message Expiry") {
  session_peer a(durable_config(v::v5));
  const std::array<property, 1> props{property::integer(property_id::message_expiry_interval, 100)};
  const message_id id = a.publish("t", "lives", qos::at_least_once, props);
  const auto state = saved(a.s);

  session_peer b(durable_config(v::v5));
  b.now = a.now;
  REQUIRE(b.s.restore_state(state).has_value());
  b.advance(10s);
  (void)b.connect_with();
  b.expect_no_event();
  const auto m = b.expect<tern::publish>();
  CHECK(str(as_chars(m->payload)) == "lives");
  const auto left = m->props.number(property_id::message_expiry_interval);
  REQUIRE(left);
  CHECK(*left <= 100u);
  CHECK(*left >= 90u);
  (void)id;
}

TEST_CASE("persistence: an empty session round-trips") {
  const v version = each_version();
  session_peer a(durable_config(version));
  const auto state = saved(a.s);
  session_peer b(durable_config(version));
  REQUIRE(b.s.restore_state(state).has_value());
  CHECK(saved(b.s) == state);
  CHECK(b.s.inflight() == 0);
}

TEST_CASE("persistence: damaged state is refused and the session is unchanged") {
  const v version = each_version();
  const before_restart b = build_state(version);
  session_peer p(durable_config(version));
  // Give it a state of its own first, to see that a refusal keeps it.
  session_peer other(durable_config(version));
  (void)other.publish("mine", "kept", qos::at_least_once);
  const auto mine = saved(other.s);
  REQUIRE(p.s.restore_state(mine).has_value());

  auto refused = [&](const std::vector<std::byte>& bad) {
    const auto r = p.s.restore_state(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::invalid_state_data);
    CHECK(saved(p.s) == mine);
  };
  SUBCASE("every truncation") {
    for (std::size_t n = 0; n < b.state.size(); ++n) {
      CAPTURE(n);
      refused(std::vector<std::byte>(b.state.begin(),
                                     b.state.begin() + static_cast<std::ptrdiff_t>(n)));
    }
  }
  SUBCASE("trailing bytes") {
    auto bad = b.state;
    bad.push_back(std::byte{0});
    refused(bad);
  }
  SUBCASE("wrong magic, format or protocol version") {
    for (const std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{6}, std::size_t{7}}) {
      CAPTURE(at);
      auto bad = b.state;
      bad[at] ^= std::byte{0x01};
      refused(bad);
    }
  }
  SUBCASE("a stored message that is not a PUBLISH") {
    // First message record starts after the 24-byte header: id(8) packet id(2) qos stage
    // sent-before(3) size(4), then the packet's first byte.
    auto bad = b.state;
    const std::size_t first_byte = 6 + 1 + 1 + 2 + 8 + 4 + 8 + 2 + 3 + 4;
    REQUIRE(bad[first_byte] == std::byte{0x32});  // QoS 1 PUBLISH
    bad[first_byte] = std::byte{0x40};            // PUBACK
    refused(bad);
  }
  SUBCASE("an impossible stage or QoS") {
    const std::size_t qos_at = 6 + 1 + 1 + 2 + 8 + 4 + 8 + 2;
    auto bad = b.state;
    bad[qos_at] = std::byte{3};
    refused(bad);
    bad = b.state;
    bad[qos_at + 1] = std::byte{3};
    refused(bad);
  }
  SUBCASE("a state of the other protocol version") {
    const before_restart other_version = build_state(version == v::v5 ? v::v3_1_1 : v::v5);
    refused(other_version.state);
  }
}

TEST_CASE("persistence: restore_state() only into an idle session") {
  const v version = each_version();
  session_peer p(durable_config(version));
  const auto state = saved(p.s);
  (void)p.connect_with();
  CHECK(p.s.restore_state(state).error() == errc::invalid_state);
}

TEST_CASE(
    "persistence: a restored in-flight message republished after a session loss keeps "
    "its Message Expiry") {
  session_peer a(durable_config(v::v5));
  (void)a.connect_with();
  const std::array<property, 1> props{property::integer(property_id::message_expiry_interval, 100)};
  (void)a.publish("t", "in flight", qos::at_least_once, props);
  (void)a.expect<tern::publish>();
  const auto state = saved(a.s);

  session_peer b(durable_config(v::v5));
  b.now = a.now + 5s;
  REQUIRE(b.s.restore_state(state).has_value());
  (void)b.connect_with();  // Session Present 0: republished as new
  b.expect_no_event();
  const auto m = b.expect<tern::publish>();
  CHECK_FALSE(m->dup);
  CHECK(str(as_chars(m->payload)) == "in flight");
  CHECK(m->props.number(property_id::message_expiry_interval) == 100u);
}
