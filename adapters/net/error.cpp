#include "tern/net/error.hpp"

namespace tern::net {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tern.net"; }
  std::string message(int e) const override {
    switch (static_cast<net_errc>(e)) {
      case net_errc::resolve_failed: return "could not resolve the host name";
      case net_errc::connect_failed: return "could not connect to any address of the host";
      case net_errc::connect_timeout: return "connection timed out";
      case net_errc::connection_closed: return "the connection was closed by the peer";
      case net_errc::tls_handshake_failed: return "TLS handshake failed";
      case net_errc::tls_certificate_invalid: return "TLS certificate verification failed";
      case net_errc::tls_hostname_mismatch:
        return "TLS certificate does not match the host name";
      case net_errc::tls_error: return "TLS error";
      case net_errc::tls_setup_failed:
        return "TLS setup failed (CA, certificate, key or password)";
      case net_errc::websocket_handshake_failed: return "WebSocket upgrade refused";
      case net_errc::websocket_protocol_error: return "WebSocket protocol error";
      case net_errc::websocket_closed: return "WebSocket closed by the server";
      case net_errc::proxy_handshake_failed: return "malformed reply from the proxy";
      case net_errc::proxy_refused: return "the proxy refused the connection";
      case net_errc::proxy_auth_failed: return "the proxy rejected the credentials";
      case net_errc::invalid_url: return "invalid broker URL";
      case net_errc::invalid_options: return "invalid transport options";
    }
    return "unknown transport error";
  }
};

}  // namespace

const std::error_category& net_category() noexcept {
  static const category c;
  return c;
}

}  // namespace tern::net
