// tern::asio over TLS: verify the broker with a CA file (and its host name), optionally present
// a client certificate; then send a message to ourselves at QoS 1 and wait for it. With
// mosquitto, a listener like
//     listener 8883
//     cafile ca.crt  certfile server.crt  keyfile server.key  require_certificate true
//
//   asio_tls [host=localhost] [port=8883] [ca.crt] [client.crt client.key]
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <system_error>

#include "tern/asio/client.hpp"

int main(int argc, char** argv) {
  tern::asio::client_options options;
  options.host = argc > 1 ? argv[1] : "localhost";
  options.port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 8883);
  options.transport = tern::asio::transport_kind::tls;
  options.session.client_id = "tern-asio-tls";

  // The context says whom to trust and who we are; the client checks the host name itself
  // (options.verify_host_name, on by default).
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  tls->set_verify_mode(asio::ssl::verify_peer);
  try {
    if (argc > 3) {
      tls->load_verify_file(argv[3]);
    } else {
      tls->set_default_verify_paths();  // the system's trusted CAs
    }
    if (argc > 5) {
      tls->use_certificate_chain_file(argv[4]);
      tls->use_private_key_file(argv[5], asio::ssl::context::pem);
    }
  } catch (const std::system_error& e) {
    std::printf("TLS setup failed: %s\n", e.what());
    return 1;
  }
  options.tls_context = tls;

  asio::io_context io;
  tern::asio::client client(io, std::move(options));
  int status = 1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        using asio::use_awaitable;
        co_await client.async_connect(use_awaitable);
        std::printf("connected over TLS\n");
        co_await client.async_subscribe("tern/examples/tls", {.max_qos = tern::qos::at_least_once},
                                        use_awaitable);
        co_await client.async_publish("tern/examples/tls", "hello over TLS",
                                      tern::qos::at_least_once, use_awaitable);
        std::printf("published over TLS\n");
        const auto m = co_await client.async_receive(use_awaitable);
        std::printf("received: %s\n", m.payload.c_str());
        co_await client.async_disconnect(use_awaitable);
        status = 0;
      },
      [](std::exception_ptr e) {
        // A failed operation throws its error_code as a std::system_error.
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          std::printf("error: %s\n", x.what());
        }
      });
  io.run_for(std::chrono::seconds(30));
  return status;
}
