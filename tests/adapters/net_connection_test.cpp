// tern::net::connection over real loopback sockets: plain TCP (IPv4, IPv6, "localhost"),
// refused connections, the connect deadline, and the full stack — SOCKS5, TLS, WebSocket — run
// against a server in the test thread that speaks each layer with independent code (a scripted
// SOCKS5 proxy, OpenSSL's server, a hand-written WebSocket server). Only loopback addresses.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "adapters/tls_peer.hpp"
#include "adapters/ws_peer.hpp"
#include "tern/net/connection.hpp"
#include "tern/net/error.hpp"

namespace {

using namespace tern;
using namespace tern::net;
using namespace tern::test;
using namespace std::literals;

// A listening socket on a loopback address and an ephemeral port.
class listener {
 public:
  explicit listener(int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage ss{};
    socklen_t size = 0;
    if (family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      size = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      size = sizeof(sockaddr_in6);
    }
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), size) == 0 &&
          ::listen(fd_, 16) == 0 &&
          ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &size) == 0;
    if (ok_)
      port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                      : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  ~listener() { close(); }
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // A non-blocking accepted socket, or -1 when none is waiting.
  int accept() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return -1;
    return ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
};

// The server end of one connection, layer by layer: [SOCKS5] [TLS] [WebSocket] then an echo of
// the application bytes (or not, when echo is off).
class stack_server {
 public:
  struct options {
    bool socks = false;
    bool tls = false;
    bool websocket = false;
    bool echo = true;
    tls_peer_options tls_options{};
  };
  stack_server(int fd, options o) : fd_(fd), o_(std::move(o)) {
    if (o_.tls) tls_ = std::make_unique<tls_peer>(o_.tls_options);
    socks_done_ = !o_.socks;
  }
  ~stack_server() {
    if (fd_ >= 0) ::close(fd_);
  }
  stack_server(const stack_server&) = delete;
  stack_server& operator=(const stack_server&) = delete;

  int fd() const { return fd_; }
  bool wants_write() const { return !out_.empty(); }
  bool eof() const { return eof_; }
  std::string& app() { return app_; }        // application bytes received (not echoed)
  std::string& closes() { return closes_; }  // payloads of WebSocket close frames received
  tls_peer* tls() { return tls_.get(); }
  std::string socks_request;  // the CONNECT request, as received

  void on_readable() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        on_bytes(std::string(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n == 0) eof_ = true;
      break;
    }
  }
  void on_writable() {
    while (!out_.empty()) {
      const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      out_.erase(0, static_cast<std::size_t>(n));
    }
  }

  // Application bytes to the client, through WebSocket and TLS as configured.
  void send_app(std::string_view s) {
    const std::string framed = o_.websocket ? ws_frame(2, s) : std::string(s);
    send_plain(framed);
  }

 private:
  void send_plain(std::string_view s) {
    if (tls_) {
      tls_->write(s);
      out_ += tls_->take_output();
    } else {
      out_ += s;
    }
  }

  void on_bytes(std::string data) {
    if (!socks_done_) {
      socks_in_ += data;
      data.clear();
      if (socks_step_ == 0 && socks_in_.size() >= 3) {
        socks_in_.erase(0, 3);  // 05 01 00
        out_ += "\x05\x00"sv;
        socks_step_ = 1;
      }
      if (socks_step_ == 1 && socks_in_.size() >= 5) {
        const std::size_t name = static_cast<std::uint8_t>(socks_in_[4]);
        if (socks_in_.size() >= 5 + name + 2) {
          socks_request = socks_in_.substr(0, 5 + name + 2);
          data = socks_in_.substr(5 + name + 2);
          socks_in_.clear();
          out_ += "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x00"sv;
          socks_done_ = true;
        }
      }
      if (data.empty()) return;
    }
    std::string plain;
    if (tls_) {
      tls_->feed(as_bytes(data));
      out_ += tls_->take_output();
      plain.swap(tls_->received());
    } else {
      plain = std::move(data);
    }
    if (!o_.websocket) return deliver(plain);
    ws_in_ += plain;
    if (!upgraded_) {
      const auto request = ws_take_request(ws_in_);
      if (!request) return;
      upgraded_ = true;
      send_plain(ws_response(*request));
    }
    while (auto f = ws_take_frame(ws_in_)) {
      REQUIRE(f->masked);
      if (f->opcode == 8) closes_ += f->payload;
      else deliver(f->payload);
    }
  }

  void deliver(const std::string& s) {
    if (s.empty()) return;
    if (o_.echo) send_app(s);
    else app_ += s;
  }

  int fd_;
  options o_;
  std::unique_ptr<tls_peer> tls_;
  bool socks_done_ = true;
  int socks_step_ = 0;
  std::string socks_in_;
  bool upgraded_ = false;
  std::string ws_in_;
  std::string app_;
  std::string closes_;
  std::string out_;
  bool eof_ = false;
};

// One turn of the event loop: poll the client and the server, then let both make progress.
std::error_code turn(connection& c, stack_server* s, int timeout_ms = 50) {
  pollfd fds[2] = {};
  nfds_t n = 0;
  if (c.fd() >= 0)
    fds[n++] = {c.fd(), static_cast<short>(POLLIN | (c.wants_write() ? POLLOUT : 0)), 0};
  if (s != nullptr)
    fds[n++] = {s->fd(), static_cast<short>(POLLIN | (s->wants_write() ? POLLOUT : 0)), 0};
  ::poll(fds, n, timeout_ms);
  std::error_code ec;
  if (c.fd() >= 0) {
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) ec = c.on_writable(clock::now());
    if (!ec && c.fd() >= 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)))
      ec = c.on_readable(clock::now());
  }
  if (s != nullptr) {
    s->on_readable();
    s->on_writable();
  }
  return ec;
}

// Runs the loop until the connection is open or fails.
std::error_code run_until_open(connection& c, const listener& l,
                               std::unique_ptr<stack_server>& server, stack_server::options o) {
  for (int i = 0; i < 400 && c.state() != connection_state::open; ++i) {
    if (!server) {
      const int fd = l.accept();
      if (fd >= 0) server = std::make_unique<stack_server>(fd, o);
    }
    if (auto ec = turn(c, server.get())) return ec;
    if (c.state() == connection_state::closed) return net_errc::connection_closed;
  }
  return c.state() == connection_state::open ? std::error_code() : net_errc::connect_timeout;
}

// Sends `data` through the connection and collects what comes back until `expect` bytes did.
std::string exchange(connection& c, stack_server& s, const std::string& data, std::size_t expect) {
  std::size_t sent = 0;
  std::string got;
  std::vector<std::byte> buf(65536);
  for (int i = 0; i < 20'000 && (sent < data.size() || got.size() < expect); ++i) {
    if (sent < data.size()) {
      const bytes_view v =
          as_bytes(data).subspan(sent, std::min<std::size_t>(data.size() - sent, 100'000));
      std::error_code ec;
      sent += c.write(std::span(&v, 1), ec);
      REQUIRE_FALSE(ec);
    }
    REQUIRE_FALSE(turn(c, &s, 5));
    for (;;) {
      std::error_code ec;
      const std::size_t n = c.read(buf, ec);
      REQUIRE_FALSE(ec);
      if (n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), n);
    }
  }
  return got;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 13 + (i >> 11));
  return s;
}

transport_options tls_transport() {
  transport_options t;
  t.tls = tls_options{};
  t.tls->ca_file = pki::get().ca();
  return t;
}

}  // namespace

TEST_CASE("connection: plain TCP to 127.0.0.1, TCP_NODELAY, bytes both ways") {
  listener l;
  REQUIRE(l.ok());
  connection c;
  CHECK(c.state() == connection_state::closed);
  CHECK(c.fd() == -1);
  REQUIRE_FALSE(c.open("127.0.0.1", l.port(), {}, clock::now()));
  CHECK(c.fd() >= 0);
  std::unique_ptr<stack_server> server;
  REQUIRE_FALSE(run_until_open(c, l, server, {}));
  int nodelay = 0;
  socklen_t size = sizeof nodelay;
  REQUIRE(::getsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &size) == 0);
  CHECK(nodelay != 0);
  CHECK_FALSE(c.deadline());
  CHECK(c.describe() == "TCP 127.0.0.1:" + std::to_string(l.port()));
  for (int i = 0; i < 100 && !server; ++i) {
    const int fd = l.accept();
    if (fd >= 0) server = std::make_unique<stack_server>(fd, stack_server::options{});
    else ::poll(nullptr, 0, 10);
  }
  REQUIRE(server);
  const std::string data = pattern(300'000);
  CHECK(exchange(c, *server, data, data.size()) == data);

  // Scatter/gather: several slices in one write.
  const bytes_view slices[] = {as_bytes("ab"sv), as_bytes("cd"sv), as_bytes("e"sv)};
  std::error_code ec;
  CHECK(c.write(slices, ec) == 5);
  CHECK(exchange(c, *server, "", 5) == "abcde");

  // The server closes: read() reports connection_closed and the connection is closed.
  server.reset();
  std::vector<std::byte> buf(16);
  for (int i = 0; i < 100 && !ec; ++i) {
    (void)turn(c, nullptr, 10);
    c.read(buf, ec);
  }
  CHECK(ec == net_errc::connection_closed);
  CHECK(c.state() == connection_state::closed);
}

TEST_CASE("connection: \"localhost\" and IPv6 loopback") {
  {
    listener l;
    REQUIRE(l.ok());
    connection c;
    REQUIRE_FALSE(c.open("localhost", l.port(), {}, clock::now()));
    std::unique_ptr<stack_server> server;
    CHECK_FALSE(run_until_open(c, l, server, {}));
  }
  listener l6(AF_INET6);
  if (!l6.ok()) {
    MESSAGE("no IPv6 loopback here: skipped");
    return;
  }
  for (const char* host : {"::1", "[::1]"}) {
    INFO(std::string(host));
    connection c;
    REQUIRE_FALSE(c.open(host, l6.port(), {}, clock::now()));
    std::unique_ptr<stack_server> server;
    CHECK_FALSE(run_until_open(c, l6, server, {}));
    CHECK(c.describe() == "TCP [::1]:" + std::to_string(l6.port()));
  }
}

TEST_CASE("connection: refused after trying every address") {
  std::uint16_t port = 0;
  {
    listener l;  // take a free port, then close it
    REQUIRE(l.ok());
    port = l.port();
  }
  for (const char* host : {"127.0.0.1", "localhost"}) {
    INFO(std::string(host));
    connection c;
    std::error_code ec = c.open(host, port, {}, clock::now());
    for (int i = 0; i < 100 && !ec && c.state() != connection_state::closed; ++i)
      ec = turn(c, nullptr);
    CHECK(ec == std::errc::connection_refused);
    CHECK(c.state() == connection_state::closed);
    CHECK(c.fd() == -1);
  }
}

TEST_CASE("connection: the connect deadline covers the handshakes") {
  listener l;  // accepts in the kernel, never answers the ClientHello
  REQUIRE(l.ok());
  transport_options t = tls_transport();
  t.connect_timeout = std::chrono::seconds(3);
  connection c;
  const time_point start = clock::now();
  REQUIRE_FALSE(c.open("127.0.0.1", l.port(), t, start));
  REQUIRE(c.deadline());
  CHECK(*c.deadline() == start + std::chrono::seconds(3));
  for (int i = 0; i < 20 && c.state() != connection_state::handshaking; ++i)
    REQUIRE_FALSE(turn(c, nullptr));
  CHECK(c.state() == connection_state::handshaking);
  CHECK_FALSE(c.on_timeout(start + std::chrono::seconds(2)));  // not yet: a no-op
  CHECK(c.state() == connection_state::handshaking);
  CHECK(c.on_timeout(start + std::chrono::seconds(3)) == net_errc::connect_timeout);
  CHECK(c.state() == connection_state::closed);
  CHECK(c.fd() == -1);
}

TEST_CASE("connection: TLS over loopback, then WebSocket over TLS, 1 MiB echoed") {
  SUBCASE("mqtts") {
    listener l;
    REQUIRE(l.ok());
    connection c;
    REQUIRE_FALSE(c.open("localhost", l.port(), tls_transport(), clock::now()));
    std::unique_ptr<stack_server> server;
    stack_server::options o;
    o.tls = true;
    REQUIRE_FALSE(run_until_open(c, l, server, o));
    CHECK(c.describe() == "TLS 1.3 over TCP 127.0.0.1:" + std::to_string(l.port()));
    const std::string data = pattern(1 << 20);
    CHECK(exchange(c, *server, data, data.size()) == data);
  }
  SUBCASE("ws") {
    listener l;
    REQUIRE(l.ok());
    transport_options t;
    t.websocket = websocket_options{};
    t.random_seed = 5;
    connection c;
    REQUIRE_FALSE(c.open("127.0.0.1", l.port(), t, clock::now()));
    std::unique_ptr<stack_server> server;
    stack_server::options o;
    o.websocket = true;
    REQUIRE_FALSE(run_until_open(c, l, server, o));
    CHECK(c.describe() == "WebSocket over TCP 127.0.0.1:" + std::to_string(l.port()));
    const std::string data = pattern(1 << 20);
    CHECK(exchange(c, *server, data, data.size()) == data);
  }
  SUBCASE("wss") {
    listener l;
    REQUIRE(l.ok());
    transport_options t = tls_transport();
    t.websocket = websocket_options{};
    connection c;
    REQUIRE_FALSE(c.open("127.0.0.1", l.port(), t, clock::now()));
    std::unique_ptr<stack_server> server;
    stack_server::options o;
    o.tls = true;
    o.websocket = true;
    REQUIRE_FALSE(run_until_open(c, l, server, o));
    CHECK(c.describe() == "WebSocket over TLS 1.3 over TCP 127.0.0.1:" + std::to_string(l.port()));
    const std::string data = pattern(1 << 20);
    CHECK(exchange(c, *server, data, data.size()) == data);
  }
}

TEST_CASE("connection: SOCKS5, TLS and WebSocket stacked; graceful shutdown closes top-down") {
  listener l;  // the "proxy" and, behind it, the broker: one test server speaks all three
  REQUIRE(l.ok());
  transport_options t = tls_transport();
  t.websocket = websocket_options{};
  t.proxy = proxy_options{};
  t.proxy->host = "127.0.0.1";
  t.proxy->port = l.port();
  connection c;
  REQUIRE_FALSE(c.open("localhost", 1883, t, clock::now()));
  std::unique_ptr<stack_server> server;
  stack_server::options o;
  o.socks = true;
  o.tls = true;
  o.websocket = true;
  o.echo = false;
  REQUIRE_FALSE(run_until_open(c, l, server, o));
  CHECK(server->socks_request == "\x05\x01\x00\x03\x09localhost\x07\x5b"sv);
  CHECK(c.describe() ==
        "WebSocket over TLS 1.3 over SOCKS5 proxy over TCP 127.0.0.1:" + std::to_string(l.port()));

  const bytes_view hello = as_bytes("\xc0\x00"sv);  // PINGREQ
  std::error_code ec;
  CHECK(c.write(std::span(&hello, 1), ec) == 2);
  for (int i = 0; i < 50 && server->app().size() < 2; ++i) REQUIRE_FALSE(turn(c, server.get(), 10));
  CHECK(server->app() == "\xc0\x00"sv);
  server->send_app("\xd0\x00"sv);  // PINGRESP
  std::vector<std::byte> buf(16);
  std::size_t n = 0;
  for (int i = 0; i < 50 && n == 0; ++i) {
    REQUIRE_FALSE(turn(c, server.get(), 10));
    n = c.read(buf, ec);
    REQUIRE_FALSE(ec);
  }
  CHECK(n == 2);

  // The WebSocket close frame travels inside TLS, then TLS sends close_notify.
  c.shutdown();
  CHECK(c.state() == connection_state::closed);
  for (int i = 0; i < 50 && !server->eof(); ++i) {
    ::poll(nullptr, 0, 5);
    server->on_readable();
  }
  CHECK(server->eof());
  CHECK(server->closes() == "\x03\xe8"sv);  // 1000, normal closure
  CHECK(server->tls()->got_close_notify());
}

TEST_CASE("connection: layer errors carry the layer's message") {
  listener l;
  REQUIRE(l.ok());
  connection c;
  REQUIRE_FALSE(c.open("localhost", l.port(), tls_transport(), clock::now()));
  std::unique_ptr<stack_server> server;
  stack_server::options o;
  o.tls = true;
  o.tls_options.cert = pki::get().rogue_server_cert();
  o.tls_options.key = pki::get().rogue_server_key();
  CHECK(run_until_open(c, l, server, o) == net_errc::tls_certificate_invalid);
  CHECK(c.state() == connection_state::closed);
  CHECK(c.last_error_message().find("unable to get local issuer certificate") != std::string::npos);

  // A new open() forgets it.
  listener l2;
  REQUIRE(l2.ok());
  REQUIRE_FALSE(c.open("127.0.0.1", l2.port(), {}, clock::now()));
  CHECK(c.last_error_message().empty());
}

TEST_CASE("connection: wss without a usable TLS setup fails when the layer starts") {
  listener l;
  REQUIRE(l.ok());
  transport_options t = tls_transport();
  t.tls->ca_file = "/nonexistent/ca.pem";
  connection c;
  std::error_code ec = c.open("127.0.0.1", l.port(), t, clock::now());
  for (int i = 0; i < 100 && !ec && c.state() != connection_state::closed; ++i)
    ec = turn(c, nullptr);
  CHECK(ec == net_errc::tls_setup_failed);
  CHECK(c.last_error_message().find("/nonexistent/ca.pem") != std::string::npos);
}
