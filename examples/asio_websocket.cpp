// tern::asio over WebSocket (ws://; transport_kind::websocket_tls with a tls_context for wss://):
// the MQTT bytes travel in binary frames of the "mqtt" subprotocol, as browsers' clients do.
// Sends a message to itself at QoS 1 and prints it when it comes back.
//
//   asio_websocket [host] [port] [path] [version]   (defaults: 127.0.0.1 8080 /mqtt 5; or 3 for
//                                                     MQTT 3.1.1)
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tern/asio/client.hpp"

int main(int argc, char** argv) {
  tern::asio::client_options options;
  options.host = argc > 1 ? argv[1] : "127.0.0.1";
  options.port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 8080);
  options.transport = tern::asio::transport_kind::websocket;
  options.websocket.path = argc > 3 ? argv[3] : "/mqtt";  // where the server serves MQTT
  options.session.client_id = "tern-asio-websocket";
  if (argc > 4 && std::string(argv[4]) == "3")
    options.session.version = tern::protocol_version::v3_1_1;

  asio::io_context io;
  tern::asio::client client(io, std::move(options));
  int status = 1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        using asio::use_awaitable;
        co_await client.async_connect(use_awaitable);
        std::printf("connected over WebSocket\n");
        co_await client.async_subscribe("tern/examples/ws", {.max_qos = tern::qos::at_least_once},
                                        use_awaitable);
        co_await client.async_publish("tern/examples/ws", "hello over WebSocket",
                                      tern::qos::at_least_once, use_awaitable);
        const auto m = co_await client.async_receive(use_awaitable);
        std::printf("received: %s\n", m.payload.c_str());
        co_await client.async_disconnect(use_awaitable);
        status = 0;
      },
      [](std::exception_ptr e) {
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
