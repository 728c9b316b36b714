// QoS levels: one message at QoS 0, 1 and 2, sent to a topic this client subscribes to at
// QoS 2. on_publish reports each completion (QoS 0: written; 1: PUBACK; 2: PUBCOMP);
// on_message shows the QoS each one was delivered with.
//
//   qos_levels [host=localhost] [port=1883] [topic=tern/examples/qos]
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  const std::string topic = argc > 3 ? argv[3] : "tern/examples/qos";

  tern::client mqttc;
  std::atomic<int> received{0};
  mqttc.on_connect = [&](tern::client& c, tern::connect_flags, tern::reason_code rc,
                         const tern::properties&) {
    if (tern::is_failure(rc)) return;
    std::cout << "connected; subscribing to " << topic << " at QoS 2\n";
    c.subscribe(topic, tern::qos::exactly_once);
  };
  mqttc.on_subscribe = [&](tern::client& c, std::uint16_t, const tern::reason_code_list& granted,
                           const tern::properties&) {
    for (const tern::reason_code g : granted)
      std::cout << "subscription granted: " << tern::describe(g, tern::packet_type::suback) << '\n';
    for (const auto q :
         {tern::qos::at_most_once, tern::qos::at_least_once, tern::qos::exactly_once}) {
      const auto n = static_cast<int>(q);
      const auto info = c.publish(topic, "sent at QoS " + std::to_string(n), q);
      std::cout << "publish QoS " << n << " -> message " << info.mid() << '\n';
    }
  };
  mqttc.on_publish = [](tern::client&, tern::message_id mid, tern::reason_code rc,
                        const tern::properties&) {
    std::cout << "message " << mid << " complete: " << tern::describe(rc, tern::packet_type::puback)
              << '\n';
  };
  mqttc.on_message = [&](tern::client&, const tern::publish& msg) {
    std::cout << "received at QoS " << static_cast<int>(msg.q) << ": "
              << tern::as_chars(msg.payload) << '\n';
    ++received;
  };

  std::cout << "connecting to " << host << ':' << port << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();
  for (int i = 0; i < 100 && received < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  mqttc.disconnect();
  mqttc.loop_stop();
  std::cout << received << " of 3 messages received\n";
  return received == 3 ? 0 : 1;
}
