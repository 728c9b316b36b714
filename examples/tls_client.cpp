// TLS: verify the broker with a CA file (and the host name, always on), optionally present a
// client certificate. With mosquitto, a listener like
//     listener 8883
//     cafile ca.crt  certfile server.crt  keyfile server.key  require_certificate true
//
//   tls_client [host=localhost] [port=8883] [ca.crt] [client.crt client.key]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/client.hpp"

int main(int argc, char** argv) {
  const std::string host = argc > 1 ? argv[1] : "localhost";
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 8883);

  tern::net::tls_options tls;
  if (argc > 3) tls.ca_file = argv[3];  // otherwise the system's trusted CAs
  if (argc > 5) {
    tls.cert_file = argv[4];
    tls.key_file = argv[5];
  }
  tern::client mqttc;
  mqttc.tls_set(tls);
  // mqttc.tls_insecure_set(true);  // tests against self-signed brokers only: no verification

  std::cout << "connecting to " << host << ':' << port << " over TLS"
            << (tls.ca_file.empty() ? "" : " (CA " + tls.ca_file + ")")
            << (tls.cert_file.empty() ? "" : " with client certificate " + tls.cert_file) << '\n';
  if (const auto ec = mqttc.connect(host, port)) {
    std::cerr << "connect failed: " << ec.message() << '\n';
    return 1;
  }
  mqttc.loop_start();
  const auto info = mqttc.publish("tern/examples/tls", "hello over TLS", tern::qos::at_least_once);
  const bool ok = info.wait_for_publish(std::chrono::seconds(5));
  std::cout << (ok ? "published over TLS\n" : "not acknowledged\n");
  mqttc.disconnect();
  mqttc.loop_stop();
  return ok ? 0 : 1;
}
