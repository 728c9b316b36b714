// Broker addresses as URLs: mqtt://, mqtts://, ws://, wss:// with optional user:password@,
// host (IPv6 in brackets), port (defaults 1883, 8883, 80, 443) and, for WebSocket, a path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tern::net {

struct broker_url {
  std::string scheme;  // "mqtt", "mqtts", "ws", "wss"
  std::string host;
  std::uint16_t port = 0;
  std::string path;  // WebSocket path, "/mqtt" when absent
  std::optional<std::string> username;
  std::optional<std::string> password;

  bool tls() const noexcept { return scheme == "mqtts" || scheme == "wss"; }
  bool websocket() const noexcept { return scheme == "ws" || scheme == "wss"; }
};

// std::nullopt for an unknown scheme, a missing host, or a bad port.
std::optional<broker_url> parse_broker_url(const std::string& url);

// A Server Reference from a broker [MQTT 4.11]: "host", "host:port", "[v6]:port"; several may
// be separated by spaces, the first is used. Returns host and port (port 0: keep the current).
std::optional<std::pair<std::string, std::uint16_t>> parse_server_reference(const std::string& ref);

}  // namespace tern::net
