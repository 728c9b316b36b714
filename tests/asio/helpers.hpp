// Shared by the Asio adapter's tests: client options for a fixture broker, and running an
// io_context until a coroutine finishes (every wait bounded).
//
// tests/ is on the include path, so a file here named like an Asio header (error.hpp,
// buffer.hpp, ...) would hide <asio/...>: keep to *_test.cpp and helpers.hpp.
#pragma once

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "integration/fixture.hpp"
#include "tern/asio/client.hpp"

namespace tern::asio_test {

using namespace std::chrono_literals;
using ::asio::use_awaitable;

// `id` is viewed by the options: it must live until the client is constructed.
inline tern::asio::client_options options_for(std::uint16_t port, protocol_version v,
                                              const std::string& id) {
  tern::asio::client_options o;
  o.host = it::loopback;
  o.port = port;
  o.session.version = v;
  o.session.client_id = id;
  o.session.keep_alive = std::chrono::seconds(10);
  // Quick reconnection for the tests that restart the broker.
  o.session.backoff.initial = 50ms;
  o.session.backoff.maximum = 500ms;
  return o;
}

// Runs `io` until the coroutine `f` finishes (rethrowing what it threw), at most `limit`.
template <class F>
void run_coroutine(::asio::io_context& io, F f, std::chrono::milliseconds limit = 30s) {
  bool done = false;
  std::exception_ptr error;
  io.restart();
  ::asio::co_spawn(io, std::move(f), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    if (io.run_one_until(deadline) == 0 && io.stopped()) break;
  }
  REQUIRE_MESSAGE(done, "the test coroutine did not finish within " << limit.count() << " ms");
  if (error) std::rethrow_exception(error);
}

// Runs `io` until `pred()` holds, at most `limit`; returns pred().
template <class Pred>
bool run_until(::asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    if (io.run_one_until(deadline) == 0 && io.stopped()) break;
  }
  return pred();
}

// For a broker played by a test: reads one MQTT packet from `stream` (a socket or an SSL
// stream) and returns its bytes, fixed header included.
template <class Stream>
::asio::awaitable<std::vector<std::uint8_t>> read_packet(Stream& stream) {
  std::vector<std::uint8_t> packet;
  std::array<std::uint8_t, 1> byte{};
  co_await ::asio::async_read(stream, ::asio::buffer(byte), use_awaitable);
  packet.push_back(byte[0]);
  std::size_t remaining = 0;
  for (int shift = 0; shift < 28; shift += 7) {  // a remaining length of up to four bytes
    co_await ::asio::async_read(stream, ::asio::buffer(byte), use_awaitable);
    packet.push_back(byte[0]);
    remaining |= static_cast<std::size_t>(byte[0] & 0x7f) << shift;
    if ((byte[0] & 0x80) == 0) break;
  }
  const std::size_t header = packet.size();
  packet.resize(header + remaining);
  co_await ::asio::async_read(stream, ::asio::buffer(packet.data() + header, remaining),
                              use_awaitable);
  co_return packet;
}

// CONNACK of MQTT 3.1.1: accepted, no session present.
inline constexpr std::array<std::uint8_t, 4> connack_accepted{0x20, 0x02, 0x00, 0x00};

inline std::string payload_of(std::size_t size, std::uint64_t seed) {
  const auto bytes = it::pattern_bytes(size, seed);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace tern::asio_test
