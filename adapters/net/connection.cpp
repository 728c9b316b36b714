// A connection: resolve, connect without blocking (each address in turn), then run the layer
// stack's handshakes bottom-up, and move bytes between the socket and the top layer.
#include "tern/net/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <random>
#include <vector>

#include "tern/net/error.hpp"

namespace tern::net {

namespace {

struct address {
  sockaddr_storage storage{};
  socklen_t size = 0;
};

std::error_code last_errno() { return {errno, std::system_category()}; }

std::string to_text(const address& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (a.storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  // Appended step by step: g++ 12 -O3 sees a false -Wrestrict in "[" + std::string(...).
  std::string text = "[";
  text += host;
  text += "]:";
  text += std::to_string(port);
  return text;
}

std::error_code resolve(const std::string& host, std::uint16_t port, std::vector<address>& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  const std::string name = host.size() > 2 && host.front() == '[' && host.back() == ']'
                               ? host.substr(1, host.size() - 2)
                               : host;
  if (getaddrinfo(name.c_str(), service.c_str(), &hints, &list) != 0 || list == nullptr)
    return net_errc::resolve_failed;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.size = static_cast<socklen_t>(ai->ai_addrlen);
    const bool seen = std::any_of(out.begin(), out.end(), [&](const address& b) {
      return b.size == a.size && std::memcmp(&b.storage, &a.storage, a.size) == 0;
    });
    if (!seen) out.push_back(a);
  }
  freeaddrinfo(list);
  return out.empty() ? std::error_code(net_errc::resolve_failed) : std::error_code();
}

}  // namespace

struct connection::impl {
  int fd = -1;
  connection_state st = connection_state::closed;
  std::vector<address> addresses;
  std::size_t next_address = 0;
  std::error_code last_connect_error;
  std::string host;  // the broker
  std::uint16_t port = 0;
  std::string peer;  // the address connected to, for describe()
  std::vector<std::unique_ptr<layer>> layers;  // bottom (socket side) to top (MQTT side)
  std::vector<bool> started;
  std::array<std::byte, 16 * 1024> inbuf{};
  std::optional<time_point> deadline;
  std::string error_message;  // the failing layer's words; survives reset() until open()

  void close_fd() noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  // Keeps the failing layer's own words for last_error_message(), before reset() drops it.
  void note_error() noexcept {
    for (const auto& l : layers) {
      if (!l->last_error_message().empty()) {
        try {
          error_message = l->last_error_message();
        } catch (...) {  // out of memory: the error code alone must do
        }
        return;
      }
    }
  }

  void reset() noexcept {
    close_fd();
    st = connection_state::closed;
    addresses.clear();
    next_address = 0;
    layers.clear();
    started.clear();
    deadline.reset();
  }

  // Tries addresses from next_address on until a connect is under way or done.
  std::error_code try_connect() {
    while (next_address < addresses.size()) {
      const address& a = addresses[next_address++];
      close_fd();
      fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
      if (fd < 0) {
        last_connect_error = last_errno();
        continue;
      }
      // Small MQTT packets must not wait for Nagle and delayed ACKs (see DESIGN: 5x).
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      peer = to_text(a);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.size) == 0)
        return connected();
      if (errno == EINPROGRESS) {
        st = connection_state::connecting;
        return {};
      }
      last_connect_error = last_errno();
    }
    close_fd();
    st = connection_state::closed;
    return last_connect_error ? last_connect_error : std::error_code(net_errc::connect_failed);
  }

  std::error_code connected() {
    addresses.clear();
    if (layers.empty()) {
      st = connection_state::open;
      deadline.reset();
      return {};
    }
    st = connection_state::handshaking;
    return advance();
  }

  // Starts each layer once the one below is established; open when all are.
  std::error_code advance() {
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (!started[i]) {
        started[i] = true;
        if (auto ec = layers[i]->start()) return ec;
      }
      if (!layers[i]->established()) break;
      // What the layer decoded beyond its handshake belongs to the next one.
      if (i + 1 < layers.size()) {
        if (!started[i + 1]) {
          started[i + 1] = true;
          if (auto ec = layers[i + 1]->start()) return ec;
        }
        const bytes_view up = layers[i]->readable();
        if (!up.empty()) {
          if (auto ec = layers[i + 1]->received(up)) return ec;
          layers[i]->consume_readable(up.size());
        }
      }
    }
    if (st == connection_state::handshaking &&
        std::all_of(layers.begin(), layers.end(), [](const auto& l) { return l->established(); })) {
      st = connection_state::open;
      deadline.reset();
    }
    return pump_down();
  }

  // Moves bytes from each layer's output into the layer below, and the bottom's to the socket.
  std::error_code pump_down() {
    for (;;) {
      bool progress = false;
      for (std::size_t i = layers.size(); i-- > 1;) {
        if (!started[i - 1] || !layers[i - 1]->established()) continue;
        const bytes_view w = layers[i]->writable();
        if (w.empty()) continue;
        std::error_code ec;
        const std::size_t n = layers[i - 1]->send(std::span<const bytes_view>(&w, 1), ec);
        if (ec) return ec;
        layers[i]->consume_writable(n);
        progress |= n != 0;
      }
      if (!layers.empty()) {
        const bytes_view w = layers.front()->writable();
        if (!w.empty()) {
          const ssize_t n = ::send(fd, w.data(), w.size(), MSG_NOSIGNAL);
          if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
            if (errno == EINTR) continue;
            return last_errno();
          }
          layers.front()->consume_writable(static_cast<std::size_t>(n));
          progress |= n != 0;
        }
      }
      if (!progress) return {};
    }
  }

  // Reads what the socket has into the bottom layer and passes decoded bytes upwards.
  std::error_code pump_up(bool& got_eof) {
    got_eof = false;
    for (;;) {
      const ssize_t n = ::recv(fd, inbuf.data(), inbuf.size(), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return last_errno();
      }
      if (n == 0) {
        got_eof = true;
        break;
      }
      if (auto ec = layers.front()->received({inbuf.data(), static_cast<std::size_t>(n)})) return ec;
      if (static_cast<std::size_t>(n) < inbuf.size()) break;
    }
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
      if (!started[i + 1]) break;
      const bytes_view up = layers[i]->readable();
      if (up.empty()) continue;
      if (auto ec = layers[i + 1]->received(up)) return ec;
      layers[i]->consume_readable(up.size());
    }
    return advance();
  }
};

connection::connection() : impl_(std::make_unique<impl>()) {}
connection::~connection() { close(); }
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

std::error_code connection::open(const std::string& host, std::uint16_t port,
                                 const transport_options& options, time_point now) {
  impl& c = *impl_;
  c.reset();
  c.error_message.clear();
  c.host = host;
  c.port = port;
  c.last_connect_error.clear();

  std::optional<proxy_options> proxy = options.proxy;
  if (!proxy && options.proxy_from_environment) {
    const std::string scheme =
        options.websocket ? (options.tls ? "wss" : "ws") : (options.tls ? "mqtts" : "mqtt");
    proxy = proxy_from_environment(scheme, host);
  }
  if (proxy) c.layers.push_back(make_proxy_layer(*proxy, host, port));
  if (options.tls) c.layers.push_back(std::make_unique<tls_layer>(*options.tls, host));
  if (options.websocket) {
    std::uint64_t seed = options.random_seed;
    if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    c.layers.push_back(std::make_unique<websocket_layer>(*options.websocket, host, port, seed));
  }
  c.started.assign(c.layers.size(), false);

  const std::string& target = proxy ? proxy->host : host;
  const std::uint16_t target_port = proxy ? proxy->port : port;
  if (auto ec = resolve(target, target_port, c.addresses)) {
    c.reset();
    return ec;
  }
  c.deadline = now + options.connect_timeout;
  if (auto ec = c.try_connect()) {
    c.note_error();
    c.reset();
    return ec;
  }
  return {};
}

connection_state connection::state() const noexcept { return impl_->st; }
int connection::fd() const noexcept { return impl_->fd; }
std::optional<time_point> connection::deadline() const noexcept { return impl_->deadline; }

bool connection::wants_write() const noexcept {
  const impl& c = *impl_;
  if (c.st == connection_state::connecting) return true;
  return std::any_of(c.layers.begin(), c.layers.end(),
                     [](const auto& l) { return !l->writable().empty(); });
}

std::error_code connection::on_writable(time_point) {
  impl& c = *impl_;
  if (c.st == connection_state::connecting) {
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error == EINPROGRESS) return {};
    std::error_code ec;
    if (error != 0) {
      c.last_connect_error = {error, std::system_category()};
      ec = c.try_connect();  // the next address, if any
    } else {
      ec = c.connected();
    }
    if (ec) {
      c.note_error();
      close();
    }
    return ec;
  }
  if (c.st == connection_state::closed) return net_errc::connection_closed;
  if (auto ec = c.pump_down()) {
    c.note_error();
    close();
    return ec;
  }
  return {};
}

std::error_code connection::on_readable(time_point) {
  impl& c = *impl_;
  if (c.st == connection_state::closed) return net_errc::connection_closed;
  if (c.st == connection_state::connecting || c.layers.empty()) return {};
  bool eof = false;
  std::error_code ec = c.pump_up(eof);
  if (!ec && eof && c.layers.back()->readable().empty()) ec = net_errc::connection_closed;
  if (ec) {
    c.note_error();
    close();
  }
  return ec;
}

std::error_code connection::on_timeout(time_point now) {
  impl& c = *impl_;
  if (c.deadline && now >= *c.deadline &&
      (c.st == connection_state::connecting || c.st == connection_state::handshaking)) {
    close();
    return net_errc::connect_timeout;
  }
  return {};
}

std::size_t connection::read(mutable_bytes out, std::error_code& ec) {
  impl& c = *impl_;
  ec.clear();
  if (c.st != connection_state::open) {
    if (c.st == connection_state::closed) ec = net_errc::connection_closed;
    return 0;
  }
  if (c.layers.empty()) {
    for (;;) {
      const ssize_t n = ::recv(c.fd, out.data(), out.size(), 0);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) {
        ec = net_errc::connection_closed;
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = last_errno();
      }
      if (ec) close();
      return 0;
    }
  }
  layer& top = *c.layers.back();
  bool eof = false;
  if (top.readable().empty()) {
    ec = c.pump_up(eof);
    if (ec) {
      c.note_error();
      close();
      return 0;
    }
  }
  const bytes_view r = top.readable();
  const std::size_t n = std::min(r.size(), out.size());
  if (n != 0) std::memcpy(out.data(), r.data(), n);
  top.consume_readable(n);
  if (n == 0 && eof) {
    ec = net_errc::connection_closed;
    close();
  }
  return n;
}

std::size_t connection::write(std::span<const bytes_view> slices, std::error_code& ec) {
  impl& c = *impl_;
  ec.clear();
  if (c.st != connection_state::open) {
    ec = net_errc::connection_closed;
    return 0;
  }
  if (c.layers.empty()) {
    std::array<iovec, 64> iov{};
    std::size_t count = 0;
    for (const bytes_view s : slices) {
      if (count == iov.size()) break;
      if (s.empty()) continue;
      iov[count].iov_base = const_cast<std::byte*>(s.data());
      iov[count].iov_len = s.size();
      ++count;
    }
    if (count == 0) return 0;
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    for (;;) {
      const ssize_t n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = last_errno();
        close();
      }
      return 0;
    }
  }
  const std::size_t n = c.layers.back()->send(slices, ec);
  if (!ec) ec = c.pump_down();
  if (ec) {
    c.note_error();
    close();
  }
  return n;
}

void connection::shutdown() noexcept {
  impl& c = *impl_;
  if (c.st == connection_state::open || c.st == connection_state::handshaking) {
    // Top down, each layer's closing bytes pass through the layers below before those close
    // too (a WebSocket close frame must be encrypted before TLS sends close_notify).
    for (std::size_t i = c.layers.size(); i-- > 0;) {
      if (!c.started[i]) continue;
      c.layers[i]->shutdown();
      (void)c.pump_down();
    }
    if (c.fd >= 0) ::shutdown(c.fd, SHUT_WR);
  }
  close();
}

void connection::close() noexcept {
  if (impl_) impl_->reset();
}

const std::string& connection::last_error_message() const noexcept {
  return impl_->error_message;
}

std::string connection::describe() const {
  const impl& c = *impl_;
  std::string s;
  for (std::size_t i = c.layers.size(); i-- > 0;) s += c.layers[i]->describe() + " over ";
  return s + "TCP " + (c.peer.empty() ? c.host + ":" + std::to_string(c.port) : c.peer);
}

}  // namespace tern::net
