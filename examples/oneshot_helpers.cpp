// One-shot helpers, like paho's publish.single / publish.multiple and subscribe.simple:
// each connects, does one thing and disconnects cleanly.
//
//   oneshot_helpers [host=localhost] [port=1883]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/oneshot.hpp"

int main(int argc, char** argv) {
  tern::oneshot_options options;
  options.host = argc > 1 ? argv[1] : "localhost";
  options.port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
  options.timeout = std::chrono::seconds(10);

  std::cout << "publish_single: a retained message to tern/examples/oneshot/state\n";
  if (const auto ec = tern::publish_single("tern/examples/oneshot/state", "ready",
                                           tern::qos::at_least_once, true, options)) {
    std::cerr << "publish_single failed: " << ec.message() << '\n';
    return 1;
  }

  std::cout << "publish_multiple: three messages in one connection\n";
  if (const auto ec =
          tern::publish_multiple({{"tern/examples/oneshot/a", "1", tern::qos::at_most_once},
                                  {"tern/examples/oneshot/b", "2", tern::qos::at_least_once},
                                  {"tern/examples/oneshot/c", "3", tern::qos::exactly_once}},
                                 options)) {
    std::cerr << "publish_multiple failed: " << ec.message() << '\n';
    return 1;
  }

  std::cout << "subscribe_simple: wait for one message (the retained one arrives at once)\n";
  std::vector<tern::owned_message> messages;
  if (const auto ec = tern::subscribe_simple(
          {"tern/examples/oneshot/state"}, tern::qos::at_least_once, 1, true, messages, options)) {
    std::cerr << "subscribe_simple failed: " << ec.message() << '\n';
    return 1;
  }
  for (const auto& m : messages)
    std::cout << "  " << m.topic << " = " << m.payload_text() << (m.retain ? " (retained)" : "")
              << '\n';

  // Clear the retained message again: an empty retained payload deletes it.
  return tern::publish_single("tern/examples/oneshot/state", "", tern::qos::at_least_once, true,
                              options)
             ? 1
             : 0;
}
