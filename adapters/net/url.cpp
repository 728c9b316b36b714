// Broker URLs and Server References: small, strict parsers.
#include "tern/net/url.hpp"

#include <charconv>

namespace tern::net {

namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  if (s.empty() || s.size() > 5) return std::nullopt;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "host", "host:port", "[v6]", "[v6]:port"; port 0 when absent.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = s.rfind(':');
    if (colon != std::string_view::npos && s.find(':') == colon) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    } else if (colon != std::string_view::npos) {
      return std::nullopt;  // a bare IPv6 address needs brackets
    } else {
      host = s;
    }
  }
  if (host.empty()) return std::nullopt;
  std::uint16_t p = 0;
  if (!port.empty()) {
    const auto parsed = parse_port(port);
    if (!parsed) return std::nullopt;
    p = *parsed;
  }
  return std::pair{std::string(host), p};
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      const auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc{} && r.ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::optional<broker_url> parse_broker_url(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  broker_url u;
  u.scheme = url.substr(0, sep);
  for (char& c : u.scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  std::uint16_t default_port = 0;
  if (u.scheme == "mqtt" || u.scheme == "tcp") {
    u.scheme = "mqtt";
    default_port = 1883;
  } else if (u.scheme == "mqtts" || u.scheme == "ssl" || u.scheme == "tls") {
    u.scheme = "mqtts";
    default_port = 8883;
  } else if (u.scheme == "ws") {
    default_port = 80;
  } else if (u.scheme == "wss") {
    default_port = 443;
  } else {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(url).substr(sep + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    u.username = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) u.password = percent_decode(userinfo.substr(colon + 1));
  }
  const auto hp = split_host_port(authority);
  if (!hp) return std::nullopt;
  u.host = percent_decode(hp->first);  // RFC 6874: a zone id is written "%25" in URLs
  u.port = hp->second != 0 ? hp->second : default_port;
  if (u.websocket() && u.path.empty()) u.path = "/mqtt";
  if (!u.websocket() && !u.path.empty() && u.path != "/") return std::nullopt;
  if (!u.websocket()) u.path.clear();
  return u;
}

std::optional<std::pair<std::string, std::uint16_t>> parse_server_reference(const std::string& ref) {
  std::string_view s = ref;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  s = s.substr(0, s.find(' '));
  if (s.empty()) return std::nullopt;
  return split_host_port(s);
}

}  // namespace tern::net
