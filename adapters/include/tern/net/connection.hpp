// A non-blocking connection to a broker: name resolution (every address tried, IPv6 and
// IPv4), TCP with TCP_NODELAY, then the layers the options ask for, bottom up:
//   TCP ─ [proxy handshake] ─ [TLS] ─ [WebSocket] ─ MQTT bytes
// It owns one file descriptor that an event loop watches (fd(), wants_write()) and moves
// bytes when told the descriptor is ready. No threads; only the name lookup may block (it is
// skipped for numeric addresses).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "tern/bytes.hpp"
#include "tern/net/proxy.hpp"
#include "tern/net/tls.hpp"
#include "tern/net/websocket.hpp"
#include "tern/time.hpp"

namespace tern::net {

struct transport_options {
  std::optional<tls_options> tls;              // TLS (mqtts, wss)
  std::optional<websocket_options> websocket;  // WebSocket (ws, wss)
  std::optional<proxy_options> proxy;          // explicit proxy
  bool proxy_from_environment = false;         // else ALL_PROXY / HTTPS_PROXY / ... when set
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect to all layers established
  std::uint64_t random_seed = 0;  // WebSocket masks; 0: seeded from the OS
};

enum class connection_state { closed, connecting, handshaking, open };

class connection {
 public:
  connection();
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;

  // Starts connecting to `host`:`port` (through the proxy, if any). Errors that are known at
  // once: resolve_failed, invalid_options, or the socket error of the last address tried.
  std::error_code open(const std::string& host, std::uint16_t port,
                       const transport_options& options, time_point now);

  connection_state state() const noexcept;
  int fd() const noexcept;  // -1 when closed
  bool wants_write() const noexcept;  // watch the fd for writability
  std::optional<time_point> deadline() const noexcept;  // the connect timeout

  // The fd is writable / readable / the deadline passed: make progress. An error means the
  // connection failed or ended; it is closed afterwards.
  std::error_code on_writable(time_point now);
  std::error_code on_readable(time_point now);
  std::error_code on_timeout(time_point now);

  // MQTT bytes that arrived, copied into `out` (0 with no error: nothing yet).
  std::size_t read(mutable_bytes out, std::error_code& ec);
  // Sends MQTT bytes; returns how many were taken (fewer when the socket is full: call again
  // when writable). Without layers this is one writev() of the slices.
  std::size_t write(std::span<const bytes_view> slices, std::error_code& ec);

  // Graceful close: TLS close_notify / WebSocket close frame, written if the socket takes
  // it at once, then the socket closes. close() closes at once.
  void shutdown() noexcept;
  void close() noexcept;

  // "WebSocket over TLS 1.3 over TCP [::1]:8883", for logs.
  std::string describe() const;

  // The failing layer's own words for the last error (OpenSSL's reason, a refused upgrade's
  // status line, the proxy's reply), or empty. Kept after the connection closes, until open().
  const std::string& last_error_message() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::net
