// Enhanced authentication [MQTT 4.12] (5.0) through a pluggable authenticator: the method and
// initial data in CONNECT, AUTH Continue exchanges, the server's final data checked on CONNACK,
// failures on either side, and re-authentication [MQTT 4.12.1].
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

// Scripted: answers each challenge with the next reply; records what it was given.
class test_authenticator final : public authenticator {
 public:
  std::string name = "SCRAM-TEST";
  std::string initial = "client-first";
  std::string reauth_initial = "client-again";
  std::vector<std::string> replies{"client-final"};
  std::optional<reason_code> refuse_challenge;
  std::optional<reason_code> refuse_finish;

  std::vector<bool> initial_calls;  // the `reauthenticating` argument of each call
  std::vector<std::optional<std::string>> challenges;
  std::vector<std::optional<std::string>> finishes;

  std::string_view method() const noexcept override { return name; }
  std::optional<bytes_view> initial_data(bool reauthenticating) noexcept override {
    initial_calls.push_back(reauthenticating);
    return as_bytes(reauthenticating ? reauth_initial : initial);
  }
  result<std::optional<bytes_view>, reason_code> challenge(
      std::optional<bytes_view> data) noexcept override {
    challenges.push_back(data ? std::optional<std::string>(as_chars(*data)) : std::nullopt);
    if (refuse_challenge) return unexpected{*refuse_challenge};
    if (next_ >= replies.size()) return std::optional<bytes_view>();
    return std::optional<bytes_view>(as_bytes(replies[next_++]));
  }
  result<void, reason_code> finished(std::optional<bytes_view> data) noexcept override {
    finishes.push_back(data ? std::optional<std::string>(as_chars(*data)) : std::nullopt);
    if (refuse_finish) return unexpected{*refuse_finish};
    return {};
  }

 private:
  std::size_t next_ = 0;
};

session_config auth_config(authenticator* a) {
  session_config c = test_config(v::v5);
  c.keep_alive = 0s;
  c.auth = a;
  return c;
}

tern::auth server_auth(reason_code code, std::string_view method, std::string_view data) {
  static std::array<property, 2> props;
  props[0] = property::string(property_id::authentication_method, method);
  props[1] = property::binary_data(property_id::authentication_data, as_bytes(data));
  return tern::auth{code,
                    properties(std::span<const property>(props.data(), data.empty() ? 1 : 2))};
}

tern::connack accepted_with(std::string_view method, std::string_view data) {
  static std::array<property, 2> props;
  props[0] = property::string(property_id::authentication_method, method);
  props[1] = property::binary_data(property_id::authentication_data, as_bytes(data));
  tern::connack a;
  a.props = props;
  return a;
}

std::string data_of(const properties& props) {
  const auto d = props.find(property_id::authentication_data);
  return d ? std::string(d->text) : std::string("<none>");
}
}  // namespace

TEST_CASE("auth: CONNECT carries the method and initial data [MQTT 3.1.2.11.9]") {
  test_authenticator a;
  session_peer p(auth_config(&a));
  p.start();
  const auto c = p.expect<tern::connect>();
  CHECK(c->props.text(property_id::authentication_method) == "SCRAM-TEST");
  CHECK(data_of(c->props) == "client-first");
  CHECK(a.initial_calls == std::vector<bool>{false});
}

TEST_CASE("auth: a Continue exchange, then CONNACK with the server's final data [MQTT 4.12]") {
  test_authenticator a;
  a.replies = {"step-2", "step-3"};
  session_peer p(auth_config(&a));
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(server_auth(reason_code::continue_authentication, "SCRAM-TEST", "server-first"));
  auto reply = p.expect<tern::auth>();
  CHECK(reply->code == reason_code::continue_authentication);
  CHECK(reply->props.text(property_id::authentication_method) == "SCRAM-TEST");
  CHECK(data_of(reply->props) == "step-2");
  p.reply(server_auth(reason_code::continue_authentication, "SCRAM-TEST", "server-second"));
  reply = p.expect<tern::auth>();
  CHECK(data_of(reply->props) == "step-3");
  p.expect_no_event();
  CHECK(p.s.state() == session_state::connecting);
  p.reply(accepted_with("SCRAM-TEST", "server-final"));
  (void)p.expect_event<ev_connected>();
  CHECK(a.challenges == std::vector<std::optional<std::string>>{"server-first", "server-second"});
  CHECK(a.finishes == std::vector<std::optional<std::string>>{"server-final"});
}

TEST_CASE("auth: the authenticator abandons the exchange [MQTT 4.12]") {
  test_authenticator a;
  a.refuse_challenge = reason_code::bad_authentication_method;
  session_config c = auth_config(&a);
  c.retry_first_connection = true;
  session_peer p(c);
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(server_auth(reason_code::continue_authentication, "SCRAM-TEST", "?"));
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::authentication_failed);
  CHECK(d.code == reason_code::bad_authentication_method);
  CHECK_FALSE(d.reconnect_at);  // retrying would fail the same way
  CHECK(p.expect<tern::disconnect>()->code == reason_code::bad_authentication_method);
  p.expect_nothing();
  CHECK(p.s.state() == session_state::idle);
}

TEST_CASE("auth: the authenticator rejects the server's final data") {
  test_authenticator a;
  a.refuse_finish = reason_code::not_authorized;
  session_peer p(auth_config(&a));
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(accepted_with("SCRAM-TEST", "forged"));
  const auto d = p.expect_event<ev_disconnected>();  // never connected
  CHECK(d.cause == disconnect_cause::authentication_failed);
  CHECK(d.code == reason_code::not_authorized);
  CHECK(p.expect<tern::disconnect>()->code == reason_code::not_authorized);
  CHECK(a.finishes == std::vector<std::optional<std::string>>{"forged"});
}

TEST_CASE("auth: CONNACK failure codes end the attempt") {
  for (const reason_code code :
       {reason_code::bad_authentication_method, reason_code::not_authorized}) {
    test_authenticator a;
    session_peer p(auth_config(&a));
    p.start();
    (void)p.expect<tern::connect>();
    tern::connack refused;
    refused.code = code;
    p.reply(refused);
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::connection_refused);
    CHECK(d.code == code);
    CHECK(a.finishes.empty());
  }
}

TEST_CASE("auth: a method other than ours is a protocol error [MQTT-4.12.0-5]") {
  SUBCASE("in AUTH") {
    test_authenticator a;
    session_peer p(auth_config(&a));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(server_auth(reason_code::continue_authentication, "OTHER", "x"));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
    CHECK(a.challenges.empty());
  }
  SUBCASE("in CONNACK") {
    test_authenticator a;
    session_peer p(auth_config(&a));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(accepted_with("OTHER", "x"));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
  }
  SUBCASE("a method in CONNACK when we sent none") {
    session_peer p(auth_config(nullptr));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(accepted_with("SCRAM-TEST", "x"));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
  }
  SUBCASE("AUTH Success instead of CONNACK") {
    test_authenticator a;
    session_peer p(auth_config(&a));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(server_auth(reason_code::success, "SCRAM-TEST", ""));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
  }
}

TEST_CASE("auth: re-authentication [MQTT 4.12.1]") {
  test_authenticator a;
  a.replies = {"first-reply", "reauth-reply"};
  session_peer p(auth_config(&a));
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(accepted_with("SCRAM-TEST", "ok"));
  (void)p.expect_event<ev_connected>();

  REQUIRE(p.s.reauthenticate(p.now).has_value());
  p.pump();
  const auto start = p.expect<tern::auth>();
  CHECK(start->code == reason_code::re_authenticate);
  CHECK(start->props.text(property_id::authentication_method) == "SCRAM-TEST");
  CHECK(data_of(start->props) == "client-again");
  CHECK(a.initial_calls == std::vector<bool>{false, true});
  CHECK(p.s.reauthenticate(p.now).error() == errc::invalid_state);  // one at a time

  // Traffic goes on during the exchange.
  (void)p.publish("t", "during");
  (void)p.expect<tern::publish>();

  p.reply(server_auth(reason_code::continue_authentication, "SCRAM-TEST", "challenge"));
  CHECK(data_of(p.expect<tern::auth>()->props) == "first-reply");
  const std::array<property, 3> done{
      property::string(property_id::authentication_method, "SCRAM-TEST"),
      property::binary_data(property_id::authentication_data, as_bytes(std::string_view("proof"))),
      property::user("k", "v")};
  p.reply(tern::auth{reason_code::success, done});
  (void)p.expect_event<ev_completed>();  // the QoS 0 publish
  const auto ev = p.expect_event<ev_reauthenticated>();
  CHECK(ev.props.size() == 3);
  CHECK(a.finishes.back() == "proof");
  CHECK(p.s.is_connected());
  // And again later.
  REQUIRE(p.s.reauthenticate(p.now).has_value());
}

TEST_CASE("auth: re-authentication rejected by the authenticator ends the connection") {
  test_authenticator a;
  a.refuse_finish = std::nullopt;
  session_peer p(auth_config(&a));
  p.start();
  (void)p.expect<tern::connect>();
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  REQUIRE(p.s.reauthenticate(p.now).has_value());
  p.pump();
  (void)p.expect<tern::auth>();
  a.refuse_finish = reason_code::not_authorized;
  p.reply(server_auth(reason_code::success, "SCRAM-TEST", "bad-proof"));
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::authentication_failed);
  CHECK(p.expect<tern::disconnect>()->code == reason_code::not_authorized);
}

TEST_CASE("auth: commands and states that do not allow it") {
  SUBCASE("reauthenticate() without an authenticator, or before 5.0") {
    session_peer p(auth_config(nullptr));
    (void)p.connect_with();
    CHECK(p.s.reauthenticate(p.now).error() == errc::unsupported_by_version);
    session_peer old(test_config(v::v3_1_1));
    (void)old.connect_with();
    CHECK(old.s.reauthenticate(old.now).error() == errc::unsupported_by_version);
  }
  SUBCASE("reauthenticate() while not connected") {
    test_authenticator a;
    session_peer p(auth_config(&a));
    CHECK(p.s.reauthenticate(p.now).error() == errc::invalid_state);
  }
  SUBCASE("an authenticator with 3.1.1") {
    test_authenticator a;
    session_config c = auth_config(&a);
    c.version = v::v3_1_1;
    session_peer p(c);
    CHECK(p.s.connect(p.now).error() == errc::unsupported_by_version);
  }
  SUBCASE("AUTH Continue while connected and no re-authentication runs") {
    test_authenticator a;
    session_peer p(auth_config(&a));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(tern::connack{});
    (void)p.expect_event<ev_connected>();
    p.reply(server_auth(reason_code::continue_authentication, "SCRAM-TEST", "x"));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
    CHECK(a.challenges.empty());
  }
}

TEST_CASE("auth: a malformed AUTH during the exchange is a protocol error") {
  test_authenticator a;
  session_peer p(auth_config(&a));
  p.start();
  (void)p.expect<tern::connect>();
  p.raw(R"(
    f0 07     // AUTH
    18        // Continue authentication
    05        // property length 5
    16 00 02 68 69  // Authentication Data "hi" without an Authentication Method
  )");
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::protocol_error);
  REQUIRE(d.error);
  CHECK(d.error->code == decode_errc::authentication_data_without_method);
  CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
  CHECK(a.challenges.empty());
}
