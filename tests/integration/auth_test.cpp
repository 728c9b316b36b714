// User name and password against mosquitto's password listener (mosquitto_passwd file,
// allow_anonymous false, per_listener_settings true), MQTT 3.1.1 and 5.0: the right password
// connects; a wrong one, or none, is refused with the reason code the broker sent, reported by
// on_connect and by the one-shot helpers as an error in tern::reason_category().
//
// What mosquitto 2.0.11 sends for a wrong password: 3.1.1 CONNACK return code 5 (not
// authorised, which the client reports as 0x87) and 5.0 reason code 0x87 — not 4 / 0x86. The
// 3.1.1 return code 4 (bad user name or password → 0x86) is checked against aedes in
// websocket_test.cpp.
#include <string>

#include "integration/fixture.hpp"
#include "tern/oneshot.hpp"

using namespace tern;
using namespace tern::it;

namespace {

// Connects with `credentials` and returns the refusal on_connect reported, or success.
reason_code connect_with(protocol_version v, std::uint16_t port,
                         std::optional<std::pair<std::string, std::string>> credentials,
                         const std::string& id) {
  client c(client_options{id, v});
  recorder r;
  r.attach(c);
  if (credentials) c.username_pw_set(credentials->first, credentials->second);
  const std::error_code ec = c.connect(loopback, port, 10s);
  REQUIRE_MESSAGE(!ec, ec.message());
  REQUIRE_FALSE(c.loop_start());
  REQUIRE(r.wait([&] { return r.connects > 0 || !r.refusals.empty(); }));
  reason_code result = reason_code::success;
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    if (!r.refusals.empty()) result = r.refusals.front();
  }
  if (result == reason_code::success) {
    CHECK(c.is_connected());
    CHECK(c.publish("auth/ok", "in", qos::at_least_once).wait_for_publish(patience));
    CHECK_FALSE(c.disconnect());
  } else {
    // Refused: on_disconnect follows on_connect, and the client is not connected.
    CHECK(r.wait([&] { return r.disconnects > 0; }));
    CHECK_FALSE(c.is_connected());
  }
  CHECK_FALSE(c.loop_stop());
  return result;
}

}  // namespace

TEST_CASE("password: the right one connects, a wrong one or none is refused with the broker's code") {
  broker_options bo;
  bo.auth = true;
  broker b(bo);
  b.start();
  for_each_version([&](protocol_version v) {
    const std::string t = tag_of(v);
    CHECK(connect_with(v, b.auth_port(), std::make_pair(std::string(user_name), std::string(user_password)),
                       "it-auth-ok-" + t) == reason_code::success);

    const reason_code wrong = connect_with(
        v, b.auth_port(), std::make_pair(std::string(user_name), std::string("wrong password")),
        "it-auth-wrong-" + t);
    CAPTURE(name(wrong));
    if (v == protocol_version::v3_1_1) {
      CHECK(wrong == reason_code::not_authorized);  // CONNACK return code 5 from mosquitto
    } else {
      CHECK((wrong == reason_code::bad_user_name_or_password ||
             wrong == reason_code::not_authorized));
    }

    const reason_code unknown = connect_with(
        v, b.auth_port(), std::make_pair(std::string("nobody"), std::string(user_password)),
        "it-auth-unknown-" + t);
    CHECK(is_failure(unknown));

    const reason_code anonymous = connect_with(v, b.auth_port(), std::nullopt, "it-auth-anon-" + t);
    CHECK(anonymous == reason_code::not_authorized);

    // The anonymous listener of the same broker does not care.
    CHECK(connect_with(v, b.port(), std::nullopt, "it-auth-open-" + t) == reason_code::success);
  });
}

TEST_CASE("password: a refused CONNACK is final; the loop does not hammer the broker") {
  broker_options bo;
  bo.auth = true;
  broker b(bo);
  b.start();
  for_each_version([&](protocol_version v) {
    client c(client_options{"it-auth-final-" + tag_of(v), v});
    c.reconnect_delay_set(10ms, 20ms);
    recorder r;
    r.attach(c);
    c.username_pw_set(user_name, "wrong password");
    REQUIRE_FALSE(c.connect(loopback, b.auth_port(), 10s));
    REQUIRE_FALSE(c.loop_start());
    REQUIRE(r.wait([&] { return !r.refusals.empty(); }));
    std::this_thread::sleep_for(300ms);  // many reconnection delays
    {
      const std::lock_guard<std::mutex> lock(r.mu);
      CHECK(r.refusals.size() == 1);
      CHECK(r.connects == 0);
    }
    CHECK_FALSE(c.loop_stop());
  });
}

TEST_CASE("password: the one-shot helpers return the broker's reason code as the error") {
  broker_options bo;
  bo.auth = true;
  broker b(bo);
  b.start();
  for_each_version([&](protocol_version v) {
    oneshot_options o;
    o.host = loopback;
    o.port = b.auth_port();
    o.version = v;
    o.timeout = 10s;
    o.auth = std::make_pair(std::string(user_name), std::string(user_password));
    CHECK_FALSE(publish_single("auth/oneshot", "right", qos::at_least_once, false, o));

    o.auth = std::make_pair(std::string(user_name), std::string("wrong password"));
    const std::error_code ec = publish_single("auth/oneshot", "wrong", qos::at_least_once, false, o);
    CAPTURE(ec.message());
    CHECK(ec.category() == reason_category());
    CHECK((ec == reason_code::not_authorized || ec == reason_code::bad_user_name_or_password));
    std::vector<owned_message> out;
    const std::error_code sec = subscribe_simple({"auth/#"}, qos::at_least_once, 1, true, out, o);
    CHECK(sec == ec);
    CHECK(out.empty());
  });
}
