// MQTT over WebSocket against real servers (node; skipped when `node` is absent):
//   * MQTT 3.1.1 with aedes (npm aedes + aedes-server-factory) over ws:// and wss://;
//   * MQTT 5.0 with mosquitto behind a WebSocket-to-TCP bridge (npm ws) over ws:// and wss://;
// round trips at QoS 0/1/2 with payloads of 0 B, 1 B, 64 KiB and 1 MiB, connect_url("ws://...",
// "wss://..."), the one-shot helpers over ws://, wss:// refusing an unknown CA, and aedes
// refusing a wrong password with 3.1.1 CONNACK return code 4, which the client reports as 0x86
// bad_user_name_or_password.
#include <string>
#include <vector>

#include "integration/fixture.hpp"
#include "tern/net/error.hpp"
#include "tern/oneshot.hpp"

using namespace tern;
using namespace tern::it;

namespace {

net::tls_options trusting_test_ca() {
  net::tls_options o;
  o.ca_file = pki::get().ca();
  return o;
}

// Subscribes to `prefix`/#, publishes QoS 0/1/2 × sizes to itself, checks every byte.
void websocket_round_trip(client& c, recorder& r, const std::string& prefix) {
  CHECK(subscribe_and_wait(c, r, prefix + "/#", qos::exactly_once) == reason_code::granted_qos_2);
  struct sent {
    std::string topic;
    std::vector<std::byte> payload;
    qos q;
  };
  std::vector<sent> all;
  std::uint64_t seed = 11;
  for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
    for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{64} * 1024,
                                   std::size_t{1024} * 1024}) {
      all.push_back({prefix + "/q" + std::to_string(static_cast<int>(q)) + "/" + std::to_string(size),
                     pattern_bytes(size, seed++), q});
    }
  }
  for (const auto& s : all) {
    CAPTURE(s.topic);
    CHECK(c.publish(s.topic, bytes_view(s.payload), s.q).wait_for_publish(patience));
  }
  REQUIRE_MESSAGE(r.wait([&] { return r.messages.size() >= all.size(); }),
                  "received " << r.message_count() << " of " << all.size() << "\n" << r.all_logs());
  for (const auto& s : all) {
    CAPTURE(s.topic);
    const auto got = r.messages_on(s.topic);
    REQUIRE(got.size() == 1);
    CHECK(got.front().q == s.q);
    CHECK(got.front().payload == s.payload);
  }
}

}  // namespace

TEST_CASE("WebSocket: MQTT 3.1.1 with aedes over ws:// and wss://" * needs_node()) {
  ws_servers servers;
  ws_server_options o;
  o.aedes = true;
  o.tls = true;
  servers.start(o);

  SUBCASE("ws://") {
    client c(client_options{"it-ws-aedes", protocol_version::v3_1_1, transport_kind::websockets});
    recorder r;
    r.attach(c);
    connect_and_start(c, r, servers.aedes_ws());
    websocket_round_trip(c, r, "ws311");
    disconnect_and_stop(c);
  }
  SUBCASE("wss://") {
    client c(client_options{"it-wss-aedes", protocol_version::v3_1_1, transport_kind::websockets});
    recorder r;
    r.attach(c);
    c.tls_set(trusting_test_ca());
    connect_and_start(c, r, servers.aedes_wss());
    websocket_round_trip(c, r, "wss311");
    disconnect_and_stop(c);
  }
  SUBCASE("connect_url ws:// and wss://localhost") {
    for (const bool secure : {false, true}) {
      CAPTURE(secure);
      client c(client_options{"it-ws-url", protocol_version::v3_1_1});
      recorder r;
      r.attach(c);
      if (secure) c.tls_set(trusting_test_ca());
      const std::string url = secure ? "wss://localhost:" + std::to_string(servers.aedes_wss()) + "/mqtt"
                                     : "ws://127.0.0.1:" + std::to_string(servers.aedes_ws()) + "/mqtt";
      const std::error_code ec = c.connect_url(url, 10s);
      REQUIRE_MESSAGE(!ec, url << ": " << ec.message() << "\n" << r.all_logs());
      REQUIRE_FALSE(c.loop_start());
      REQUIRE(r.wait([&] { return r.connects == 1; }));
      CHECK(subscribe_and_wait(c, r, "url/x", qos::at_least_once) == reason_code::granted_qos_1);
      CHECK(c.publish("url/x", url, qos::at_least_once).wait_for_publish(patience));
      REQUIRE(r.wait([&] { return r.messages.size() == 1; }));
      CHECK(r.messages_on("url/x").front().payload_text() == url);
      disconnect_and_stop(c);
    }
  }
  SUBCASE("one-shot helpers over ws://") {
    oneshot_options one;
    one.host = loopback;
    one.port = servers.aedes_ws();
    one.version = protocol_version::v3_1_1;
    one.transport = transport_kind::websockets;
    one.timeout = 10s;
    CHECK_FALSE(publish_single("ws-oneshot/kept", "retained over ws", qos::at_least_once, true, one));
    std::vector<owned_message> out;
    CHECK_FALSE(subscribe_simple({"ws-oneshot/#"}, qos::at_least_once, 1, true, out, one));
    REQUIRE(out.size() == 1);
    CHECK(out.front().payload_text() == "retained over ws");
    CHECK(out.front().retain);
  }
}

TEST_CASE("WebSocket: MQTT 5.0 to mosquitto through a ws:// and wss:// bridge" * needs_node()) {
  broker b;
  b.start();
  ws_servers servers;
  ws_server_options o;
  o.bridge_target = b.port();
  o.tls = true;
  servers.start(o);

  SUBCASE("ws://") {
    client c(client_options{"it-ws-bridge", protocol_version::v5, transport_kind::websockets});
    recorder r;
    r.attach(c);
    connect_and_start(c, r, servers.bridge_ws());
    websocket_round_trip(c, r, "ws5");
    disconnect_and_stop(c);
  }
  SUBCASE("wss://, with a path and extra headers") {
    client c(client_options{"it-wss-bridge", protocol_version::v5});
    recorder r;
    r.attach(c);
    c.ws_set_options("/any/path", {{"X-Tern-Test", "1"}});
    c.tls_set(trusting_test_ca());
    connect_and_start(c, r, servers.bridge_wss(), "localhost");
    websocket_round_trip(c, r, "wss5");
    disconnect_and_stop(c);
  }
  SUBCASE("wss:// refuses a server certificate from an unknown CA") {
    client c(client_options{"it-wss-rogue", protocol_version::v5, transport_kind::websockets});
    recorder r;
    r.attach(c);
    net::tls_options t;
    t.ca_file = pki::get().rogue_ca();
    c.tls_set(t);
    const std::error_code ec = c.connect(loopback, servers.bridge_wss(), 10s);
    CAPTURE(ec.message());
    CHECK(ec == net::net_errc::tls_certificate_invalid);
  }
}

TEST_CASE("WebSocket: aedes refuses a wrong password with CONNACK 4, reported as 0x86" * needs_node()) {
  ws_servers servers;
  ws_server_options o;
  o.aedes = true;
  o.aedes_auth = true;
  servers.start(o);

  {
    client c(client_options{"it-ws-auth-ok", protocol_version::v3_1_1, transport_kind::websockets});
    recorder r;
    r.attach(c);
    c.username_pw_set(user_name, user_password);
    connect_and_start(c, r, servers.aedes_ws());
    disconnect_and_stop(c);
  }
  client c(client_options{"it-ws-auth-wrong", protocol_version::v3_1_1, transport_kind::websockets});
  recorder r;
  r.attach(c);
  c.username_pw_set(user_name, "wrong password");
  REQUIRE_FALSE(c.connect(loopback, servers.aedes_ws(), 10s));
  REQUIRE_FALSE(c.loop_start());
  REQUIRE(r.wait([&] { return !r.refusals.empty(); }));
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    CHECK(r.refusals.front() == reason_code::bad_user_name_or_password);
    CHECK(r.connects == 0);
  }
  CHECK_FALSE(c.loop_stop());

  oneshot_options one;
  one.host = loopback;
  one.port = servers.aedes_ws();
  one.version = protocol_version::v3_1_1;
  one.transport = transport_kind::websockets;
  one.timeout = 10s;
  one.auth = std::make_pair(std::string(user_name), std::string("wrong password"));
  const std::error_code ec = publish_single("x", "y", qos::at_most_once, false, one);
  CAPTURE(ec.message());
  CHECK(ec == reason_code::bad_user_name_or_password);
}
