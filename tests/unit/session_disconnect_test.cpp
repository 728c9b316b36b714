// Ending a connection on purpose: disconnect() with a reason code and properties, DISCONNECT
// written before the transport closes [MQTT 3.14], the Session Expiry update rule
// [MQTT-3.14.2-2], and a DISCONNECT from the server surfaced with its reason string and
// properties [MQTT 3.14.2.2.3].
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config disconnect_config(v version, std::uint32_t expiry = 0) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  c.session_expiry_interval = version == v::v5 ? expiry : 0;
  return c;
}
}  // namespace

TEST_CASE("disconnect: DISCONNECT is written, then the transport closes [MQTT-3.14.4-1]") {
  const v version = each_version();
  session_peer p(disconnect_config(version));
  (void)p.connect_with();
  p.blocked = true;  // the close must wait for the DISCONNECT's bytes
  REQUIRE(p.s.disconnect(p.now).has_value());
  p.pump();
  CHECK(p.s.state() == session_state::disconnecting);
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::client_disconnect);
  CHECK(d.code == reason_code::normal_disconnection);
  CHECK(p.actions().back().k == peer_action::kind::open);  // no close yet
  p.advance(1s);
  p.unblock();
  p.expect_bytes("e0 00  // DISCONNECT, Normal disconnection");
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.actions().back().at == p.now);
  CHECK(p.s.state() == session_state::idle);
  p.expect_nothing();
}

TEST_CASE("disconnect: reason code and properties (5.0) [MQTT 3.14.2]") {
  session_peer p(disconnect_config(v::v5, 600));
  (void)p.connect_with();
  const std::array<property, 2> props{property::integer(property_id::session_expiry_interval, 30),
                                      property::user("bye", "now")};
  REQUIRE(p.s.disconnect(p.now, reason_code::disconnect_with_will_message, props).has_value());
  p.pump();
  const auto d = p.expect<tern::disconnect>();
  CHECK(d->code == reason_code::disconnect_with_will_message);
  CHECK(d->props.number(property_id::session_expiry_interval) == 30u);
  CHECK(d->props.size() == 2);
  CHECK(p.expect_event<ev_disconnected>().code == reason_code::disconnect_with_will_message);
}

TEST_CASE("disconnect: the Session Expiry update rule [MQTT-3.14.2-2]") {
  auto try_expiry = [](std::uint32_t in_connect, std::uint32_t in_disconnect) {
    session_peer p(disconnect_config(v::v5, in_connect));
    (void)p.connect_with();
    const std::array<property, 1> props{
        property::integer(property_id::session_expiry_interval, in_disconnect)};
    const auto r = p.s.disconnect(p.now, reason_code::normal_disconnection, props);
    p.pump();
    if (!r) {
      CHECK(r.error() == errc::invalid_property_value);
      p.expect_nothing();  // nothing changed: still connected
      CHECK(p.s.is_connected());
      p.expect_no_event();
    } else {
      CHECK(p.expect<tern::disconnect>()->props.number(property_id::session_expiry_interval) ==
            in_disconnect);
    }
    return r.has_value();
  };
  CHECK_FALSE(try_expiry(0, 10));  // a session that expires at close cannot be extended
  CHECK(try_expiry(0, 0));
  CHECK(try_expiry(100, 0));
  CHECK(try_expiry(100, 5000));
}

TEST_CASE("disconnect: arguments the version cannot carry are refused") {
  SUBCASE("3.1.1 has no reason code or properties") {
    session_peer p(disconnect_config(v::v3_1_1));
    (void)p.connect_with();
    CHECK(p.s.disconnect(p.now, reason_code::disconnect_with_will_message).error() ==
          errc::unsupported_by_version);
    const std::array<property, 1> props{property::user("a", "b")};
    CHECK(p.s.disconnect(p.now, reason_code::normal_disconnection, props).error() ==
          errc::unsupported_by_version);
    p.pump();
    p.expect_nothing();
    CHECK(p.s.is_connected());
  }
  SUBCASE("5.0: a code DISCONNECT does not define") {
    session_peer p(disconnect_config(v::v5));
    (void)p.connect_with();
    CHECK(p.s.disconnect(p.now, reason_code::granted_qos_1).error() == errc::invalid_reason_code);
    CHECK(p.s.is_connected());
  }
  SUBCASE("not started") {
    session_peer p(disconnect_config(v::v5));
    CHECK(p.s.disconnect(p.now).error() == errc::invalid_state);
  }
}

TEST_CASE("disconnect: a transport that never drains is closed anyway") {
  const v version = each_version();
  session_config c = disconnect_config(version);
  c.connect_timeout = 4s;
  session_peer p(c);
  (void)p.connect_with();
  const time_point t0 = p.now;
  p.blocked = true;
  REQUIRE(p.s.disconnect(p.now).has_value());
  p.pump();
  CHECK(p.s.poll_timeout() == t0 + 4s);
  p.advance(4s);
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.actions().back().at == t0 + 4s);
  CHECK(p.s.state() == session_state::idle);
  CHECK_FALSE(p.s.poll_timeout());
}

TEST_CASE("disconnect: while CONNACK is awaited the attempt just ends") {
  const v version = each_version();
  session_peer p(disconnect_config(version));
  p.start();
  (void)p.expect<tern::connect>();
  REQUIRE(p.s.disconnect(p.now).has_value());
  p.pump();
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::client_disconnect);
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.s.state() == session_state::idle);
  // A CONNACK arriving late is not acted on.
  p.expect_nothing();
}

TEST_CASE("disconnect: nothing is sent after our DISCONNECT [MQTT-3.14.4-1]") {
  const v version = each_version();
  session_peer p(disconnect_config(version));
  (void)p.connect_with();
  p.blocked = true;
  REQUIRE(p.s.disconnect(p.now).has_value());
  p.pump();
  (void)p.expect_event<ev_disconnected>();
  // The broker keeps sending until it sees our DISCONNECT.
  tern::publish m = make_publish("t", "late", qos::at_least_once);
  m.packet_id = 3;
  p.reply(m);
  p.reply(tern::pubrel{4, reason_code::success, {}});
  p.unblock();
  (void)p.expect<tern::disconnect>();
  p.expect_nothing();  // no PUBACK, no PUBCOMP after DISCONNECT
  p.expect_no_event();
  CHECK(p.s.state() == session_state::idle);
}

TEST_CASE("disconnect: a DISCONNECT from the server is surfaced with its reason [MQTT 3.14]") {
  session_peer p(disconnect_config(v::v5));
  (void)p.connect_with();
  const std::array<property, 2> props{property::string(property_id::reason_string, "maintenance"),
                                      property::user("back", "soon")};
  p.reply(tern::disconnect{reason_code::server_shutting_down, props});
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::server_disconnect);
  CHECK(d.code == reason_code::server_shutting_down);
  CHECK(d.reason_string == "maintenance");
  CHECK(d.props.size() == 2);
  CHECK_FALSE(d.error);
  CHECK(d.reconnect_at.has_value());
  p.expect_nothing();  // the client does not answer a DISCONNECT [MQTT-3.14.4-2]
  CHECK(p.actions().back().k == peer_action::kind::close);
}

TEST_CASE("disconnect: packets after the server's DISCONNECT are not acted on") {
  session_peer p(disconnect_config(v::v5));
  (void)p.connect_with();
  std::vector<std::byte> both = encoded(tern::disconnect{reason_code::server_busy, {}}, v::v5);
  tern::publish m = make_publish("t", "after", qos::at_least_once);
  m.packet_id = 1;
  const auto pub = encoded(m, v::v5);
  both.insert(both.end(), pub.begin(), pub.end());
  p.auto_close = false;
  p.reply_bytes(both);
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::server_disconnect);
  p.expect_no_event();
  p.expect_nothing();
}
