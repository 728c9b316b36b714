// tern::asio::client's I/O: opening a transport (resolve, TCP connect, TLS and WebSocket
// handshakes), the read into the session's receive buffer, the gather write of its transmit
// slices, and closing. Everything runs on the client's strand (client_core.hpp).
#include <asio/connect.hpp>
#include <asio/ip/address.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/write.hpp>

#include <random>
#include <span>

#include "client_core.hpp"
#include "tern/net/url.hpp"

namespace tern::asio::detail {

namespace {

bool uses_tls(transport_kind k) {
  return k == transport_kind::tls || k == transport_kind::websocket_tls;
}
bool uses_websocket(transport_kind k) {
  return k == transport_kind::websocket || k == transport_kind::websocket_tls;
}

std::uint16_t default_port(transport_kind k) {
  switch (k) {
    case transport_kind::tcp: return 1883;
    case transport_kind::tls: return 8883;
    case transport_kind::websocket: return 80;
    case transport_kind::websocket_tls: return 443;
  }
  return 1883;
}

}  // namespace

transport::transport(const client::executor_type& strand, ::asio::ssl::context* tls_context) {
  if (tls_context != nullptr) {
    tls.emplace(strand, *tls_context);
  } else {
    socket.emplace(strand);
  }
}

void transport::close() noexcept {
  std::error_code ignored;
  if (resolver) resolver->cancel();
  if (goodbye_limit) goodbye_limit->cancel();
  lowest().close(ignored);
}

// ---- opening ------------------------------------------------------------------------------------

void client_core::open_transport(std::string_view server_reference, time_point now) {
  target_host_ = options_.host;
  target_port_ = options_.port != 0 ? options_.port : default_port(options_.transport);
  if (!server_reference.empty()) {
    if (const auto ref = net::parse_server_reference(std::string(server_reference))) {
      target_host_ = ref->first;
      if (ref->second != 0) target_port_ = ref->second;
    }
  }
  close_transport();
  ::asio::ssl::context* tls_context = nullptr;
  if (uses_tls(options_.transport)) {
    if (!options_.tls_context) {
      last_transport_error_ = make_error_code(net::net_errc::invalid_options);
      session_.handle_transport_closed(now);
      return;
    }
    tls_context = options_.tls_context.get();
  }
  transport_ = std::allocate_shared<transport>(
      std::pmr::polymorphic_allocator<transport>(memory_), strand_, tls_context);
  opening_ = true;
  open_deadline_ = now + options_.open_timeout;
  const transport_ptr t = transport_;
  std::error_code numeric;
  const auto address = ::asio::ip::make_address(target_host_, numeric);
  if (!numeric) {  // no lookup (and no resolver thread) for a numeric address
    t->lowest().async_connect(tcp::endpoint(address, target_port_),
                              [self = shared_from_this(), t](std::error_code ec) {
                                self->on_tcp_connected(t, ec);
                              });
    return;
  }
  t->resolver.emplace(strand_);
  t->resolver->async_resolve(
      target_host_, std::to_string(target_port_),
      [self = shared_from_this(), t](std::error_code ec, tcp::resolver::results_type results) {
        self->on_resolved(t, ec, results);
      });
}

void client_core::on_resolved(const transport_ptr& t, std::error_code ec,
                              const tcp::resolver::results_type& results) {
  if (!current(t)) return;
  if (ec) {
    transport_failed(ec);
    return drive();
  }
  // Every resolved address in turn, until one accepts.
  ::asio::async_connect(t->lowest(), results,
                        [self = shared_from_this(), t](std::error_code e, const tcp::endpoint&) {
                          self->on_tcp_connected(t, e);
                        });
}

void client_core::on_tcp_connected(const transport_ptr& t, std::error_code ec) {
  if (!current(t)) return;
  if (ec) {
    transport_failed(ec);
    return drive();
  }
  // Coalesced writes need no Nagle delay (docs/ARCHITECTURE.md, "Writes are coalesced").
  t->lowest().set_option(tcp::no_delay(true), ec);
  // write_now() writes without waiting; the asynchronous operations work either way.
  t->lowest().non_blocking(true, ec);
  if (t->tls) {
    const std::string& name =
        options_.tls_server_name.empty() ? target_host_ : options_.tls_server_name;
    std::error_code numeric;
    (void)::asio::ip::make_address(name, numeric);
    if (numeric) {  // SNI carries host names only [RFC 6066 3]
      if (SSL_set_tlsext_host_name(t->tls->native_handle(), name.c_str()) != 1) {
        transport_failed(make_error_code(net::net_errc::tls_setup_failed));
        return drive();
      }
    }
    if (options_.verify_host_name)
      t->tls->set_verify_callback(::asio::ssl::host_name_verification(name));
    t->tls->async_handshake(::asio::ssl::stream_base::client,
                            [self = shared_from_this(), t](std::error_code e) {
                              self->on_tls_handshake(t, e);
                            });
    return;
  }
  if (uses_websocket(options_.transport)) return websocket_handshake(t);
  transport_opened();
  drive();
}

void client_core::on_tls_handshake(const transport_ptr& t, std::error_code ec) {
  if (!current(t)) return;
  if (ec) {
    transport_failed(ec);
    return drive();
  }
  if (uses_websocket(options_.transport)) return websocket_handshake(t);
  transport_opened();
  drive();
}

// The upgrade: write what the layer has, read until it is established. The response is read
// into the session's receive buffer, unused until the transport is open.
void client_core::websocket_handshake(const transport_ptr& t) {
  if (!t->websocket) {
    t->websocket = std::make_unique<net::websocket_layer>(
        options_.websocket, target_host_, target_port_,
        (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}());
    if (const auto ec = t->websocket->start()) {
      transport_failed(ec);
      return drive();
    }
  }
  net::websocket_layer& ws = *t->websocket;
  if (const bytes_view out = ws.writable(); !out.empty()) {
    t->with_stream([&](auto& stream) {
      ::asio::async_write(stream, ::asio::buffer(out.data(), out.size()),
                          [self = shared_from_this(), t](std::error_code ec, std::size_t n) {
                            if (!self->current(t)) return;
                            if (ec) {
                              self->transport_failed(ec);
                              return self->drive();
                            }
                            t->websocket->consume_writable(n);
                            self->websocket_handshake(t);
                          });
    });
    return;
  }
  if (ws.established()) {
    transport_opened();
    return drive();
  }
  t->read_region = session_.receive_buffer();
  t->with_stream([&](auto& stream) {
    stream.async_read_some(
        ::asio::buffer(t->read_region.data(), t->read_region.size()),
        [self = shared_from_this(), t](std::error_code ec, std::size_t n) {
          if (!self->current(t)) return;
          if (!ec) ec = t->websocket->received(t->read_region.first(n));
          if (ec) {
            self->transport_failed(ec);
            return self->drive();
          }
          self->websocket_handshake(t);
        });
  });
}

void client_core::transport_opened() {
  opening_ = false;
  open_deadline_.reset();
  established_ = true;
  const time_point now = clock::now();
  session_.handle_transport_opened(now);
  // MQTT bytes may have followed the upgrade response in the same read.
  if (net::websocket_layer* ws = transport_->websocket.get()) {
    if (const bytes_view in = ws->readable(); !in.empty()) {
      session_.handle_bytes(in, now);
      ws->consume_readable(in.size());
    }
  }
}

void client_core::transport_failed(std::error_code ec) {
  last_transport_error_ = ec;
  close_transport();
  session_.handle_transport_closed(clock::now());
}

// Closing the socket ends the operations in progress (their completions see a transport that
// is no longer current). After close() returns no system call reads our buffers any more, so
// the session may be unfrozen at once. This is the abrupt close, for failures and for the
// client's destruction; retire_transport() below is the polite one.
void client_core::close_transport() noexcept {
  if (transport_) transport_->close();
  forget_transport();
}

void client_core::forget_transport() noexcept {
  transport_.reset();
  opening_ = established_ = reading_ = writing_ = false;
  parked_ = 0;
  parked_data_ = false;
  open_deadline_.reset();
}

// ---- closing politely ---------------------------------------------------------------------------
//
// When the session closes a connection (after its DISCONNECT, or giving up on the broker), a
// WebSocket still holds the last frames the session gave it, the DISCONNECT among them: they
// go out, then a Close frame [RFC 6455 5.5.1]; TLS then sends close_notify [RFC 8446 6.1] and
// waits for the broker's. The client has moved on meanwhile: this runs on the detached
// transport, which its handlers keep alive, and ends by closing the socket after at most
// goodbye_time whatever the broker does.

namespace {

constexpr std::chrono::seconds goodbye_time{2};

void goodbye_shutdown(const std::shared_ptr<transport>& t) {
  if (!t->tls) return t->close();
  t->tls->async_shutdown([t](std::error_code) { t->close(); });
}

void goodbye_write(const std::shared_ptr<transport>& t) {
  const bytes_view out = t->websocket ? t->websocket->writable() : bytes_view{};
  if (out.empty()) return goodbye_shutdown(t);
  t->with_stream([&](auto& stream) {
    ::asio::async_write(stream, ::asio::buffer(out.data(), out.size()),
                        [t](std::error_code ec, std::size_t n) {
                          if (ec) return t->close();
                          t->websocket->consume_writable(n);
                          goodbye_write(t);
                        });
  });
}

}  // namespace

void client_core::retire_transport() {
  const transport_ptr t = transport_;
  // (No write runs here: the session is frozen while one does.)
  if (!t || !established_ || (!t->websocket && !t->tls)) return close_transport();
  forget_transport();
  // The read in progress ends (its completion is dropped: the transport is no longer current)
  // before anything else uses the stream: posted behind that completion.
  std::error_code ignored;
  t->lowest().cancel(ignored);
  t->goodbye_limit.emplace(strand_, goodbye_time);
  t->goodbye_limit->async_wait([t](std::error_code ec) {
    if (ec != ::asio::error::operation_aborted) t->close();
  });
  if (t->websocket) t->websocket->shutdown();
  ::asio::post(strand_, [t] { goodbye_write(t); });
}

// ---- reading ------------------------------------------------------------------------------------

bool client_core::read_paused() const noexcept {
  return received_count_ >= options_.max_received_messages ||
         received_bytes_ >= options_.max_received_bytes;
}

namespace {
// A read that ends a silence this long marks the connection as idle (see start_read).
constexpr std::chrono::seconds idle_after{1};
}  // namespace

// An idle connection holds no receive buffer. When the last read ended a silence of
// idle_after or more, or was the connection's first (CONNACK, after which many clients stay
// quiet), the session gives back its empty buffers and the next read first waits for the
// socket to be readable, taking a buffer only then. A busy connection keeps its buffer and
// reads as it always did. TLS reads as before: its engine, not the socket, says what is
// readable.
void client_core::start_read() {
  if (!established_ || reading_ || parked_data_ || shut_down_ || read_paused()) return;
  const transport_ptr t = transport_;
  reading_ = true;
  if (!t->read_waiting) t->read_since = clock::now();
  if (t->read_quiet && !t->tls) {
    t->read_quiet = false;
    t->read_waiting = true;
    session_.trim_memory();
    t->lowest().async_wait(tcp::socket::wait_read,
                           [self = shared_from_this(), t](std::error_code ec) {
                             if (!self->current(t)) return;
                             self->reading_ = false;
                             if (ec) {
                               self->transport_failed(ec);
                               return self->drive();
                             }
                             self->start_read();  // now with a buffer
                           });
    return;
  }
  t->read_waiting = false;
  // receive_buffer() leaves the transmit slices alone, so this is safe while a write runs.
  t->read_region = session_.receive_buffer();
  t->with_stream([&](auto& stream) {
    stream.async_read_some(::asio::buffer(t->read_region.data(), t->read_region.size()),
                           [self = shared_from_this(), t](std::error_code ec, std::size_t n) {
                             self->on_read(t, ec, n);
                           });
  });
}

void client_core::on_read(const transport_ptr& t, std::error_code ec, std::size_t n) {
  if (!current(t)) return;
  reading_ = false;
  if (ec) {
    transport_failed(ec);
    return drive();
  }
  t->read_quiet = !t->read_before || clock::now() - t->read_since >= idle_after;
  t->read_before = true;
  parked_ = n;
  parked_data_ = true;
  drive();  // gives the bytes to the session, or leaves them parked while a write runs
}

void client_core::process_parked(time_point now) {
  if (!parked_data_) return;
  parked_data_ = false;
  const std::size_t n = std::exchange(parked_, 0);
  net::websocket_layer* ws = transport_->websocket.get();
  if (ws == nullptr) {
    session_.handle_received(n, now);
    return;
  }
  // The layer copies what it needs; the read region may then be reused by handle_bytes().
  if (const auto ec = ws->received(transport_->read_region.first(n))) {
    transport_failed(ec);
    return;
  }
  // One contiguous view, one handle_bytes(): events of an earlier call would be moved.
  if (const bytes_view in = ws->readable(); !in.empty()) {
    session_.handle_bytes(in, now);
    ws->consume_readable(in.size());
  }
}

// ---- writing ------------------------------------------------------------------------------------

bool client_core::pump_websocket(time_point now) {
  bool moved = false;
  net::websocket_layer& ws = *transport_->websocket;
  for (int i = 0; i < 64 && session_.transmit_size() != 0; ++i) {
    std::array<bytes_view, max_write_slices> slices;
    const std::size_t count = session_.poll_transmit(slices);
    std::error_code ec;
    const std::size_t taken = ws.send(std::span<const bytes_view>(slices.data(), count), ec);
    if (ec) {
      transport_failed(ec);
      return true;
    }
    if (taken == 0) break;  // the layer's output is at its bound: write first
    session_.commit_transmit(taken, now);
    moved = true;
    if (!websocket_active()) break;  // the commit closed the transport (after DISCONNECT)
  }
  return moved;
}

bool client_core::write_now(time_point now) {
  if (!established_ || writing_ || shut_down_ || !transport_ || transport_->tls ||
      transport_->websocket)
    return false;
  std::array<bytes_view, max_write_slices> slices;
  const std::size_t count = session_.poll_transmit(slices);
  if (count == 0) return false;
  std::array<::asio::const_buffer, max_write_slices> buffers;
  for (std::size_t i = 0; i < count; ++i)
    buffers[i] = ::asio::const_buffer(slices[i].data(), slices[i].size());
  std::error_code ec;
  const std::size_t n = transport_->socket->write_some(
      std::span<const ::asio::const_buffer>(buffers.data(), count), ec);
  if (ec == ::asio::error::would_block || ec == ::asio::error::try_again) return false;
  if (ec) {
    transport_failed(ec);
    return true;
  }
  session_.commit_transmit(n, now);
  return n != 0;
}

// One asynchronous gather write of what poll_transmit() offers (up to max_async_write_slices;
// consecutive small packets share one slice), or of the WebSocket layer's output.
void client_core::start_write(time_point now) {
  if (!established_ || writing_ || shut_down_) return;
  std::size_t count = 0;
  if (net::websocket_layer* ws = transport_->websocket.get()) {
    const bytes_view out = ws->writable();
    if (out.empty()) return;
    write_buffers_[0] = ::asio::const_buffer(out.data(), out.size());
    count = 1;
  } else {
    std::array<bytes_view, max_async_write_slices> slices;
    count = session_.poll_transmit(slices);
    if (count == 0) return;
    for (std::size_t i = 0; i < count; ++i)
      write_buffers_[i] = ::asio::const_buffer(slices[i].data(), slices[i].size());
  }
  writing_ = true;
  write_started_ = now;
  const transport_ptr t = transport_;
  const std::span<const ::asio::const_buffer> buffers(write_buffers_.data(), count);
  t->with_stream([&](auto& stream) {
    ::asio::async_write(stream, buffers,
                        [self = shared_from_this(), t](std::error_code ec, std::size_t n) {
                          self->on_write(t, ec, n);
                        });
  });
}

void client_core::on_write(const transport_ptr& t, std::error_code ec, std::size_t n) {
  if (!current(t)) return;
  writing_ = false;
  if (ec) {
    transport_failed(ec);
    return drive();
  }
  if (net::websocket_layer* ws = t->websocket.get()) {
    ws->consume_writable(n);
  } else {
    session_.commit_transmit(n, clock::now());
  }
  drive();
}

}  // namespace tern::asio::detail
