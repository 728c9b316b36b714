// tern::asio::client over TLS (asio::ssl) against mosquitto, and over WebSocket (the
// tern::net::websocket_layer) against the node servers: aedes for 3.1.1, a bridge in front of
// mosquitto for 5.0; ws:// and wss://.
#include <asio/ssl/context.hpp>

#include "helpers.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;

namespace {

std::shared_ptr<::asio::ssl::context> trusting_test_ca() {
  auto ctx = std::make_shared<::asio::ssl::context>(::asio::ssl::context::tls_client);
  ctx->load_verify_file(it::pki::get().ca());
  ctx->set_verify_mode(::asio::ssl::verify_peer);
  return ctx;
}

// Subscribes to `prefix`/#, then publishes to itself at QoS 0/1/2, small and large.
::asio::awaitable<void> round_trip(ta::client& c, std::string prefix) {
  co_await c.async_connect(use_awaitable);
  co_await c.async_subscribe(prefix + "/#", {.max_qos = qos::exactly_once}, use_awaitable);
  std::uint64_t seed = 7;
  for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
    for (const std::size_t size : {std::size_t{1}, std::size_t{200} * 1024}) {
      const std::string payload = payload_of(size, seed++);
      const ta::publish_result p = co_await c.async_publish(prefix + "/x", payload, q, use_awaitable);
      CHECK_FALSE(is_failure(p.code));
      const ta::received_message m = co_await c.async_receive(use_awaitable);
      CHECK(m.payload == payload);
      CHECK(m.q == q);
    }
  }
  co_await c.async_disconnect(use_awaitable);
}

}  // namespace

TEST_CASE("asio: TLS") {
  it::broker_options with_tls;
  with_tls.tls = true;
  it::broker b(with_tls);
  b.start();
  ::asio::io_context io;

  SUBCASE("verified round trip") {
    it::for_each_version([&](protocol_version v) {
      const std::string id = "asio-tls-" + it::tag_of(v);
      ta::client_options o = options_for(b.tls_port(), v, id);
      o.transport = ta::transport_kind::tls;
      o.tls_context = trusting_test_ca();
      ta::client c(io, o);
      run_coroutine(io, [&]() -> ::asio::awaitable<void> { co_await round_trip(c, "asio/tls"); });
    });
  }
  SUBCASE("a certificate for another name is refused") {
    const std::string id = "asio-tls-mismatch";
    ta::client_options o = options_for(b.mismatch_port(), protocol_version::v5, id);
    o.transport = ta::transport_kind::tls;
    o.tls_context = trusting_test_ca();
    ta::client c(io, o);
    std::optional<std::error_code> result;
    c.async_connect([&](std::error_code ec, const ta::connect_result&) { result = ec; });
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    CHECK(*result);
    CHECK(c.state() == session_state::idle);
  }
  SUBCASE("no TLS context") {
    const std::string id = "asio-tls-none";
    ta::client_options o = options_for(b.tls_port(), protocol_version::v5, id);
    o.transport = ta::transport_kind::tls;
    ta::client c(io, o);
    std::optional<std::error_code> result;
    c.async_connect([&](std::error_code ec, const ta::connect_result&) { result = ec; });
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    CHECK(*result == make_error_code(net::net_errc::invalid_options));
  }
}

TEST_CASE("asio: WebSocket" * it::needs_node()) {
  it::broker b;
  b.start();
  it::ws_servers servers;
  it::ws_server_options so;
  so.aedes = true;
  so.bridge_target = b.port();
  so.tls = true;
  servers.start(so);
  ::asio::io_context io;

  it::for_each_version([&](protocol_version v) {
    const bool v5 = v == protocol_version::v5;
    const std::string id = "asio-ws-" + it::tag_of(v);
    {
      ta::client_options o = options_for(v5 ? servers.bridge_ws() : servers.aedes_ws(), v, id);
      o.transport = ta::transport_kind::websocket;
      ta::client c(io, o);
      run_coroutine(io, [&]() -> ::asio::awaitable<void> { co_await round_trip(c, "asio/ws"); });
    }
    {
      ta::client_options o = options_for(v5 ? servers.bridge_wss() : servers.aedes_wss(), v, id);
      o.transport = ta::transport_kind::websocket_tls;
      o.tls_context = trusting_test_ca();
      ta::client c(io, o);
      run_coroutine(io, [&]() -> ::asio::awaitable<void> { co_await round_trip(c, "asio/wss"); });
    }
  });
}
