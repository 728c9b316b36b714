// Keep-alive [MQTT 3.1.2.10]: a PINGREQ when nothing was written for the keep-alive interval,
// counted from the last byte actually written; the connection declared lost when PINGRESP is
// late; Server Keep Alive overriding ours [MQTT 3.2.2.3.14]; keep-alive 0 turning it off.
#include <doctest/doctest.h>

#include <array>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config keepalive_config(v version, std::chrono::seconds keep_alive) {
  session_config c = test_config(version);
  c.keep_alive = keep_alive;
  return c;
}
}  // namespace

TEST_CASE("keep-alive: PINGREQ exactly one interval after the last write [MQTT-3.1.2-23]") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 60s));
  (void)p.connect_with();
  const time_point t0 = p.now;  // CONNECT was written now
  CHECK(p.s.poll_timeout() == t0 + 60s);
  p.advance(59s);
  p.expect_nothing();
  p.advance(1s);
  const auto ping = p.expect<tern::pingreq>();
  CHECK(ping.written_at == t0 + 60s);
  p.expect_nothing();
  p.advance(2s);
  p.reply(tern::pingresp{});
  p.expect_no_event();
  // The next one counts from the PINGREQ's write, not from the PINGRESP.
  CHECK(p.s.poll_timeout() == t0 + 120s);
  p.advance(57s);
  p.expect_nothing();
  p.advance(1s);
  CHECK(p.expect<tern::pingreq>().written_at == t0 + 120s);
  CHECK(p.s.is_connected());
}

TEST_CASE("keep-alive: the interval counts bytes written, not bytes queued [MQTT 3.1.2.10]") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 60s));
  (void)p.connect_with();
  const time_point t0 = p.now;

  SUBCASE("a publish written at +30 s moves the PINGREQ to +90 s") {
    p.advance(30s);
    (void)p.publish("t", "x");
    (void)p.expect<tern::publish>();
    CHECK(p.s.poll_timeout() == t0 + 90s);
    p.advance(59s);
    p.expect_nothing();
    p.advance(1s);
    CHECK(p.expect<tern::pingreq>().written_at == t0 + 90s);
  }
  SUBCASE("a publish queued at +30 s on a blocked transport does not move it") {
    p.advance(30s);
    p.blocked = true;
    (void)p.publish("t", "x");
    CHECK(p.s.transmit_size() != 0);
    CHECK(p.s.poll_timeout() == t0 + 60s);  // nothing was written since t0
    p.advance(30s);
    // The PINGREQ is due now; it waits behind the publish.
    p.advance(10s);
    p.unblock();  // +70 s: both go out
    (void)p.expect<tern::publish>();
    CHECK(p.expect<tern::pingreq>().written_at == t0 + 70s);
  }
  SUBCASE("a partial write counts as a write") {
    p.advance(30s);
    p.write_chunk = 3;
    p.blocked = true;
    (void)p.publish("topic", "payload");
    p.blocked = false;
    p.pump();  // writes everything, three bytes per commit, at +30 s
    (void)p.expect<tern::publish>();
    CHECK(p.commits() > 2);
    CHECK(p.s.poll_timeout() == t0 + 90s);
  }
}

TEST_CASE("keep-alive: no PINGREQ while the client keeps writing") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 60s));
  (void)p.connect_with();
  for (int i = 0; i < 30; ++i) {  // 15 minutes of a publish every 30 s
    p.advance(30s);
    (void)p.publish("t", "x");
    (void)p.expect<tern::publish>();
    p.expect_nothing();
  }
}

TEST_CASE("keep-alive: incoming traffic does not replace the client's PINGREQ [MQTT-3.1.2-23]") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 60s));
  (void)p.connect_with();
  const time_point t0 = p.now;
  for (int i = 0; i < 5; ++i) {
    p.advance(10s);
    p.reply(make_publish("in", "x"));
    (void)p.expect_event<ev_message>();
  }
  p.advance(10s);
  CHECK(p.expect<tern::pingreq>().written_at == t0 + 60s);
}

TEST_CASE("keep-alive: a late PINGRESP ends the connection with keep_alive_timeout") {
  const v version = each_version();
  SUBCASE("ping_timeout 0 waits one keep-alive interval") {
    session_peer p(keepalive_config(version, 30s));
    (void)p.connect_with();
    const time_point t0 = p.now;
    p.advance(30s);
    (void)p.expect<tern::pingreq>();
    p.advance(29s);
    p.expect_no_event();
    CHECK(p.s.is_connected());
    p.advance(1s);
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::keep_alive_timeout);
    CHECK(p.actions().back().k == peer_action::kind::close);
    CHECK(p.actions().back().at == t0 + 60s);
    CHECK(d.reconnect_at.has_value());  // a lost connection is reconnected
    CHECK_FALSE(p.s.is_connected());
  }
  SUBCASE("ping_timeout sets the wait") {
    session_config c = keepalive_config(version, 30s);
    c.ping_timeout = 5s;
    session_peer p(c);
    (void)p.connect_with();
    const time_point t0 = p.now;
    p.advance(30s);
    (void)p.expect<tern::pingreq>();
    CHECK(p.s.poll_timeout() == t0 + 35s);
    p.advance(4s);
    p.expect_no_event();
    p.advance(1s);
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::keep_alive_timeout);
    CHECK(p.actions().back().at == t0 + 35s);
  }
  SUBCASE("a PINGRESP in time keeps the connection") {
    session_config c = keepalive_config(version, 30s);
    c.ping_timeout = 5s;
    session_peer p(c);
    (void)p.connect_with();
    p.advance(30s);
    (void)p.expect<tern::pingreq>();
    p.advance(4s);
    p.reply(tern::pingresp{});
    for (int i = 0; i < 20; ++i) {  // 10 minutes of PINGREQs, each answered in 4 s
      p.advance(26s);
      (void)p.expect<tern::pingreq>();
      p.advance(4s);
      p.reply(tern::pingresp{});
    }
    p.expect_no_event();
    CHECK(p.s.is_connected());
  }
  SUBCASE("a blocked transport does not postpone the deadline") {
    session_config c = keepalive_config(version, 30s);
    c.ping_timeout = 5s;
    session_peer p(c);
    (void)p.connect_with();
    const time_point t0 = p.now;
    p.blocked = true;
    p.advance(40s);
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::keep_alive_timeout);
    // PINGREQ due (and queued) at +30 s, no PINGRESP by +35 s.
    REQUIRE(p.actions().size() >= 2);
    CHECK(p.actions()[1].k == peer_action::kind::close);
    CHECK(p.actions()[1].at == t0 + 35s);
  }
}

TEST_CASE("keep-alive: 0 turns it off [MQTT 3.1.2.10]") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 0s));
  (void)p.connect_with();
  CHECK_FALSE(p.s.poll_timeout().has_value());
  p.advance(std::chrono::hours(24 * 7));
  p.expect_nothing();
  p.expect_no_event();
  CHECK(p.s.is_connected());
}

TEST_CASE("keep-alive: Server Keep Alive overrides ours [MQTT-3.2.2-21]") {
  SUBCASE("shorter") {
    session_peer p(keepalive_config(v::v5, 60s));
    const std::array<property, 1> props{property::integer(property_id::server_keep_alive, 10)};
    tern::connack ack;
    ack.props = props;
    const auto ok = p.connect_with(ack);
    CHECK(ok.limits.keep_alive == 10);
    const time_point t0 = p.now;
    p.advance(10s);
    CHECK(p.expect<tern::pingreq>().written_at == t0 + 10s);
  }
  SUBCASE("longer") {
    session_peer p(keepalive_config(v::v5, 10s));
    const std::array<property, 1> props{property::integer(property_id::server_keep_alive, 100)};
    tern::connack ack;
    ack.props = props;
    (void)p.connect_with(ack);
    p.advance(99s);
    p.expect_nothing();
    p.advance(1s);
    (void)p.expect<tern::pingreq>();
  }
  SUBCASE("0 turns pings off") {
    session_peer p(keepalive_config(v::v5, 10s));
    const std::array<property, 1> props{property::integer(property_id::server_keep_alive, 0)};
    tern::connack ack;
    ack.props = props;
    (void)p.connect_with(ack);
    CHECK_FALSE(p.s.poll_timeout().has_value());
    p.advance(1h);
    p.expect_nothing();
  }
}

TEST_CASE("keep-alive: an early or repeated handle_timeout does nothing") {
  const v version = each_version();
  session_peer p(keepalive_config(version, 60s));
  (void)p.connect_with();
  const time_point t0 = p.now;
  for (int i = 0; i < 5; ++i) {
    p.s.handle_timeout(t0 + std::chrono::seconds(i * 10));
    p.pump();
  }
  p.expect_nothing();
  CHECK(p.s.poll_timeout() == t0 + 60s);
  // A clock going backwards is held at the last time seen, not believed.
  p.s.handle_timeout(t0 - 1h);
  p.pump();
  p.expect_nothing();
  CHECK(p.s.poll_timeout() == t0 + 60s);
  p.now = t0 + 60s;
  p.s.handle_timeout(p.now);
  p.s.handle_timeout(p.now);  // twice: still one PINGREQ
  p.pump();
  (void)p.expect<tern::pingreq>();
  p.expect_nothing();
}
