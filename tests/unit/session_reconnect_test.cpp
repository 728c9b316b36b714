// Reconnection: after a lost connection the session asks for a new transport after an
// exponential backoff with jitter, reset by a connection that stayed up; never after
// disconnect(); the first attempt only when configured; a Server Reference (0x9C / 0x9D, in
// CONNACK or DISCONNECT) redirects the next attempt; refusals that a retry cannot fix end it.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config reconnect_config(v version, double jitter = 0.0) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  c.backoff.initial = 1s;
  c.backoff.maximum = 20s;
  c.backoff.factor = 2.0;
  c.backoff.jitter = jitter;
  c.backoff.stable_after = 30s;
  c.random_seed = 1234;
  return c;
}

// Lets every attempt fail to open and returns the delays between a failure and the next try.
std::vector<duration> failing_attempts(session_peer& p, int n) {
  std::vector<duration> delays;
  p.opening = open_mode::refuse;
  for (int i = 0; i < n; ++i) {
    const auto d = p.expect_event<ev_disconnected>();
    REQUIRE(d.reconnect_at);
    delays.push_back(*d.reconnect_at - p.now);
    const std::size_t opens = p.actions().size();
    p.advance_to(*d.reconnect_at);
    REQUIRE(p.actions().size() == opens + 1);
    CHECK(p.actions().back().k == peer_action::kind::open);
    CHECK(p.actions().back().at == *d.reconnect_at);
  }
  return delays;
}

tern::connack refused(reason_code code, std::span<const property> props = {}) {
  tern::connack a;
  a.code = code;
  a.props = properties(props);
  return a;
}
}  // namespace

TEST_CASE("reconnect: a lost connection is reopened after doubling delays up to the maximum") {
  const v version = each_version();
  session_peer p(reconnect_config(version));
  (void)p.connect_with();
  p.close();
  const auto delays = failing_attempts(p, 7);
  CHECK(delays == std::vector<duration>{1s, 2s, 4s, 8s, 16s, 20s, 20s});
  CHECK(p.s.state() == session_state::waiting);
}

TEST_CASE("reconnect: with jitter each delay is within [d * (1 - jitter), d], reproducibly") {
  std::vector<duration> runs[2];
  for (auto& run : runs) {
    session_peer p(reconnect_config(v::v5, 0.5));
    (void)p.connect_with();
    p.close();
    run = failing_attempts(p, 8);
    duration nominal = 1s;
    for (const duration d : run) {
      CHECK(d <= nominal);
      CHECK(d >= nominal / 2);
      nominal = std::min<duration>(nominal * 2, 20s);
    }
  }
  CHECK(runs[0] == runs[1]);  // the seed decides
  CHECK(runs[0] != std::vector<duration>{1s, 2s, 4s, 8s, 16s, 20s, 20s, 20s});
}

TEST_CASE("reconnect: a connection that stayed up resets the backoff, a short one does not") {
  const v version = each_version();
  session_peer p(reconnect_config(version));
  (void)p.connect_with();
  p.close();
  (void)failing_attempts(p, 3);  // 1, 2, 4 s; the next attempt succeeds
  p.opening = open_mode::accept;
  auto d = p.expect_event<ev_disconnected>();
  CHECK(*d.reconnect_at - p.now == 8s);
  (void)p.reconnect_with();

  SUBCASE("up for stable_after: back to the initial delay") {
    p.advance(30s);
    p.close();
    d = p.expect_event<ev_disconnected>();
    CHECK(*d.reconnect_at - p.now == 1s);
  }
  SUBCASE("up for less: the delays keep growing") {
    p.advance(29s);
    p.close();
    d = p.expect_event<ev_disconnected>();
    CHECK(*d.reconnect_at - p.now == 16s);
  }
}

TEST_CASE("reconnect: never after disconnect()") {
  const v version = each_version();
  SUBCASE("while connected") {
    session_peer p(reconnect_config(version));
    (void)p.connect_with();
    REQUIRE(p.s.disconnect(p.now).has_value());
    p.pump();
    (void)p.expect<tern::disconnect>();
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::client_disconnect);
    CHECK_FALSE(d.reconnect_at);
    CHECK(p.s.state() == session_state::idle);
    CHECK_FALSE(p.s.poll_timeout());
    p.advance(24h);
    CHECK(p.actions().back().k == peer_action::kind::close);
  }
  SUBCASE("while waiting for the next attempt") {
    session_peer p(reconnect_config(version));
    (void)p.connect_with();
    p.close();
    CHECK(p.expect_event<ev_disconnected>().reconnect_at);
    REQUIRE(p.s.disconnect(p.now).has_value());
    p.pump();
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::client_disconnect);
    CHECK(p.s.state() == session_state::idle);
    const std::size_t actions = p.actions().size();
    p.advance(24h);
    CHECK(p.actions().size() == actions);
    // connect() starts again.
    (void)p.connect_with();
  }
  SUBCASE("while the transport is opening") {
    session_peer p(reconnect_config(version));
    p.opening = open_mode::manual;
    REQUIRE(p.s.connect(p.now).has_value());
    p.pump();
    REQUIRE(p.s.disconnect(p.now).has_value());
    p.pump();
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::client_disconnect);
    CHECK(p.s.state() == session_state::idle);
    p.opened();  // the adapter finished opening anyway: the session asks to close it
    CHECK(p.actions().back().k == peer_action::kind::close);
    p.expect_nothing();
  }
  SUBCASE("with auto_reconnect off a loss ends it too") {
    session_config c = reconnect_config(version);
    c.auto_reconnect = false;
    session_peer p(c);
    (void)p.connect_with();
    p.close();
    CHECK_FALSE(p.expect_event<ev_disconnected>().reconnect_at);
    CHECK(p.s.state() == session_state::idle);
  }
}

TEST_CASE("reconnect: the first attempt is retried only with retry_first_connection") {
  const v version = each_version();
  for (const bool retry : {false, true}) {
    CAPTURE(retry);
    session_config c = reconnect_config(version);
    c.retry_first_connection = retry;
    session_peer p(c);
    p.opening = open_mode::refuse;
    REQUIRE(p.s.connect(p.now).has_value());
    p.pump();
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::transport_closed);
    CHECK(d.reconnect_at.has_value() == retry);
    CHECK(p.s.state() == (retry ? session_state::waiting : session_state::idle));
    if (retry) {
      p.opening = open_mode::accept;
      (void)p.reconnect_with();
      CHECK(p.s.is_connected());
    }
  }
}

TEST_CASE("reconnect: Server Reference redirects the next attempt [MQTT 4.11]") {
  const std::array<property, 2> props{
      property::string(property_id::server_reference, "other.example:1883"),
      property::string(property_id::reason_string, "moving")};
  SUBCASE("CONNACK Use another server / Server moved") {
    for (const reason_code code : {reason_code::use_another_server, reason_code::server_moved}) {
      CAPTURE(name(code));
      session_config c = reconnect_config(v::v5);
      c.retry_first_connection = true;
      session_peer p(c);
      p.start();
      CHECK(p.actions().back().server_reference.empty());
      (void)p.expect<tern::connect>();
      p.reply(refused(code, props));
      const auto d = p.expect_event<ev_disconnected>();
      CHECK(d.cause == disconnect_cause::connection_refused);
      CHECK(d.code == code);
      CHECK(d.reason_string == "moving");
      REQUIRE(d.reconnect_at);
      p.advance_to(*d.reconnect_at);
      CHECK(p.actions().back().k == peer_action::kind::open);
      CHECK(p.actions().back().server_reference == "other.example:1883");
    }
  }
  SUBCASE("DISCONNECT from the server") {
    session_peer p(reconnect_config(v::v5));
    (void)p.connect_with();
    p.reply(tern::disconnect{reason_code::server_moved, props});
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::server_disconnect);
    REQUIRE(d.reconnect_at);
    p.advance_to(*d.reconnect_at);
    CHECK(p.actions().back().server_reference == "other.example:1883");
  }
  SUBCASE("other codes keep the configured broker") {
    session_peer p(reconnect_config(v::v5));
    (void)p.connect_with();
    p.reply(tern::disconnect{reason_code::server_busy, props});
    const auto d = p.expect_event<ev_disconnected>();
    p.advance_to(*d.reconnect_at);
    CHECK(p.actions().back().server_reference.empty());
  }
}

TEST_CASE("reconnect: refusals a retry cannot fix end the session, others are retried") {
  struct row {
    reason_code code;
    bool retried;
  };
  for (const row r :
       {row{reason_code::bad_user_name_or_password, false}, row{reason_code::not_authorized, false},
        row{reason_code::banned, false}, row{reason_code::client_identifier_not_valid, false},
        row{reason_code::unsupported_protocol_version, false},
        row{reason_code::bad_authentication_method, false},
        row{reason_code::server_unavailable, true}, row{reason_code::server_busy, true},
        row{reason_code::quota_exceeded, true}, row{reason_code::connection_rate_exceeded, true}}) {
    CAPTURE(name(r.code));
    session_peer p(reconnect_config(v::v5));
    (void)p.connect_with();
    p.close();
    (void)p.expect_event<ev_disconnected>();
    p.advance_to(*p.s.poll_timeout());
    (void)p.expect<tern::connect>();
    p.reply(refused(r.code));
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.code == r.code);
    CHECK(d.reconnect_at.has_value() == r.retried);
    CHECK(p.s.state() == (r.retried ? session_state::waiting : session_state::idle));
  }
}

TEST_CASE("reconnect: after server DISCONNECTs that would only repeat, no retry") {
  for (const reason_code code : {reason_code::session_taken_over, reason_code::not_authorized}) {
    CAPTURE(name(code));
    session_peer p(reconnect_config(v::v5));
    (void)p.connect_with();
    p.reply(tern::disconnect{code, {}});
    CHECK_FALSE(p.expect_event<ev_disconnected>().reconnect_at);
    CHECK(p.s.state() == session_state::idle);
  }
}

TEST_CASE("reconnect: a redirect is followed on the first attempt, Use another server once") {
  const std::array<property, 1> to_b{property::string(property_id::server_reference, "b:1883")};
  session_peer p(reconnect_config(v::v5));  // retry_first_connection stays false
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(refused(reason_code::use_another_server, to_b));
  const auto d = p.expect_event<ev_disconnected>();
  REQUIRE(d.reconnect_at);  // followed although the first connection was refused
  p.advance_to(*d.reconnect_at);
  CHECK(p.actions().back().server_reference == "b:1883");
  p.opened();
  (void)p.expect<tern::connect>();
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  // Use another server (0x9C) was for that connection only: the next goes to the broker.
  p.close();
  const auto lost = p.expect_event<ev_disconnected>();
  REQUIRE(lost.reconnect_at);
  p.advance_to(*lost.reconnect_at);
  CHECK(p.actions().back().server_reference.empty());
}

TEST_CASE("reconnect: a refusal without a Server Reference is not followed on the first attempt") {
  session_peer p(reconnect_config(v::v5));
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(refused(reason_code::use_another_server));
  const auto d = p.expect_event<ev_disconnected>();
  CHECK_FALSE(d.reconnect_at);
  CHECK(p.s.state() == session_state::idle);
}
