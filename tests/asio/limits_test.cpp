// tern::asio::client against a scripted broker of the test's own (MQTT 3.1.1, a few hand-encoded
// packets): a broker that stops reading ends the connection after write_timeout, and a full
// receive queue (max_received_messages) stops the client reading until async_receive drains it.
#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;
using tcp = ::asio::ip::tcp;

namespace {

// A one-connection broker on 127.0.0.1: accepts, reads the CONNECT, answers CONNACK (accepted),
// then does whatever the test tells it with the socket.
class scripted_broker {
 public:
  explicit scripted_broker(::asio::io_context& io)
      : acceptor_(io, tcp::endpoint(::asio::ip::make_address(it::loopback), 0)), socket_(io) {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  tcp::socket& socket() { return socket_; }

  // Accepts one client and completes its CONNECT / CONNACK exchange.
  ::asio::awaitable<void> accept_and_connack() {
    co_await acceptor_.async_accept(socket_, use_awaitable);
    const std::vector<std::uint8_t> connect = co_await read_packet(socket_);
    REQUIRE(connect.at(0) == 0x10);  // CONNECT
    co_await ::asio::async_write(socket_, ::asio::buffer(connack_accepted), use_awaitable);
  }

 private:
  tcp::acceptor acceptor_;
  tcp::socket socket_;
};

// A QoS 0 PUBLISH of MQTT 3.1.1 (no packet id).
std::string encode_publish(const std::string& topic, const std::string& payload) {
  std::string out(1, static_cast<char>(0x30));
  std::size_t remaining = 2 + topic.size() + payload.size();
  do {
    auto digit = static_cast<std::uint8_t>(remaining % 128);
    remaining /= 128;
    if (remaining > 0) digit |= 0x80;
    out.push_back(static_cast<char>(digit));
  } while (remaining > 0);
  out.push_back(static_cast<char>(topic.size() >> 8));
  out.push_back(static_cast<char>(topic.size() & 0xff));
  return out + topic + payload;
}

ta::client_options scripted_options(std::uint16_t port, const std::string& id) {
  ta::client_options o = options_for(port, protocol_version::v3_1_1, id);
  o.session.auto_reconnect = false;
  o.session.keep_alive = std::chrono::seconds(60);  // no PINGREQ during the test
  return o;
}

// Runs `io` for `d` (the whole of it, whatever is ready).
void run_for(::asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

}  // namespace

TEST_CASE("asio: a broker that stops reading ends the connection after write_timeout") {
  ::asio::io_context io;
  scripted_broker broker(io);
  bool accepted = false;
  ::asio::co_spawn(io, broker.accept_and_connack(), [&](std::exception_ptr e) {
    REQUIRE_FALSE(e);
    accepted = true;
  });
  const std::string id = "asio-write-timeout";
  ta::client_options o = scripted_options(broker.port(), id);
  o.write_timeout = 300ms;
  std::vector<ta::connection_event> events;
  o.on_connection_event = [&](const ta::connection_event& e) { events.push_back(e); };
  ta::client c(io, o);

  std::optional<std::error_code> connected;
  c.async_connect([&](std::error_code ec, const ta::connect_result&) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected.has_value() && accepted; }));
  REQUIRE_FALSE(*connected);

  // Far more than the socket buffers hold: the write stalls, as the broker reads nothing.
  const std::string payload = payload_of(std::size_t{1} << 20, 3);
  constexpr int count = 32;
  int completed = 0;
  int written = 0;
  for (int i = 0; i < count; ++i) {
    c.async_publish("asio/stall", payload, qos::at_most_once,
                    [&](std::error_code ec, const ta::publish_result&) {
                      ++completed;
                      if (!ec) ++written;
                    });
  }
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(run_until(
      io, [&] { return events.size() >= 2; }, 10s));
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(events[0].what == ta::connection_event::kind::connected);
  CHECK(events[1].what == ta::connection_event::kind::disconnected);
  CHECK(events[1].error == std::make_error_code(std::errc::timed_out));
  CHECK(waited >= 300ms);
  CHECK(written < count);  // the broker never had them all
  CHECK_FALSE(events[1].reconnect_at.has_value());
  // Without reconnection the session stops; whatever still waited completes.
  REQUIRE(run_until(
      io, [&] { return completed == count; }, 5s));
  CHECK(c.state() == session_state::idle);
}

TEST_CASE("asio: a full receive queue stops reading until async_receive drains it") {
  ::asio::io_context io;
  scripted_broker broker(io);
  const std::string id = "asio-back-pressure";
  ta::client_options o = scripted_options(broker.port(), id);
  o.max_received_messages = 4;
  ta::client c(io, o);

  // The broker sends the same block of 16 numbered messages over and over, counting the bytes
  // the kernel took; it stops only when the test closes the socket.
  constexpr int per_block = 16;
  const std::string payload = payload_of(std::size_t{64} * 1024, 5);
  std::string block;
  for (int i = 0; i < per_block; ++i)
    block += encode_publish("asio/bp/" + std::to_string(i), payload);
  std::size_t sent = 0;
  bool broker_done = false;
  ::asio::co_spawn(
      io,
      [&]() -> ::asio::awaitable<void> {
        co_await broker.accept_and_connack();
        for (;;)
          sent +=
              co_await ::asio::async_write(broker.socket(), ::asio::buffer(block), use_awaitable);
      },
      [&](std::exception_ptr) { broker_done = true; });

  std::optional<std::error_code> connected;
  c.async_connect([&](std::error_code ec, const ta::connect_result&) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  REQUIRE_FALSE(*connected);

  // Nobody receives: once the queue holds its four messages (and what one read overshot),
  // the client reads no more, the socket buffers fill and the broker's writes stop.
  // Settled once nothing moved for 300 ms; then it must stay so.
  std::size_t stalled_at = 0;
  int quiet_rounds = 0;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (quiet_rounds < 3 && std::chrono::steady_clock::now() < give_up) {
    stalled_at = sent;
    run_for(io, 100ms);
    quiet_rounds = sent == stalled_at ? quiet_rounds + 1 : 0;
  }
  REQUIRE(quiet_rounds == 3);
  run_for(io, 500ms);
  CHECK(sent == stalled_at);
  CHECK(sent < std::size_t{64} << 20);  // what the socket buffers held, not a stream

  // Receiving resumes reading: the broker's writes move again, and messages keep their order.
  int next = 0;
  std::size_t received = 0;
  bool in_order = true;
  std::function<void()> receive_one = [&] {
    c.async_receive([&](std::error_code ec, ta::received_message m) {
      if (ec) return;
      in_order = in_order && m.topic == "asio/bp/" + std::to_string(next) && m.payload == payload;
      next = (next + 1) % per_block;
      ++received;
      receive_one();
    });
  };
  receive_one();
  REQUIRE(run_until(
      io, [&] { return sent >= stalled_at + 4 * block.size(); }, 15s));
  CHECK(in_order);
  CHECK(received > o.max_received_messages);

  broker.socket().close();
  bool disconnected = false;
  c.async_disconnect([&](std::error_code) { disconnected = true; });
  REQUIRE(run_until(io, [&] { return disconnected && broker_done; }));
}
