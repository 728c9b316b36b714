// The threaded loop: loop_start() runs the client in a background thread while the main
// thread publishes whenever it likes (publish() is safe from any thread and never blocks on
// the network). on_publish runs on the loop thread.
//
//   loop_start_publish [host=localhost] [port=1883] [count=10]
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const int count = argc > 3 ? std::atoi(argv[3]) : 10;

  tern::client mqttc;
  std::atomic<int> acknowledged{0};
  mqttc.on_publish = [&](tern::client&, tern::message_id mid, tern::reason_code rc,
                         const tern::properties&) {
    if (!tern::is_failure(rc)) ++acknowledged;
    std::cout << "  [loop thread] message " << mid << " acknowledged\n";
  };
  // loop_start() may come before connect(): the thread waits for the connection.
  mqttc.loop_start();
  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    mqttc.loop_stop();
    return 1;
  }

  std::mt19937 rng(42);
  std::uniform_real_distribution<double> temperature(18.0, 24.0);
  for (int i = 0; i < count; ++i) {
    const std::string reading = std::to_string(temperature(rng));
    const auto info = mqttc.publish("tern/examples/temperature", reading, tern::qos::at_least_once);
    std::cout << "[main thread] published " << reading << " as message " << info.mid() << '\n';
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int i = 0; i < 50 && acknowledged < count; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  mqttc.disconnect();
  mqttc.loop_stop();
  std::cout << acknowledged << " of " << count << " acknowledged\n";
  return acknowledged == count ? 0 : 1;
}
