// Links against an installed Tern's client (tern::client, with tern::net, OpenSSL and wslay
// behind it); exits 0 when it answers as expected without a broker.
#include <tern/client.hpp>
#include <tern/net/url.hpp>

#include <cstdio>

int main() {
  const auto url = tern::net::parse_broker_url("mqtts://broker.invalid/");
  if (!url || url->port != 8883) {
    std::puts("install_consumer: mqtts:// should default to port 8883");
    return 1;
  }
  tern::client c("consumer");
  if (!c.subscribe("a/b").first) {
    std::puts("install_consumer: subscribe without a connection should fail");
    return 1;
  }
  std::puts("install_consumer (client): ok");
  return 0;
}
