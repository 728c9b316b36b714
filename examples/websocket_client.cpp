// MQTT over WebSocket: the "websockets" transport with a path (and, if needed, extra HTTP
// headers for the upgrade request). The same works as connect_url("ws://host:8080/mqtt") or,
// with TLS, "wss://host/mqtt".
//
//   websocket_client [host=localhost] [port=8080] [path=/mqtt]
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 8080);
  const std::string path = argc > 3 ? argv[3] : "/mqtt";

  tern::client mqttc("", tern::protocol_version::v3_1_1, tern::transport_kind::websockets);
  mqttc.ws_set_options(path, {{"User-Agent", "tern-websocket-example"}});
  std::atomic<bool> echoed{false};
  mqttc.on_connect = [](tern::client& c, tern::connect_flags, tern::reason_code rc,
                        const tern::properties&) {
    if (tern::is_failure(rc)) return;
    std::cout << "connected over WebSocket\n";
    c.subscribe("tern/examples/ws", tern::qos::at_least_once);
  };
  mqttc.on_subscribe = [](tern::client& c, std::uint16_t, const tern::reason_code_list&,
                          const tern::properties&) {
    c.publish("tern/examples/ws", "hello over WebSocket", tern::qos::at_least_once);
  };
  mqttc.on_message = [&](tern::client&, const tern::publish& msg) {
    std::cout << "received: " << tern::as_chars(msg.payload) << '\n';
    echoed = true;
  };

  std::cout << "connecting to ws://" << host << ':' << port << path << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();
  for (int i = 0; i < 100 && !echoed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  mqttc.disconnect();
  mqttc.loop_stop();
  return echoed ? 0 : 1;
}
