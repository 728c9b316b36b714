// The session's connection handshake: what CONNECT carries, the clean-start policies, every way
// CONNACK can refuse, the CONNACK timeout, what may (not) come before CONNACK, the Assigned
// Client Identifier, and the server limits CONNACK announces, which commands must respect.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

// A CONNACK refusing with `code` (and, in 5.0, `props`).
tern::connack refusal(reason_code code, properties props = {}) {
  tern::connack a;
  a.code = code;
  a.props = props;
  return a;
}
}  // namespace

TEST_CASE("connect: a minimal 3.1.1 CONNECT, byte by byte [MQTT 3.1]") {
  session_config c = test_config(v::v3_1_1);
  c.client_id = "ab";
  c.keep_alive = 10s;
  session_peer p(c);
  p.start();
  p.expect_bytes(R"(
    10           // CONNECT
    0e           // remaining length 14
    00 04 4d 51 54 54  // protocol name "MQTT"
    04           // protocol level 4 (3.1.1)
    02           // connect flags: Clean Session
    00 0a        // keep alive 10 s
    00 02 61 62  // client identifier "ab"
  )");
  p.expect_nothing();
}

TEST_CASE("connect: CONNECT carries every option of the configuration [MQTT 3.1.2]") {
  const v version = each_version();
  const std::array<property, 1> will_props{property::integer(property_id::will_delay_interval, 7)};
  const std::array<property, 2> user{property::user("k", "v"), property::user("k", "w")};
  session_config c = test_config(version);
  c.client_id = "client-1";
  c.keep_alive = 25s;
  c.username = "user";
  c.password = text_bytes("secret");
  will_message will;
  will.topic = "last/will";
  will.payload = text_bytes("gone");
  will.q = qos::at_least_once;
  will.retain = true;
  if (version == v::v5) will.props = will_props;
  c.will = will;
  c.session_expiry_interval = 3600;
  c.receive_maximum = 10;
  c.maximum_packet_size = 4096;
  c.topic_alias_maximum = 5;
  c.request_response_information = true;
  c.request_problem_information = false;
  c.user_properties = user;
  if (version != v::v5) {  // these are 5.0 CONNECT properties: 3.1.1 has no place for them
    c.session_expiry_interval = 0;
    c.receive_maximum = 65'535;
    c.maximum_packet_size = 0;
    c.topic_alias_maximum = 0;
    c.request_response_information = false;
    c.request_problem_information = true;
    c.user_properties = {};
  }

  // The session copies the configuration's strings: the caller's may go away.
  std::string id_storage = "client-1";
  c.client_id = id_storage;
  session_peer p(c);
  id_storage.assign("XXXXXXXX");

  p.start();
  const auto got = p.expect<tern::connect>();
  CHECK(got->version == version);
  CHECK(got->clean_start);
  CHECK(got->keep_alive == 25);
  CHECK(str(got->client_id) == "client-1");
  REQUIRE(got->username);
  CHECK(str(*got->username) == "user");
  REQUIRE(got->password);
  CHECK(str(as_chars(*got->password)) == "secret");
  REQUIRE(got->will);
  CHECK(str(got->will->topic) == "last/will");
  CHECK(str(as_chars(got->will->payload)) == "gone");
  CHECK(got->will->q == qos::at_least_once);
  CHECK(got->will->retain);
  if (version == v::v5) {
    CHECK(got->will->props.number(property_id::will_delay_interval) == 7u);
    const properties& props = got->props;
    CHECK(props.number(property_id::session_expiry_interval) == 3600u);
    CHECK(props.number(property_id::receive_maximum) == 10u);
    CHECK(props.number(property_id::maximum_packet_size) == 4096u);
    CHECK(props.number(property_id::topic_alias_maximum) == 5u);
    CHECK(props.number(property_id::request_response_information) == 1u);
    CHECK(props.number(property_id::request_problem_information) == 0u);
    std::vector<std::string> users;
    for (const property x : props)
      if (x.id == property_id::user_property) users.push_back(str(x.text) + "=" + str(x.value));
    CHECK(users == std::vector<std::string>{"k=v", "k=w"});  // in order, repeats kept
  } else {
    CHECK(got->props.empty());
  }
  p.expect_nothing();
}

TEST_CASE("connect: 5.0 defaults are left out of CONNECT [MQTT 3.1.2.11]") {
  session_peer p(test_config(v::v5));
  p.start();
  const auto got = p.expect<tern::connect>();
  CHECK(got->props.empty());  // expiry 0, Receive Maximum 65535, no limits, problem info 1
  CHECK_FALSE(got->username);
  CHECK_FALSE(got->password);
  CHECK_FALSE(got->will);
}

TEST_CASE("connect: connect() twice, and configurations CONNECT cannot carry") {
  const v version = each_version();
  SUBCASE("a second connect() is invalid_state and changes nothing") {
    session_peer p(test_config(version));
    p.start();
    CHECK(p.s.connect(p.now).error() == errc::invalid_state);
    (void)p.expect<tern::connect>();
    p.expect_nothing();
    CHECK(p.actions().size() == 1);
  }
  SUBCASE("3.1.1 without a client id needs a clean session [MQTT-3.1.3-7]") {
    session_config c = test_config(version);
    c.client_id = "";
    c.clean_start = clean_start_policy::first_only;
    session_peer p(c);
    if (version == v::v5) {
      CHECK(p.s.connect(p.now).has_value());  // 5.0: the broker assigns one
    } else {
      CHECK(p.s.connect(p.now).error() == errc::invalid_connect);
      CHECK(p.s.state() == session_state::idle);
      p.pump();
      CHECK(p.actions().empty());
    }
  }
  SUBCASE("a Will topic with a wildcard is refused at connect()") {
    session_config c = test_config(version);
    will_message w;
    w.topic = "a/#";
    c.will = w;
    session_peer p(c);
    CHECK(p.s.connect(p.now).error() == errc::invalid_topic_name);
    CHECK(p.s.state() == session_state::idle);
  }
}

TEST_CASE("connect: clean start policies [MQTT-3.1.2-4] [MQTT-3.1.2-5]") {
  const v version = each_version();
  struct row {
    clean_start_policy policy;
    bool first, second;
  };
  for (const row r : {row{clean_start_policy::always, true, true},
                      row{clean_start_policy::first_only, true, false},
                      row{clean_start_policy::never, false, false}}) {
    CAPTURE(static_cast<int>(r.policy));
    session_config c = test_config(version);
    c.clean_start = r.policy;
    session_peer p(c);
    p.start();
    CHECK(p.expect<tern::connect>()->clean_start == r.first);
    tern::connack ack;
    ack.session_present = !r.first;
    p.reply(ack);
    (void)p.expect_event<ev_connected>();
    p.close();
    (void)p.expect_event<ev_disconnected>();
    ack.session_present = !r.second;
    const auto again = p.reconnect_with(ack);
    CHECK(again->clean_start == r.second);
  }
}

TEST_CASE("connect: every 3.1.1 CONNACK refusal ends the attempt [MQTT 3.2.2.3]") {
  struct row {
    std::uint8_t return_code;
    reason_code mapped;
    bool retried;  // Server unavailable may pass; the others need a new configuration
  };
  for (const row r : {row{0x01, reason_code::unsupported_protocol_version, false},
                      row{0x02, reason_code::client_identifier_not_valid, false},
                      row{0x03, reason_code::server_unavailable, true},
                      row{0x04, reason_code::bad_user_name_or_password, false},
                      row{0x05, reason_code::not_authorized, false}}) {
    CAPTURE(int{r.return_code});
    session_config c = test_config(v::v3_1_1);
    c.retry_first_connection = true;
    session_peer p(c);
    p.start();
    (void)p.expect<tern::connect>();
    std::vector<std::byte> bytes = hex("20 02 00 00");  // CONNACK, no flags, return code below
    bytes[3] = std::byte{r.return_code};
    p.reply_bytes(bytes);
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::connection_refused);
    CHECK(d.code == r.mapped);
    CHECK(d.reconnect_at.has_value() == r.retried);
    p.expect_nothing();  // 3.1.1: no DISCONNECT, the transport just closes
    REQUIRE(p.actions().size() == 2);
    CHECK(p.actions()[1].k == peer_action::kind::close);
    CHECK_FALSE(p.s.is_connected());
    CHECK(p.s.state() == (r.retried ? session_state::waiting : session_state::idle));
    p.expect_no_event();
  }
}

TEST_CASE("connect: 5.0 CONNACK refusals carry their code, reason string and properties") {
  for (const reason_code code :
       {reason_code::unspecified_error, reason_code::malformed_packet,
        reason_code::unsupported_protocol_version, reason_code::client_identifier_not_valid,
        reason_code::bad_user_name_or_password, reason_code::not_authorized,
        reason_code::server_unavailable, reason_code::server_busy, reason_code::banned,
        reason_code::bad_authentication_method, reason_code::quota_exceeded,
        reason_code::connection_rate_exceeded}) {
    CAPTURE(name(code));
    const std::array<property, 2> props{property::string(property_id::reason_string, "go away"),
                                        property::user("x", "y")};
    session_peer p(test_config(v::v5));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(refusal(code, props));
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::connection_refused);
    CHECK(d.code == code);
    CHECK(d.reason_string == "go away");
    CHECK(d.props.size() == 2);
    CHECK_FALSE(d.reconnect_at);  // the first attempt is not retried unless configured
    p.expect_nothing();
    CHECK(p.s.state() == session_state::idle);
  }
}

TEST_CASE("connect: no CONNACK within connect_timeout ends the attempt") {
  const v version = each_version();
  session_config c = test_config(version);
  c.connect_timeout = 7s;
  c.retry_first_connection = true;
  session_peer p(c);
  p.start();
  (void)p.expect<tern::connect>();
  const time_point opened = p.now;
  CHECK(p.s.poll_timeout() == opened + 7s);
  p.advance(6s);
  p.expect_no_event();
  p.advance(1s);
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::connect_timeout);
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.actions().back().at == opened + 7s);
  REQUIRE(d.reconnect_at);
  // The next attempt opens a transport again after the backoff.
  p.advance_to(*d.reconnect_at);
  CHECK(p.actions().back().k == peer_action::kind::open);
  (void)p.expect<tern::connect>();
}

TEST_CASE("connect: only CONNACK (or AUTH) may come first [MQTT-3.2.0-1]") {
  const v version = each_version();
  auto check_refused = [&](session_peer& p) {
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    CHECK(d.code == reason_code::protocol_error);
    if (version == v::v5) CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
    p.expect_nothing();
    CHECK(p.actions().back().k == peer_action::kind::close);
    CHECK_FALSE(p.s.is_connected());
  };
  SUBCASE("PUBLISH") {
    session_peer p(test_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(make_publish("t", "x"));
    check_refused(p);
    p.expect_no_event();  // the message is not delivered
  }
  SUBCASE("PINGRESP") {
    session_peer p(test_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(tern::pingresp{});
    check_refused(p);
  }
  SUBCASE("SUBACK") {
    session_peer p(test_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    const std::array<reason_code, 1> codes{reason_code::granted_qos_0};
    p.reply(tern::suback{1, codes, {}});
    check_refused(p);
  }
  SUBCASE("a second CONNACK") {
    session_peer p(test_config(version));
    (void)p.connect_with();
    p.reply(tern::connack{});
    check_refused(p);
  }
}

TEST_CASE("connect: AUTH before CONNACK is a protocol error without an authenticator [MQTT 4.12]") {
  session_peer p(test_config(v::v5));
  p.start();
  (void)p.expect<tern::connect>();
  const std::array<property, 1> props{property::string(property_id::authentication_method, "X")};
  p.reply(tern::auth{reason_code::continue_authentication, props});
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::protocol_error);
  CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
  p.expect_nothing();
}

TEST_CASE("connect: Session Present with a clean start is a protocol error [MQTT-3.2.2-2]") {
  const v version = each_version();
  session_peer p(test_config(version));
  p.start();
  CHECK(p.expect<tern::connect>()->clean_start);
  tern::connack ack;
  ack.session_present = true;
  p.reply(ack);
  const auto d = p.expect_event<ev_disconnected>();  // never "connected"
  CHECK(d.cause == disconnect_cause::protocol_error);
  if (version == v::v5) CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
  p.expect_nothing();
  CHECK_FALSE(p.s.is_connected());
}

TEST_CASE("connect: Assigned Client Identifier is used from then on [MQTT 3.2.2.3.7]") {
  session_config c = test_config(v::v5);
  c.client_id = "";
  c.session_expiry_interval = 300;
  session_peer p(c);
  p.start();
  CHECK(str(p.expect<tern::connect>()->client_id).empty());
  const std::array<property, 1> props{
      property::string(property_id::assigned_client_identifier, "auto-7f3a")};
  tern::connack ack;
  ack.props = props;
  p.reply(ack);
  const auto ok = p.expect_event<ev_connected>();
  CHECK(ok.assigned_client_id == "auto-7f3a");
  CHECK(str(p.s.client_id()) == "auto-7f3a");
  // A resumed session is found by its identifier: the reconnection must use the assigned one.
  p.close();
  (void)p.expect_event<ev_disconnected>();
  tern::connack resumed;
  resumed.session_present = true;
  const auto again = p.reconnect_with(resumed);
  CHECK_FALSE(again->clean_start);
  CHECK(str(again->client_id) == "auto-7f3a");
}

TEST_CASE("connect: CONNACK properties reach the application and set the limits") {
  const std::array<property, 12> props{
      property::integer(property_id::receive_maximum, 3),
      property::integer(property_id::maximum_qos, 1),
      property::integer(property_id::retain_available, 0),
      property::integer(property_id::maximum_packet_size, 1000),
      property::integer(property_id::topic_alias_maximum, 4),
      property::integer(property_id::wildcard_subscription_available, 0),
      property::integer(property_id::subscription_identifier_available, 0),
      property::integer(property_id::shared_subscription_available, 0),
      property::integer(property_id::server_keep_alive, 5),
      property::integer(property_id::session_expiry_interval, 60),
      property::string(property_id::response_information, "resp/base"),
      property::user("broker", "test")};
  session_config c = test_config(v::v5);
  c.session_expiry_interval = 600;
  c.request_response_information = true;
  session_peer p(c);
  p.start();
  (void)p.expect<tern::connect>();
  tern::connack ack;
  ack.props = props;
  p.reply(ack);
  const auto ok = p.expect_event<ev_connected>();
  const server_limits& l = ok.limits;
  CHECK(l.receive_maximum == 3);
  CHECK(l.maximum_qos == qos::at_least_once);
  CHECK_FALSE(l.retain_available);
  CHECK(l.maximum_packet_size == 1000);
  CHECK(l.topic_alias_maximum == 4);
  CHECK_FALSE(l.wildcard_subscription_available);
  CHECK_FALSE(l.subscription_identifier_available);
  CHECK_FALSE(l.shared_subscription_available);
  CHECK(l.keep_alive == 5);
  CHECK(l.session_expiry_interval == 60);  // the broker's value wins
  CHECK(ok.props.text(property_id::response_information) == "resp/base");
  CHECK(ok.props.size() == 12);
  CHECK(p.s.limits().receive_maximum == 3);
}

TEST_CASE("connect: 3.1.1 and 5.0 defaults when CONNACK announces no limits") {
  const v version = each_version();
  session_config c = test_config(version);
  c.keep_alive = 42s;
  session_peer p(c);
  const auto ok = p.connect_with();
  CHECK(ok.limits.receive_maximum == 65'535);
  CHECK(ok.limits.maximum_qos == qos::exactly_once);
  CHECK(ok.limits.retain_available);
  CHECK(ok.limits.maximum_packet_size == max_packet_size_limit);
  CHECK(ok.limits.topic_alias_maximum == 0);
  CHECK(ok.limits.keep_alive == 42);
  CHECK(ok.session_present == false);
}

TEST_CASE(
    "connect: commands beyond the server's limits fail with a typed error and change "
    "nothing [MQTT 3.2.2.3]") {
  auto connected_with = [](session_peer& p, std::span<const property> props) {
    tern::connack ack;
    ack.props = properties(props);
    (void)p.connect_with(ack);
  };
  auto nothing_changed = [](session_peer& p) {
    p.expect_nothing();
    p.expect_no_event();
    CHECK(p.s.inflight() == 0);
    CHECK(p.s.queued() == 0);
    CHECK(p.s.transmit_size() == 0);
  };
  SUBCASE("Maximum QoS 0 and 1 [MQTT-3.2.2-11]") {
    for (const std::uint32_t max : {0u, 1u}) {
      const std::array<property, 1> props{property::integer(property_id::maximum_qos, max)};
      session_peer p(test_config(v::v5));
      connected_with(p, props);
      if (max == 0)
        CHECK(p.s.publish(make_publish("t", "x", qos::at_least_once), p.now).error() ==
              errc::qos_not_supported);
      CHECK(p.s.publish(make_publish("t", "x", qos::exactly_once), p.now).error() ==
            errc::qos_not_supported);
      p.pump();
      nothing_changed(p);
      // What the broker allows still goes, with the first packet identifier.
      (void)p.publish("t", "ok", static_cast<qos>(max));
      if (max == 1) CHECK(p.expect<tern::publish>()->packet_id == 1);
    }
  }
  SUBCASE("Retain Available 0 [MQTT-3.2.2-14]") {
    const std::array<property, 1> props{property::integer(property_id::retain_available, 0)};
    session_peer p(test_config(v::v5));
    connected_with(p, props);
    tern::publish m = make_publish("t", "x", qos::at_least_once);
    m.retain = true;
    CHECK(p.s.publish(m, p.now).error() == errc::retain_not_supported);
    p.pump();
    nothing_changed(p);
  }
  SUBCASE("Wildcard, Shared Subscription and Subscription Identifier availability") {
    const std::array<property, 3> props{
        property::integer(property_id::wildcard_subscription_available, 0),
        property::integer(property_id::shared_subscription_available, 0),
        property::integer(property_id::subscription_identifier_available, 0)};
    session_peer p(test_config(v::v5));
    connected_with(p, props);
    const std::array<subscription, 1> plus{subscription{"a/+/c", {}}};
    const std::array<subscription, 1> hash{subscription{"a/#", {}}};
    const std::array<subscription, 1> shared{subscription{"$share/g/a", {}}};
    const std::array<subscription, 1> plain{subscription{"a/b", {}}};
    const std::array<property, 1> sub_id{
        property::integer(property_id::subscription_identifier, 9)};
    CHECK(p.s.subscribe(plus, p.now).error() == errc::wildcard_subscriptions_not_supported);
    CHECK(p.s.subscribe(hash, p.now).error() == errc::wildcard_subscriptions_not_supported);
    CHECK(p.s.subscribe(shared, p.now).error() == errc::shared_subscriptions_not_supported);
    CHECK(p.s.subscribe(plain, p.now, properties(sub_id)).error() ==
          errc::subscription_identifiers_not_supported);
    p.pump();
    nothing_changed(p);
    // No packet identifier was used up by the refused requests.
    CHECK(p.subscribe(plain) == 1);
    CHECK(p.expect<tern::subscribe>()->packet_id == 1);
  }
}
