// tern::asio::client over TLS (asio::ssl) against mosquitto, and over WebSocket (the
// tern::net::websocket_layer) against the node servers: aedes for 3.1.1, a bridge in front of
// mosquitto for 5.0; ws:// and wss://.
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

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
      const ta::publish_result p =
          co_await c.async_publish(prefix + "/x", payload, q, use_awaitable);
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

// mosquitto logs "disconnected" only for a DISCONNECT packet; a connection closed without one
// is logged otherwise (and would publish the Will).
TEST_CASE("asio: async_disconnect over WebSocket delivers the DISCONNECT" * it::needs_node()) {
  it::broker b;
  b.start();
  it::ws_servers servers;
  it::ws_server_options so;
  so.bridge_target = b.port();
  servers.start(so);
  ::asio::io_context io;
  const std::string id = "asio-ws-goodbye";
  ta::client_options o = options_for(servers.bridge_ws(), protocol_version::v5, id);
  o.transport = ta::transport_kind::websocket;
  ta::client c(io, o);
  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    co_await c.async_connect(use_awaitable);
    co_await c.async_disconnect(use_awaitable);
  });
  const auto logged = [&] {
    return b.log().find("Client " + id + " disconnected.") != std::string::npos;
  };
  // The goodbye runs on after async_disconnect completed: keep the io_context running.
  const auto until = std::chrono::steady_clock::now() + 5s;
  io.restart();
  while (!logged() && std::chrono::steady_clock::now() < until) io.run_for(10ms);
  CHECK_MESSAGE(logged(), b.log());
}

// A broker of the test's own reads past the DISCONNECT: a clean TLS close (close_notify) reads
// as end of stream, a TCP close without one as a truncated stream.
TEST_CASE("asio: async_disconnect over TLS ends with close_notify") {
  using tcp = ::asio::ip::tcp;
  ::asio::io_context io;
  const it::pki& p = it::pki::get();
  ::asio::ssl::context server_tls(::asio::ssl::context::tls_server);
  server_tls.use_certificate_chain_file(p.server_cert());
  server_tls.use_private_key_file(p.server_key(), ::asio::ssl::context::pem);
  tcp::acceptor acceptor(io, tcp::endpoint(::asio::ip::make_address(it::loopback), 0));
  ::asio::ssl::stream<tcp::socket> server(io, server_tls);
  std::optional<std::error_code> after_disconnect;
  ::asio::co_spawn(
      io,
      [&]() -> ::asio::awaitable<void> {
        co_await acceptor.async_accept(server.next_layer(), use_awaitable);
        co_await server.async_handshake(::asio::ssl::stream_base::server, use_awaitable);
        const std::vector<std::uint8_t> connect = co_await read_packet(server);
        CHECK(connect.at(0) == 0x10);  // CONNECT
        co_await ::asio::async_write(server, ::asio::buffer(connack_accepted), use_awaitable);
        const std::vector<std::uint8_t> disconnect = co_await read_packet(server);
        const std::vector<std::uint8_t> expected{0xe0, 0x00};
        CHECK(disconnect == expected);
        std::vector<std::uint8_t> more(16);
        std::error_code ec;
        try {
          (void)co_await server.async_read_some(::asio::buffer(more), use_awaitable);
        } catch (const std::system_error& e) {
          ec = e.code();
        }
        after_disconnect = ec;
        try {
          co_await server.async_shutdown(use_awaitable);  // the answering close_notify
        } catch (const std::system_error&) {
        }
      },
      [](std::exception_ptr) {});

  const std::string id = "asio-tls-goodbye";
  ta::client_options o =
      options_for(acceptor.local_endpoint().port(), protocol_version::v3_1_1, id);
  o.transport = ta::transport_kind::tls;
  o.tls_context = trusting_test_ca();
  ta::client c(io, o);
  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    co_await c.async_connect(use_awaitable);
    co_await c.async_disconnect(use_awaitable);
  });
  REQUIRE(run_until(
      io, [&] { return after_disconnect.has_value(); }, 5s));
  CHECK(*after_disconnect == ::asio::error::eof);
}
