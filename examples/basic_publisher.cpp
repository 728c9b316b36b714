// Basic publisher: a background thread runs the client (loop_start) while this thread
// publishes and waits for each message to be acknowledged (wait_for_publish).
//
//   basic_publisher [host=localhost] [port=1883] [topic=tern/examples/publisher]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const std::string topic = argc > 3 ? argv[3] : "tern/examples/publisher";

  tern::client mqttc;
  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();

  int failures = 0;
  for (int i = 1; i <= 5; ++i) {
    const std::string payload = "message " + std::to_string(i);
    const tern::message_info info = mqttc.publish(topic, payload, tern::qos::at_least_once);
    if (info.rc()) {
      std::cerr << "publish failed: " << info.rc().message() << '\n';
      ++failures;
      continue;
    }
    // Blocks until PUBACK (QoS 1); publish() itself never blocks.
    if (info.wait_for_publish(std::chrono::seconds(5))) {
      std::cout << "published \"" << payload << "\" as message " << info.mid() << '\n';
    } else {
      std::cerr << "message " << info.mid() << " not acknowledged in time\n";
      ++failures;
    }
  }

  mqttc.disconnect();
  mqttc.loop_stop();
  std::cout << "disconnected\n";
  return failures == 0 ? 0 : 1;
}
