// Logging: enable_logger() writes the client's log to stderr; on_log hands every message to
// the application (here with a prefix), e.g. to forward it to its own logger.
//
//   logging [host=localhost] [port=1883]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);

  tern::client mqttc;
  mqttc.enable_logger(tern::log_level::debug);  // to stderr
  mqttc.on_log = [](tern::client&, tern::log_level level, std::string_view message) {
    std::cout << "[on_log " << tern::to_string(level) << "] " << message << '\n';
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();
  const bool ok = mqttc.publish("tern/examples/logging", "hello", tern::qos::exactly_once)
                      .wait_for_publish(std::chrono::seconds(5));
  mqttc.disconnect();
  mqttc.loop_stop();
  return ok ? 0 : 1;
}
