// Errors of the transport adapters, as std::error_code values in their own category, so they
// mix with the system errors (ECONNREFUSED, ...) that sockets report.
#pragma once

#include <string>
#include <system_error>

namespace tern::net {

enum class net_errc {
  resolve_failed = 1,        // name resolution found no address
  connect_failed,            // every resolved address refused or timed out
  connect_timeout,
  connection_closed,         // the peer closed the connection
  tls_handshake_failed,      // see the message for OpenSSL's reason
  tls_certificate_invalid,   // unknown CA, expired, ...
  tls_hostname_mismatch,     // the certificate does not name the host
  tls_error,                 // any other TLS failure after the handshake
  tls_setup_failed,          // bad CA file, certificate, key or key password
  websocket_handshake_failed,  // the server did not upgrade (status, subprotocol, accept key)
  websocket_protocol_error,  // a malformed frame, or a text frame for MQTT
  websocket_closed,          // the server sent a close frame
  proxy_handshake_failed,    // malformed proxy reply
  proxy_refused,             // the proxy refused the CONNECT (status or SOCKS reply code)
  proxy_auth_failed,         // SOCKS5 username/password rejected, or HTTP 407
  invalid_url,
  invalid_options,           // an option that cannot work (e.g. wss without TLS settings)
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(net_errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace tern::net

template <>
struct std::is_error_code_enum<tern::net::net_errc> : std::true_type {};
