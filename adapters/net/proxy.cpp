// Proxy handshakes as layers: SOCKS5 (RFC 1928 + RFC 1929) and HTTP CONNECT (RFC 9110 9.3.6),
// and proxy settings from URLs and the environment.
//
// Theory of operation: both layers share handshake_layer. Until the handshake is done, received()
// feeds a small state machine that writes the next request into `out` and parses the proxy's
// reply byte by byte (replies may arrive split anywhere or together with the first bytes from
// the broker). Once established the layer is a pass-through: what arrives is readable, what is
// sent is writable (bounded like the other layers). Bytes that followed the reply are the
// broker's, so they start the readable stream.
#include "tern/net/proxy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "byte_queue.hpp"
#include "tern/net/error.hpp"
#include "tern/net/url.hpp"

namespace tern::net {

namespace {

constexpr std::size_t output_bound = std::size_t{1} << 20;
constexpr std::size_t max_http_response = 16 * 1024;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string strip_brackets(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
}

bool has_line_break(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

class handshake_layer : public layer {
 public:
  bool established() const noexcept final { return established_; }

  std::error_code received(bytes_view data) final {
    if (error_) return error_;
    if (established_) {
      in_.append(data);
      return {};
    }
    return handshake(data);
  }
  bytes_view readable() const noexcept final { return in_.view(); }
  void consume_readable(std::size_t n) noexcept final { in_.consume(n); }

  std::size_t send(std::span<const bytes_view> data, std::error_code& ec) final {
    ec = error_;
    if (error_ || !established_) return 0;
    std::size_t taken = 0;
    for (const bytes_view s : data) {
      if (out_.size() >= output_bound) break;
      const std::size_t n = std::min(s.size(), output_bound - out_.size());
      out_.append(s.first(n));
      taken += n;
    }
    return taken;
  }
  bytes_view writable() const noexcept final { return out_.view(); }
  void consume_writable(std::size_t n) noexcept final { out_.consume(n); }

  void shutdown() noexcept final {}  // a tunnel closes with the TCP connection
  const std::string& last_error_message() const noexcept final { return message_; }

 protected:
  // Bytes of the proxy's reply; calls finish() when done.
  virtual std::error_code handshake(bytes_view data) = 0;

  std::error_code fail(net_errc e, std::string why) {
    error_ = e;
    message_ = std::move(why);
    return error_;
  }
  // The tunnel is up; `rest` came from the broker.
  void finish(bytes_view rest) {
    established_ = true;
    in_.append(rest);
  }

  detail::byte_queue in_;
  detail::byte_queue out_;

 private:
  bool established_ = false;
  std::error_code error_;
  std::string message_;
};

// --- SOCKS5 ------------------------------------------------------------------------------------

const char* socks_reply_text(std::uint8_t code) {  // RFC 1928 section 6
  switch (code) {
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unassigned reply code";
  }
}

class socks5_layer final : public handshake_layer {
 public:
  socks5_layer(proxy_options options, std::string host, std::uint16_t port)
      : options_(std::move(options)), host_(strip_brackets(host)), port_(port) {}

  std::error_code start() override {
    if (step_ != step::idle) return {};
    if (options_.username.size() > 255 || options_.password.size() > 255)
      return fail(net_errc::invalid_options,
                  "SOCKS5 user names and passwords are at most 255 bytes");
    if (auto ec = build_connect_request()) return ec;
    // Greeting: version 5, the methods we offer: 0x00 none, 0x02 username/password.
    if (options_.username.empty()) {
      out_.append(std::string_view("\x05\x01\x00", 3));
    } else {
      out_.append(std::string_view("\x05\x02\x00\x02", 4));
    }
    step_ = step::greeting;
    return {};
  }

  std::string describe() const override { return "SOCKS5 proxy"; }

 private:
  enum class step { idle, greeting, auth, connect };

  std::error_code build_connect_request() {
    request_.assign("\x05\x01\x00", 3);  // version, CONNECT, reserved
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, host_.c_str(), &v4) == 1) {
      request_ += '\x01';
      request_.append(reinterpret_cast<const char*>(&v4), 4);
    } else if (inet_pton(AF_INET6, host_.c_str(), &v6) == 1) {
      request_ += '\x04';
      request_.append(reinterpret_cast<const char*>(&v6), 16);
    } else if (options_.remote_dns) {
      if (host_.empty() || host_.size() > 255)
        return fail(net_errc::invalid_options, "SOCKS5 host names are 1 to 255 bytes");
      request_ += '\x03';
      request_ += static_cast<char>(host_.size());
      request_ += host_;
    } else {
      // socks5:// resolves here (like curl); the lookup blocks like the connection's own.
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* list = nullptr;
      if (getaddrinfo(host_.c_str(), nullptr, &hints, &list) != 0 || list == nullptr)
        return fail(net_errc::resolve_failed,
                    "could not resolve " + host_ + " for the SOCKS5 proxy");
      if (list->ai_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(list->ai_addr);
        request_ += '\x01';
        request_.append(reinterpret_cast<const char*>(&a->sin_addr), 4);
      } else {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(list->ai_addr);
        request_ += '\x04';
        request_.append(reinterpret_cast<const char*>(&a->sin6_addr), 16);
      }
      freeaddrinfo(list);
    }
    request_ += static_cast<char>(port_ >> 8);
    request_ += static_cast<char>(port_ & 0xff);
    return {};
  }

  std::uint8_t at(std::size_t i) const { return static_cast<std::uint8_t>(reply_[i]); }

  std::error_code handshake(bytes_view data) override {
    if (step_ == step::idle) return fail(net_errc::proxy_handshake_failed, "bytes before start()");
    reply_.append(as_chars(data));
    for (;;) {
      switch (step_) {
        case step::idle: return {};
        case step::greeting: {
          if (reply_.size() < 2) return {};
          if (at(0) != 5)
            return fail(net_errc::proxy_handshake_failed,
                        "not a SOCKS5 proxy (version " + std::to_string(at(0)) + ")");
          const std::uint8_t method = at(1);
          reply_.erase(0, 2);
          if (method == 0xff)
            return fail(net_errc::proxy_auth_failed,
                        options_.username.empty()
                            ? "the SOCKS5 proxy requires authentication"
                            : "the SOCKS5 proxy accepts none of our authentication methods");
          if (method == 0x02 && !options_.username.empty()) {
            std::string auth = "\x01";  // RFC 1929 version 1
            auth += static_cast<char>(options_.username.size());
            auth += options_.username;
            auth += static_cast<char>(options_.password.size());
            auth += options_.password;
            out_.append(auth);
            step_ = step::auth;
          } else if (method == 0x00) {
            out_.append(request_);
            step_ = step::connect;
          } else {
            return fail(net_errc::proxy_handshake_failed, "the SOCKS5 proxy chose method " +
                                                              std::to_string(method) +
                                                              ", which was not offered");
          }
          break;
        }
        case step::auth: {
          if (reply_.size() < 2) return {};
          if (at(0) != 1 && at(0) != 5)  // some servers answer with the SOCKS version
            return fail(net_errc::proxy_handshake_failed, "malformed SOCKS5 authentication reply");
          if (at(1) != 0)
            return fail(net_errc::proxy_auth_failed,
                        "the SOCKS5 proxy rejected user \"" + options_.username + "\"");
          reply_.erase(0, 2);
          out_.append(request_);
          step_ = step::connect;
          break;
        }
        case step::connect: {
          if (reply_.size() < 2) return {};
          if (at(0) != 5) return fail(net_errc::proxy_handshake_failed, "malformed SOCKS5 reply");
          if (at(1) != 0)  // failure replies need not carry a full address: stop here
            return fail(net_errc::proxy_refused,
                        "SOCKS5 proxy: " + std::string(socks_reply_text(at(1))) + " (reply " +
                            std::to_string(at(1)) + ")");
          if (reply_.size() < 4) return {};
          std::size_t address = 0;  // the bound address: IPv4, length-prefixed name, IPv6
          switch (at(3)) {
            case 1: address = 4; break;
            case 3:
              if (reply_.size() < 5) return {};
              address = 1 + std::size_t{at(4)};
              break;
            case 4: address = 16; break;
            default:
              return fail(net_errc::proxy_handshake_failed,
                          "SOCKS5 reply with address type " + std::to_string(at(3)));
          }
          const std::size_t total = 4 + address + 2;
          if (reply_.size() < total) return {};
          finish(as_bytes(std::string_view(reply_).substr(total)));
          reply_.clear();
          step_ = step::idle;
          return {};
        }
      }
    }
  }

  proxy_options options_;
  std::string host_;
  std::uint16_t port_;
  step step_ = step::idle;
  std::string request_;  // the CONNECT request, sent after authentication
  std::string reply_;    // reply bytes not parsed yet
};

// --- HTTP CONNECT ------------------------------------------------------------------------------

std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

class http_connect_layer final : public handshake_layer {
 public:
  http_connect_layer(proxy_options options, std::string host, std::uint16_t port)
      : options_(std::move(options)), host_(strip_brackets(host)), port_(port) {}

  std::error_code start() override {
    if (started_) return {};
    if (host_.empty() || has_line_break(host_) || has_line_break(options_.username) ||
        has_line_break(options_.password))
      return fail(net_errc::invalid_options, "bad host or credentials for the HTTP proxy");
    started_ = true;
    const std::string target = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) +
                               ":" + std::to_string(port_);
    std::string r = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!options_.username.empty())
      r += "Proxy-Authorization: Basic " + base64(options_.username + ":" + options_.password) +
           "\r\n";
    r += "\r\n";
    out_.append(r);
    return {};
  }

  std::string describe() const override { return "HTTP proxy"; }

 private:
  std::error_code handshake(bytes_view data) override {
    if (!started_) return fail(net_errc::proxy_handshake_failed, "bytes before start()");
    const std::size_t before = response_.size();
    response_.append(as_chars(data));
    const auto end = response_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (response_.size() > max_http_response)
        return fail(net_errc::proxy_handshake_failed, "the proxy's response headers are too long");
      return {};
    }
    const std::string status = response_.substr(0, response_.find("\r\n"));
    // "HTTP/1.x NNN reason"
    int code = 0;
    if (status.size() >= 12 && status.compare(0, 7, "HTTP/1.") == 0 && status[8] == ' ' &&
        std::all_of(status.begin() + 9, status.begin() + 12,
                    [](char c) { return c >= '0' && c <= '9'; }))
      code = std::atoi(status.substr(9, 3).c_str());
    if (code == 0) return fail(net_errc::proxy_handshake_failed, "HTTP proxy: \"" + status + "\"");
    if (code == 407) return fail(net_errc::proxy_auth_failed, "HTTP proxy: \"" + status + "\"");
    if (code < 200 || code > 299)
      return fail(net_errc::proxy_refused, "HTTP proxy: \"" + status + "\"");
    finish(data.subspan(end + 4 - before));
    response_.clear();
    response_.shrink_to_fit();
    return {};
  }

  proxy_options options_;
  std::string host_;
  std::uint16_t port_;
  bool started_ = false;
  std::string response_;
};

// --- environment -------------------------------------------------------------------------------

std::string env(const char* upper, const char* lower_name) {
  for (const char* name : {upper, lower_name}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return {};
}

// NO_PROXY: a comma list of host names, domain suffixes (".example.com" and "example.com" both
// cover sub.example.com) and address literals; "*" matches everything.
bool no_proxy_matches(const std::string& list, const std::string& host) {
  const std::string h = lowercase(strip_brackets(host));
  std::string_view rest = list;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry == "*") return true;
    if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    const std::string e = lowercase(strip_brackets(entry));
    if (e.empty()) continue;
    if (h == e) return true;
    if (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0 &&
        h[h.size() - e.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace

std::optional<proxy_options> parse_proxy_url(const std::string& url) {
  proxy_options o;
  std::string_view rest = url;
  const auto sep = rest.find("://");
  // Like curl, a proxy without a scheme is an HTTP proxy.
  const std::string scheme =
      sep == std::string_view::npos ? "http" : lowercase(rest.substr(0, sep));
  if (sep != std::string_view::npos) rest.remove_prefix(sep + 3);
  if (scheme == "socks5" || scheme == "socks5h") {
    o.type = proxy_type::socks5;
    o.remote_dns = scheme == "socks5h";
    o.port = 1080;
  } else if (scheme == "http") {
    o.type = proxy_type::http;
    o.port = 3128;
  } else {
    return std::nullopt;
  }
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const std::string_view path = rest.substr(authority.size());
  if (!path.empty() && path != "/") return std::nullopt;
  // The broker URL parser does userinfo, brackets, the port and percent-decoding.
  const auto parsed = parse_broker_url("mqtt://" + std::string(authority));
  if (!parsed) return std::nullopt;
  o.host = parsed->host;
  // It also fills in 1883 when the port is absent: tell the two apart here.
  const auto at = authority.rfind('@');
  const std::string_view hostport =
      at == std::string_view::npos ? authority : authority.substr(at + 1);
  const auto bracket = hostport.rfind(']');
  const bool has_port =
      hostport.find(':', bracket == std::string_view::npos ? 0 : bracket) != std::string_view::npos;
  if (has_port) o.port = parsed->port;
  if (parsed->username) o.username = *parsed->username;
  if (parsed->password) o.password = *parsed->password;
  return o;
}

std::optional<proxy_options> proxy_from_environment(const std::string& scheme,
                                                    const std::string& host) {
  std::string url = env("ALL_PROXY", "all_proxy");
  if (url.empty()) {
    const std::string s = lowercase(scheme);
    if (s == "mqtts" || s == "wss") url = env("HTTPS_PROXY", "https_proxy");
    else if (s == "mqtt" || s == "ws") url = env("HTTP_PROXY", "http_proxy");
  }
  if (url.empty()) return std::nullopt;
  if (no_proxy_matches(env("NO_PROXY", "no_proxy"), host)) return std::nullopt;
  return parse_proxy_url(url);
}

std::unique_ptr<layer> make_proxy_layer(const proxy_options& options, std::string host,
                                        std::uint16_t port) {
  if (options.type == proxy_type::http)
    return std::make_unique<http_connect_layer>(options, std::move(host), port);
  return std::make_unique<socks5_layer>(options, std::move(host), port);
}

}  // namespace tern::net
