// WebSocket (RFC 6455) client as a byte-transforming layer, framing by wslay: HTTP upgrade
// with subprotocol "mqtt", MQTT bytes in binary frames, ping answered with pong, close
// handshake. Used for ws:// over TCP and wss:// over a tls_layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tern/net/layer.hpp"

namespace tern::net {

struct websocket_options {
  std::string path = "/mqtt";
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::string subprotocol = "mqtt";
  std::size_t max_frame_payload = 1u << 20;  // larger frames from the server are an error
};

class websocket_layer final : public layer {
 public:
  // `host` and `port` form the Host header. `random_seed` feeds the handshake key and the
  // frame masks (RFC 6455 needs unpredictable masks: pass real randomness in production).
  websocket_layer(websocket_options options, std::string host, std::uint16_t port,
                  std::uint64_t random_seed);
  ~websocket_layer() override;

  std::error_code start() override;
  bool established() const noexcept override;
  std::error_code received(bytes_view data) override;
  bytes_view readable() const noexcept override;
  void consume_readable(std::size_t n) noexcept override;
  std::size_t send(std::span<const bytes_view> data, std::error_code& ec) override;
  bytes_view writable() const noexcept override;
  void consume_writable(std::size_t n) noexcept override;
  void shutdown() noexcept override;
  std::string describe() const override;

  // The HTTP status line of a refused upgrade, for error messages.
  const std::string& last_error_message() const noexcept override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::net
