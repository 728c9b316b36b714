// A byte-transforming protocol layer between a transport (below) and MQTT (above): TLS,
// WebSocket, or a proxy handshake. Layers do no I/O themselves — they take bytes that arrived
// and bytes to send, and hand out bytes to write and bytes for the layer above — so anyone can
// stack them over their own sockets or event loop. tern::net::connection stacks them over a
// TCP socket for Tern's own adapters.
//
// Data flow for one layer:
//   received(bytes from below)  ──▶  readable()/consume_readable()  (for the layer above)
//   send(bytes from above)      ──▶  writable()/consume_writable()   (to write below)
// A layer may produce bytes to write on its own (handshake, TLS records, WebSocket pong):
// after every call, drain writable().
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <system_error>

#include "tern/bytes.hpp"

namespace tern::net {

class layer {
 public:
  virtual ~layer() = default;

  // Starts the layer's handshake, if it has one (a TLS ClientHello, a WebSocket upgrade
  // request, a proxy greeting): its first bytes appear in writable().
  virtual std::error_code start() = 0;
  // True once data can flow both ways.
  virtual bool established() const noexcept = 0;

  // Bytes that arrived from below. Errors end the layer (the connection must close).
  virtual std::error_code received(bytes_view data) = 0;
  // Bytes decoded for the layer above, and how many of them it used.
  virtual bytes_view readable() const noexcept = 0;
  virtual void consume_readable(std::size_t n) noexcept = 0;

  // Bytes from above to send (only once established()). Returns how many were taken: all,
  // unless the layer's output is at its bound (then drain writable() and offer the rest).
  virtual std::size_t send(std::span<const bytes_view> data, std::error_code& ec) = 0;
  // Bytes to write below, and how many of them were written.
  virtual bytes_view writable() const noexcept = 0;
  virtual void consume_writable(std::size_t n) noexcept = 0;

  // Begins a graceful close (TLS close_notify, WebSocket close frame); its bytes appear in
  // writable(). Safe to call at any time.
  virtual void shutdown() noexcept = 0;

  // What the layer is, for logs: "TLS 1.3", "WebSocket", "SOCKS5 proxy".
  virtual std::string describe() const = 0;

  // Why the layer failed, in the words of whoever said so: OpenSSL's reason, the HTTP status
  // line of a refused upgrade or proxy CONNECT, the SOCKS reply. Empty when the error code
  // says it all. Valid until the next call into the layer.
  virtual const std::string& last_error_message() const noexcept {
    static const std::string none;
    return none;
  }
};

}  // namespace tern::net
