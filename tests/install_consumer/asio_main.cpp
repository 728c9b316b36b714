// Links against an installed Tern's Asio client (tern::asio, with tern::net, OpenSSL and Asio
// behind it) and awaits one of its operations in a coroutine; exits 0 when it answers as
// expected without a broker.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <system_error>

#include "tern/asio/client.hpp"

int main() {
  asio::io_context io;
  tern::asio::client c(io, tern::asio::client_options{});
  // Never started: a subscribe has no connection to wait for and fails at once.
  std::error_code ec;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          (void)co_await c.async_subscribe("a/b", {}, asio::use_awaitable);
        } catch (const std::system_error& e) {
          ec = e.code();
        }
      },
      [](std::exception_ptr) {});
  io.run_for(std::chrono::seconds(5));
  if (ec != make_error_code(tern::errc::not_connected)) {
    std::printf("install_consumer: expected not_connected, got \"%s\"\n", ec.message().c_str());
    return 1;
  }
  std::puts("install_consumer (asio): ok");
  return 0;
}
