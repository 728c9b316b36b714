// Connections through real proxies started on loopback, MQTT 3.1.1 and 5.0: SOCKS5 with
// microsocks (without and with RFC 1929 username/password; wrong credentials refused as
// proxy_auth_failed), HTTP CONNECT with tinyproxy (a port it does not allow refused as
// proxy_refused), TLS through a proxy (the certificate is still checked for the broker's
// name), one-shot helpers through a proxy, a proxy taken from ALL_PROXY, and — with the proxy
// stopped — no connection at all (the client dials the proxy, never the broker directly).
#include <stdlib.h>

#include <string>

#include "integration/fixture.hpp"
#include "tern/net/error.hpp"
#include "tern/net/proxy.hpp"
#include "tern/oneshot.hpp"

using namespace tern;
using namespace tern::it;

namespace {

net::proxy_options socks(std::uint16_t port, std::string user = {}, std::string password = {}) {
  net::proxy_options p;
  p.type = net::proxy_type::socks5;
  p.host = loopback;
  p.port = port;
  p.username = std::move(user);
  p.password = std::move(password);
  return p;
}

net::proxy_options http(std::uint16_t port) {
  net::proxy_options p;
  p.type = net::proxy_type::http;
  p.host = loopback;
  p.port = port;
  return p;
}

// A QoS 1 and a QoS 2 message to itself through the proxied connection.
void round_trip_through(const net::proxy_options& proxy, std::uint16_t broker_port,
                        protocol_version v, const std::string& id) {
  client c(client_options{id, v});
  recorder r;
  r.attach(c);
  c.proxy_set(proxy);
  connect_and_start(c, r, broker_port);
  CHECK(subscribe_and_wait(c, r, "proxy/#", qos::exactly_once) == reason_code::granted_qos_2);
  const std::vector<std::byte> payload = pattern_bytes(200 * 1024, 3);
  CHECK(c.publish("proxy/1", "through the proxy", qos::at_least_once).wait_for_publish(patience));
  CHECK(c.publish("proxy/2", bytes_view(payload), qos::exactly_once).wait_for_publish(patience));
  REQUIRE(r.wait([&] { return r.messages.size() == 2; }));
  CHECK(r.messages_on("proxy/1").front().payload_text() == "through the proxy");
  CHECK(r.messages_on("proxy/2").front().payload == payload);
  disconnect_and_stop(c);
}

// With the proxy gone, a client configured for it cannot connect: it dials the proxy, not the
// broker.
void expect_no_route(const net::proxy_options& proxy, std::uint16_t broker_port) {
  client c(client_options{"it-proxy-gone"});
  c.proxy_set(proxy);
  const std::error_code ec = c.connect(loopback, broker_port, 10s);
  CAPTURE(ec.message());
  CHECK(ec);
  CHECK_FALSE(c.is_connected());
}

}  // namespace

TEST_CASE("proxy: SOCKS5 (microsocks) without authentication") {
  broker b;
  b.start();
  microsocks proxy;
  proxy.start();
  for_each_version([&](protocol_version v) {
    round_trip_through(socks(proxy.port()), b.port(), v, "it-socks-" + tag_of(v));
  });
  proxy.stop();
  expect_no_route(socks(proxy.port()), b.port());
}

TEST_CASE("proxy: SOCKS5 (microsocks) with username and password") {
  broker b;
  b.start();
  microsocks proxy;
  proxy.start(std::make_pair(std::string(proxy_user), std::string(proxy_password)));

  for_each_version([&](protocol_version v) {
    round_trip_through(socks(proxy.port(), proxy_user, proxy_password), b.port(), v,
                       "it-socks-auth-" + tag_of(v));
  });

  SUBCASE("wrong credentials: proxy_auth_failed") {
    client c(client_options{"it-socks-wrong"});
    recorder r;
    r.attach(c);
    c.proxy_set(socks(proxy.port(), proxy_user, "wrong"));
    const std::error_code ec = c.connect(loopback, b.port(), 10s);
    CAPTURE(ec.message());
    CHECK(ec == net::net_errc::proxy_auth_failed);
    CHECK_FALSE(c.is_connected());
  }
  SUBCASE("no credentials for a proxy that needs them: refused") {
    client c(client_options{"it-socks-none"});
    recorder r;
    r.attach(c);
    c.proxy_set(socks(proxy.port()));
    const std::error_code ec = c.connect(loopback, b.port(), 10s);
    CAPTURE(ec.message());
    CHECK(ec.category() == net::net_category());
    CHECK((ec == net::net_errc::proxy_auth_failed || ec == net::net_errc::proxy_refused));
  }
}

TEST_CASE("proxy: HTTP CONNECT (tinyproxy)") {
  broker_options bo;
  bo.tls = true;
  broker b(bo);
  b.start();
  tinyproxy proxy;
  proxy.start({b.port(), b.tls_port()});

  for_each_version([&](protocol_version v) {
    round_trip_through(http(proxy.port()), b.port(), v, "it-http-" + tag_of(v));
  });
  SUBCASE("the client dials the proxy, not the broker") {
    proxy.stop();
    expect_no_route(http(proxy.port()), b.port());
  }

  SUBCASE("TLS through the tunnel, verified for the broker") {
    for_each_version([&](protocol_version v) {
      client c(client_options{"it-http-tls-" + tag_of(v), v});
      recorder r;
      r.attach(c);
      net::tls_options t;
      t.ca_file = pki::get().ca();
      c.tls_set(t);
      c.proxy_set(http(proxy.port()));
      connect_and_start(c, r, b.tls_port());
      CHECK(c.publish("proxy/tls", "secret", qos::at_least_once).wait_for_publish(patience));
      disconnect_and_stop(c);
    });
  }
  SUBCASE("a port the proxy does not allow: proxy_refused") {
    client c(client_options{"it-http-refused"});
    recorder r;
    r.attach(c);
    c.proxy_set(http(proxy.port()));
    const std::error_code ec = c.connect(loopback, b.mtls_port(), 10s);  // not a ConnectPort
    CAPTURE(ec.message());
    CHECK(ec == net::net_errc::proxy_refused);
    CHECK_FALSE(c.is_connected());
  }
  SUBCASE("one-shot helpers through the proxy") {
    oneshot_options o;
    o.host = loopback;
    o.port = b.port();
    o.timeout = 10s;
    o.proxy = http(proxy.port());
    CHECK_FALSE(publish_single("proxy/oneshot", "kept", qos::at_least_once, true, o));
    std::vector<owned_message> out;
    CHECK_FALSE(subscribe_simple({"proxy/oneshot"}, qos::at_least_once, 1, true, out, o));
    REQUIRE(out.size() == 1);
    CHECK(out.front().payload_text() == "kept");
  }
}

TEST_CASE("proxy: taken from ALL_PROXY when asked to") {
  broker b;
  b.start();
  microsocks proxy;
  proxy.start(std::make_pair(std::string(proxy_user), std::string(proxy_password)));
  // setenv() while no other thread of this process reads the environment: no loop runs yet.
  // The password has a space, percent-encoded in the URL.
  const std::string url = "socks5h://" + std::string(proxy_user) + ":proxy%20pass@127.0.0.1:" +
                          std::to_string(proxy.port());
  client c(client_options{"it-proxy-env"});
  recorder r;
  r.attach(c);
  c.proxy_from_environment(true);
  ::setenv("ALL_PROXY", url.c_str(), 1);
  const std::error_code ec = c.connect(loopback, b.port(), 10s);
  ::unsetenv("ALL_PROXY");
  CAPTURE(url);
  CAPTURE(ec.message());
  REQUIRE_FALSE(ec);
  REQUIRE_FALSE(c.loop_start());
  REQUIRE(r.wait([&] { return r.connects == 1; }));
  CHECK(c.publish("proxy/env", "via ALL_PROXY", qos::at_least_once).wait_for_publish(patience));
  disconnect_and_stop(c);
}
