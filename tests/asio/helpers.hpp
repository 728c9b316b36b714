// Shared by the Asio adapter's tests: client options for a fixture broker, and running an
// io_context until a coroutine finishes (every wait bounded).
//
// tests/ is on the include path, so a file here named like an Asio header (error.hpp,
// buffer.hpp, ...) would hide <asio/...>: keep to *_test.cpp and helpers.hpp.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <string>

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

inline std::string payload_of(std::size_t size, std::uint64_t seed) {
  const auto bytes = it::pattern_bytes(size, seed);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace tern::asio_test
