// Proxies: SOCKS5 (RFC 1928, username/password RFC 1929) and HTTP CONNECT, as layers that run
// a handshake and then pass bytes through untouched. Configured like paho's proxy_set, or
// from the usual environment variables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tern/net/layer.hpp"

namespace tern::net {

enum class proxy_type { socks5, http };

struct proxy_options {
  proxy_type type = proxy_type::socks5;
  std::string host;
  std::uint16_t port = 1080;
  std::string username;  // empty: no authentication
  std::string password;
  // SOCKS5: let the proxy resolve the broker's name (true) or send the address we resolved.
  bool remote_dns = true;
};

// The proxy the environment names for a broker URL scheme ("mqtt", "mqtts", "ws", "wss"):
// ALL_PROXY / all_proxy, then HTTPS_PROXY for TLS schemes and HTTP_PROXY otherwise (upper or
// lower case), honouring NO_PROXY / no_proxy for `host`. URLs "socks5://", "socks5h://",
// "http://", with optional user:password@. std::nullopt when none applies.
std::optional<proxy_options> proxy_from_environment(const std::string& scheme,
                                                    const std::string& host);

// Parses a proxy URL like "socks5h://user:pw@127.0.0.1:1080" or "http://proxy:3128".
std::optional<proxy_options> parse_proxy_url(const std::string& url);

// Connects through a proxy to `host`:`port` (the broker). The layer below is the TCP
// connection to the proxy itself.
std::unique_ptr<layer> make_proxy_layer(const proxy_options& options, std::string host,
                                        std::uint16_t port);

}  // namespace tern::net
