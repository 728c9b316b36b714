// tern::client's drive loop: carrying out the session's actions, reading, writing, timers,
// dispatching events to callbacks, the poll() loop, the background thread and the manual
// (user event loop) entry points. See client_impl.hpp for the theory of operation.
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>

#include "client_impl.hpp"
#include "tern/net/url.hpp"
#include "tern/topic.hpp"

namespace tern {

using client_detail::batch;
using client_detail::event_note;
using client_detail::log_note;

namespace {

time_point now() { return clock::now(); }

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Milliseconds until `deadline`, rounded up, within [0, cap].
int wait_ms(std::optional<time_point> deadline, std::chrono::milliseconds cap) {
  auto wait = cap;
  if (deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now());
    wait = std::clamp(left, std::chrono::milliseconds(0), cap);
  }
  return static_cast<int>(std::min<std::chrono::milliseconds::rep>(wait.count(), 1'000'000));
}

// A reason code for a publish that did not reach the broker.
reason_code failure_reason(const publish_completed& c) {
  switch (c.outcome) {
    case publish_outcome::sent:
    case publish_outcome::acknowledged: return c.code;
    case publish_outcome::dropped: return is_failure(c.code) ? c.code : reason_code::quota_exceeded;
    case publish_outcome::session_lost:
    case publish_outcome::expired:
    case publish_outcome::offline_discarded: return reason_code::unspecified_error;
  }
  return reason_code::unspecified_error;
}

}  // namespace

// ---- logging and wake-ups ----------------------------------------------------------------------

void client::impl::log_hook(void* context, log_level level, std::string_view message) {
  static_cast<impl*>(context)->log(level, message);
}

void client::impl::log(log_level level, std::string_view message) {
  if (logger_enabled && level >= logger_level) {
    const std::string_view l = to_string(level);
    std::fprintf(stderr, "tern %.*s: %.*s\n", static_cast<int>(l.size()), l.data(),
                 static_cast<int>(message.size()), message.data());
  }
  if (self.on_log && logs.size() < 1024) logs.push_back({level, std::string(message)});
}

void client::impl::wake() noexcept {
  if (wake_write < 0 || wake_pending.exchange(true)) return;
  const std::uint64_t one = 1;
  const ssize_t n = ::write(wake_write, &one, sizeof one);
  (void)n;  // full pipe: a wake-up is pending anyway
}

// Drain first, then re-arm: a wake() between the two finds the flag still set and writes
// nothing, but what it announced is processed right after this (under mu). The other order
// could leave the flag set with nothing to read, and every later wake() would be lost.
void client::impl::clear_wake() noexcept {
  std::array<std::byte, 64> sink{};
  while (::read(wake_read, sink.data(), sink.size()) > 0) {
  }
  wake_pending.store(false);
}

bool client::impl::want_write_locked() const noexcept {
  if (conn_busy) return false;
  switch (conn.state()) {
    case net::connection_state::closed: return false;
    case net::connection_state::connecting: return true;
    case net::connection_state::handshaking: return conn.wants_write();
    case net::connection_state::open:
      return conn.wants_write() || (sess && sess->transmit_size() != 0);
  }
  return false;
}

std::optional<time_point> client::impl::next_deadline_locked() const noexcept {
  std::optional<time_point> best;
  auto consider = [&](std::optional<time_point> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  if (sess) consider(sess->poll_timeout());
  if (!conn_busy) consider(conn.deadline());
  consider(retry_at);
  if (read_pending || pending_open) consider(now());
  return best;
}

// ---- carrying out what the session asks
// ----------------------------------------------------------

// Drain order of session.hpp: actions, then events, until neither produces more.
void client::impl::drain(batch& b, std::unique_lock<std::mutex>& lk) {
  if (!sess) return;
  // Log lines go before the events that follow them, so that on_log has told why a
  // connection failed by the time on_connect_fail / on_disconnect run.
  auto move_logs = [&] {
    for (auto& l : logs) b.notes.emplace_back(std::move(l));
    logs.clear();
  };
  for (int round = 0; round < 64; ++round) {
    bool progress = false;
    while (auto a = sess->poll_action()) {
      progress = true;
      do_action(*a, b, lk);
    }
    move_logs();
    while (auto e = sess->poll_event()) {
      progress = true;
      collect(std::move(*e), b);
    }
    if (!progress) break;
  }
  move_logs();
}

void client::impl::do_action(const action& a, batch& b, std::unique_lock<std::mutex>& lk) {
  if (const auto* open = std::get_if<open_transport>(&a)) {
    // Asked for before a disconnect() or a new connect() that this turn has not seen yet.
    if (sess->state() != session_state::opening) return;
    std::string target = host;
    std::uint16_t target_port = port;
    if (!open->server_reference.empty()) {
      if (const auto ref = net::parse_server_reference(std::string(open->server_reference))) {
        target = ref->first;
        if (ref->second != 0) target_port = ref->second;
        log(log_level::notice,
            "redirected by the broker to " + target + ":" + std::to_string(target_port));
      }
    }
    pending_open = false;
    attempt_connected = false;
    open_reported = false;
    write_blocked = false;
    const net::transport_options opts = transport;
    // Name resolution may block: let other threads publish meanwhile. Only the turn holder
    // touches the connection, and conn_busy keeps the accessors away from it.
    conn_busy = true;
    lk.unlock();
    const std::error_code ec = conn.open(target, target_port, opts, now());
    lk.lock();
    conn_busy = false;
    if (ec) {
      transport_failed(ec);
      return;
    }
    ++generation;
    log(log_level::info, "connecting: " + conn.describe());
    if (conn.state() == net::connection_state::open) transport_opened();
    return;
  }
  // close_transport: tell a user event loop before the fd goes away (it must stop watching).
  if (conn.fd() >= 0 && (self.on_socket_close || self.on_socket_unregister_write)) {
    closing = true;
    lk.unlock();
    sync_socket();
    lk.lock();
    closing = false;
  }
  conn.shutdown();
  sess->handle_transport_closed(now());
  (void)b;
}

// The transport asked for is up (once per transport): the session queues CONNECT.
void client::impl::transport_opened() {
  if (open_reported) return;
  open_reported = true;
  log(log_level::info, "transport open: " + conn.describe());
  sess->handle_transport_opened(now());
  read_pending = true;  // a layer may hold bytes beyond its handshake
}

void client::impl::transport_failed(std::error_code ec) {
  ++failures;
  last_error = ec;
  last_error_text = conn.last_error_message();
  log(attempt_connected ? log_level::warning : log_level::notice,
      (attempt_connected ? "connection lost: " : "connection failed: ") + ec.message() +
          (last_error_text.empty() ? "" : " (" + last_error_text + ")"));
  conn.close();
  sess->handle_transport_closed(now());
}

void client::impl::collect(event e, batch& b) {
  event_note n;
  bool keep = true;
  std::visit(
      overloaded{
          [&](const connected&) {
            attempt_connected = true;
            ever_connected = true;
            last_cause.reset();
            first_retry.reset();
            retry_at.reset();
            issue_deferred();
          },
          [&](const disconnected& d) {
            last_cause = d.cause;
            n.before_connack = !attempt_connected;
            attempt_connected = false;
            if (d.cause == disconnect_cause::client_disconnect && suppress_client_disconnect) {
              keep = false;
            } else if (in_blocking_connect && n.before_connack &&
                       d.cause != disconnect_cause::connection_refused &&
                       d.cause != disconnect_cause::client_disconnect) {
              keep = false;  // connect() returns this failure itself
            }
          },
          [&](const message&) {},
          [&](const publish_completed& c) {
            if (const auto it = infos.find(c.id); it != infos.end()) {
              n.info = std::move(it->second);
              infos.erase(it);
            }
          },
          [&](const subscribed& s) {
            n.packet_id = s.packet_id;
            if (const auto it = returned_ids.find(s.packet_id); it != returned_ids.end()) {
              n.packet_id = it->second;
              returned_ids.erase(it);
            }
            if (s.resubscribe) keep = false;
            if (s.aborted) {
              log(log_level::warning, "SUBSCRIBE " + std::to_string(n.packet_id) +
                                          " got no answer before the connection ended");
              keep = false;
            }
          },
          [&](const unsubscribed& u) {
            n.packet_id = u.packet_id;
            if (const auto it = returned_ids.find(u.packet_id); it != returned_ids.end()) {
              n.packet_id = it->second;
              returned_ids.erase(it);
            }
            if (u.aborted) {
              log(log_level::warning, "UNSUBSCRIBE " + std::to_string(n.packet_id) +
                                          " got no answer before the connection ended");
              keep = false;
            }
          },
          [&](const reauthenticated&) { keep = false; },
      },
      e);
  if (!keep) return;
  if (!b.filters && std::holds_alternative<message>(e)) b.filters = filters;
  n.ev = std::move(e);
  b.notes.emplace_back(std::move(n));
}

// Writes what the session holds: one scatter/gather write (more only past 64 slices).
// Returns true when the socket is full. mu held.
bool client::impl::flush(batch& b, std::unique_lock<std::mutex>& lk) {
  for (int i = 0; i < 16; ++i) {
    if (!sess || conn_busy || conn.state() != net::connection_state::open) return false;
    if (sess->transmit_size() == 0) return false;
    if (write_blocked) return true;
    std::array<bytes_view, 64> slices;
    const std::size_t count = sess->poll_transmit(slices);
    std::size_t offered = 0;
    for (std::size_t k = 0; k < count; ++k) offered += slices[k].size();
    std::error_code ec;
    const std::size_t written = conn.write(std::span<const bytes_view>(slices.data(), count), ec);
    if (ec) {
      transport_failed(ec);
      drain(b, lk);
      return false;
    }
    sess->commit_transmit(written, now());
    drain(b, lk);  // markers: QoS 0 "sent", close after DISCONNECT
    if (written < offered) {
      write_blocked = true;
      return true;
    }
  }
  return sess && sess->transmit_size() != 0;
}

// Reads what the socket has, zero-copy into the session's buffer. Events view that buffer,
// and the next receive_buffer() may move it, so after a read that produced events they are
// dispatched (mu released) before reading again.
void client::impl::read_rounds(batch& b, std::unique_lock<std::mutex>& lk) {
  for (int round = 0; round < 16; ++round) {
    read_pending = false;
    for (int i = 0; i < 64; ++i) {
      if (!sess || conn.state() != net::connection_state::open) return;
      const mutable_bytes buffer = sess->receive_buffer();
      std::error_code ec;
      const std::size_t n = conn.read(buffer, ec);
      if (n != 0) sess->handle_received(n, now());
      const std::size_t before = b.notes.size();
      if (ec) {
        transport_failed(ec);
        drain(b, lk);
        return;
      }
      drain(b, lk);
      if (n < buffer.size()) break;  // the socket (and the layers) are empty
      read_pending = true;
      if (b.notes.size() != before) break;
    }
    if (b.empty()) return;
    lk.unlock();
    dispatch(b);
    lk.lock();
    drain(b, lk);
    if (!read_pending) return;
  }
}

void client::impl::process_timers(batch& b, std::unique_lock<std::mutex>& lk) {
  if (!sess) return;
  const time_point t = now();
  if (const auto d = sess->poll_timeout(); d && *d <= t) sess->handle_timeout(t);
  const auto cs = conn.state();
  if (cs == net::connection_state::connecting || cs == net::connection_state::handshaking) {
    if (const auto d = conn.deadline(); d && *d <= t) {
      if (const auto ec = conn.on_timeout(t)) transport_failed(ec);
    }
  }
  if (retry_at && *retry_at <= t) {
    retry_at.reset();
    if (sess->state() == session_state::idle && !user_disconnected) {
      log(log_level::info, "retrying the first connection");
      if (auto r = sess->connect(t); !r) log(log_level::error, to_string(r.error()));
    }
  }
  drain(b, lk);
}

void client::impl::handle_io(short revents, batch& b, std::unique_lock<std::mutex>& lk) {
  if (!sess || revents == 0) return;
  const auto cs = conn.state();
  if (cs == net::connection_state::connecting || cs == net::connection_state::handshaking) {
    const time_point t = now();
    std::error_code ec;
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) != 0) ec = conn.on_writable(t);
    if (!ec && (revents & POLLIN) != 0 && conn.state() != net::connection_state::closed)
      ec = conn.on_readable(t);
    if (ec) {
      transport_failed(ec);
    } else if (conn.state() == net::connection_state::open) {
      transport_opened();
    }
    drain(b, lk);
    return;
  }
  if (cs != net::connection_state::open) return;
  if ((revents & POLLOUT) != 0 && conn.wants_write()) {
    if (const auto ec = conn.on_writable(now())) {
      transport_failed(ec);
      drain(b, lk);
      return;
    }
  }
  if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) read_rounds(b, lk);
}

// One pass over everything: I/O readiness, timers, actions and events, then the write, then
// the callbacks. mu held on entry, released on return.
std::error_code client::impl::process(short revents, batch& b, std::unique_lock<std::mutex>& lk) {
  const std::uint64_t failures_before = failures;
  drain(b, lk);
  if ((revents & (POLLOUT | POLLERR | POLLHUP)) != 0) write_blocked = false;
  if (read_pending) revents = static_cast<short>(revents | POLLIN);
  handle_io(revents, b, lk);
  process_timers(b, lk);
  // With callbacks to run, write after them: what they send joins the same write.
  if (b.empty()) (void)flush(b, lk);
  const bool failed = failures != failures_before;
  const std::error_code error = last_error;
  const bool idle = !sess || sess->state() == session_state::idle;
  lk.unlock();
  finish_dispatch(b);
  sync_socket();
  if (failed) return error;
  if (idle) return make_error_code(errc::not_connected);
  return {};
}

// Waits (mu released while polling) until the transport asked for is open or failed; then
// lets the session send CONNECT. mu held, turn held.
std::error_code client::impl::wait_transport(batch& b, std::unique_lock<std::mutex>& lk) {
  const std::uint64_t failures_before = failures;
  drain(b, lk);  // open_transport
  while (failures == failures_before && !conn_busy &&
         (conn.state() == net::connection_state::connecting ||
          conn.state() == net::connection_state::handshaking)) {
    pollfd p{conn.fd(), static_cast<short>(POLLIN | (conn.wants_write() ? POLLOUT : 0)), 0};
    const int ms = wait_ms(conn.deadline(), std::chrono::milliseconds(1000));
    lk.unlock();
    const int ready = ::poll(&p, 1, ms);
    lk.lock();
    const time_point t = now();
    std::error_code ec;
    if (ready > 0) {
      if ((p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0) ec = conn.on_writable(t);
      if (!ec && (p.revents & POLLIN) != 0 && conn.state() != net::connection_state::closed)
        ec = conn.on_readable(t);
    }
    if (!ec && conn.state() != net::connection_state::open) {
      if (const auto d = conn.deadline(); d && *d <= t) ec = conn.on_timeout(t);
    }
    if (ec) transport_failed(ec);
  }
  if (failures != failures_before) {
    drain(b, lk);
    return last_error;
  }
  if (conn.state() != net::connection_state::open) {
    drain(b, lk);
    return make_error_code(errc::not_connected);
  }
  transport_opened();
  drain(b, lk);
  (void)flush(b, lk);  // CONNECT goes out now, not at the first loop turn
  return {};
}

// ---- callbacks ---------------------------------------------------------------------------------

// Runs the callbacks of a batch; mu is not held. An exception from a callback is passed on
// after the batch is finished, so every message_info still completes.
void client::impl::dispatch(batch& b) {
  client& c = self;
  std::exception_ptr first_error;
  auto guarded = [&](auto&& f) {
    try {
      f();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  };
  for (auto& item : b.notes) {
    if (const auto* l = std::get_if<log_note>(&item)) {
      if (c.on_log) guarded([&] { c.on_log(c, l->level, l->text); });
      continue;
    }
    auto& n = std::get<event_note>(item);
    std::visit(overloaded{
                   [&](const connected& e) {
                     if (c.on_connect)
                       guarded([&] {
                         c.on_connect(c, connect_flags{e.session_present}, reason_code::success,
                                      e.props);
                       });
                   },
                   [&](const disconnected& d) {
                     if (d.cause == disconnect_cause::connection_refused) {
                       if (c.on_connect)
                         guarded([&] { c.on_connect(c, connect_flags{}, d.code, d.props); });
                       if (c.on_disconnect)
                         guarded([&] { c.on_disconnect(c, disconnect_flags{}, d.code, d.props); });
                       return;
                     }
                     if (n.before_connack && d.cause != disconnect_cause::client_disconnect) {
                       if (c.on_connect_fail)
                         guarded([&] {
                           c.on_connect_fail(
                               c, is_failure(d.code) ? d.code : reason_code::unspecified_error);
                         });
                       return;
                     }
                     reason_code code = d.code;
                     if (d.cause != disconnect_cause::client_disconnect &&
                         d.cause != disconnect_cause::server_disconnect && !is_failure(code))
                       code = reason_code::unspecified_error;  // the connection was lost
                     const disconnect_flags flags{d.cause == disconnect_cause::server_disconnect};
                     if (c.on_disconnect)
                       guarded([&] { c.on_disconnect(c, flags, code, d.props); });
                   },
                   [&](const message& m) {
                     bool matched = false;
                     if (b.filters) {
                       for (const auto& entry : *b.filters) {
                         const auto& cb = entry.second;
                         if (cb && topic_matches_sub(entry.first, m.packet.topic)) {
                           matched = true;
                           guarded([&] { cb(c, m.packet); });
                         }
                       }
                     }
                     if (!matched && c.on_message) guarded([&] { c.on_message(c, m.packet); });
                   },
                   [&](const publish_completed& p) {
                     const reason_code code = failure_reason(p);
                     if (c.on_publish) guarded([&] { c.on_publish(c, p.id, code, p.props); });
                     if (n.info) n.info->finish(p.outcome, code);
                   },
                   [&](const subscribed& s) {
                     if (c.on_subscribe)
                       guarded([&] { c.on_subscribe(c, n.packet_id, s.codes, s.props); });
                   },
                   [&](const unsubscribed& u) {
                     if (c.on_unsubscribe)
                       guarded([&] { c.on_unsubscribe(c, n.packet_id, u.codes, u.props); });
                   },
                   [&](const reauthenticated&) {},
               },
               n.ev);
  }
  b.notes.clear();
  b.filters.reset();
  if (first_error) std::rethrow_exception(first_error);
}

// Dispatches, then carries out what the callbacks asked for (their publishes join one write),
// until nothing new comes. mu not held.
void client::impl::finish_dispatch(batch& b) {
  for (int round = 0; round < 16 && !b.empty(); ++round) {
    dispatch(b);
    std::unique_lock<std::mutex> lk(mu);
    drain(b, lk);
    (void)flush(b, lk);
  }
  // Callbacks that keep feeding each other: the rest waits in the session for the next turn.
  if (!b.empty()) dispatch(b);
}

// Tells a user event loop what to watch: level-triggered, so notifications given from
// different threads cannot arrive out of order. mu not held.
void client::impl::sync_socket() {
  client& c = self;
  if (!c.on_socket_open && !c.on_socket_close && !c.on_socket_register_write &&
      !c.on_socket_unregister_write)
    return;
  if (notifying.load() == std::this_thread::get_id()) return;  // from inside a notification
  const std::lock_guard<std::mutex> guard(notify_mu);
  notifying.store(std::this_thread::get_id());
  struct reset {
    impl& m;
    ~reset() { m.notifying.store(std::thread::id{}); }
  } reset_notifying{*this};
  for (int i = 0; i < 8; ++i) {
    int fd = -1;
    std::uint64_t gen = 0;
    bool write = false;
    {
      const std::lock_guard<std::mutex> lock(mu);
      if (conn_busy) return;
      fd = closing ? -1 : conn.fd();
      gen = generation;
      write = fd >= 0 && want_write_locked();
    }
    if (notified_fd >= 0 && (fd != notified_fd || gen != notified_generation)) {
      const int old = notified_fd;
      if (notified_write) {
        notified_write = false;
        if (c.on_socket_unregister_write) c.on_socket_unregister_write(c, old);
      }
      notified_fd = -1;
      if (c.on_socket_close) c.on_socket_close(c, old);
      continue;
    }
    if (notified_fd < 0 && fd >= 0) {
      notified_fd = fd;
      notified_generation = gen;
      notified_write = false;
      if (c.on_socket_open) c.on_socket_open(c, fd);
      continue;
    }
    if (notified_fd >= 0 && write != notified_write) {
      notified_write = write;
      if (write && c.on_socket_register_write) c.on_socket_register_write(c, fd);
      if (!write && c.on_socket_unregister_write) c.on_socket_unregister_write(c, fd);
      continue;
    }
    return;
  }
}

// ---- loops
// ---------------------------------------------------------------------------------------

// One poll() round: the socket (and the wake-up fd), then everything that became ready. The
// turn is not held while polling, so connect() or disconnect() from another thread need not
// wait for the poll; what the poll saw is ignored if the transport changed meanwhile.
std::error_code client::impl::run_turn(std::chrono::milliseconds max_wait) {
  std::array<pollfd, 2> fds{};
  nfds_t count = 0;
  if (wake_read >= 0) fds[count++] = {wake_read, POLLIN, 0};
  int sock = -1;
  std::uint64_t gen = 0;
  int ms = 0;
  {
    const std::lock_guard<std::mutex> lock(mu);
    if (!conn_busy && conn.state() != net::connection_state::closed) sock = conn.fd();
    gen = generation;
    if (sock >= 0)
      fds[count++] = {sock, static_cast<short>(POLLIN | (want_write_locked() ? POLLOUT : 0)), 0};
    ms = wait_ms(next_deadline_locked(), max_wait);
  }
  const int ready = ::poll(fds.data(), count, ms);
  if (ready < 0 && errno != EINTR) return {errno, std::system_category()};
  short revents = 0;
  if (ready > 0) {
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].fd == wake_read && (fds[i].revents & POLLIN) != 0) clear_wake();
      if (fds[i].fd == sock) revents = fds[i].revents;
    }
  }
  turn_guard turn(*this);
  batch b;
  std::unique_lock<std::mutex> lk(mu);
  if (conn_busy || gen != generation || sock != conn.fd()) revents = 0;
  return process(revents, b, lk);
}

std::error_code client::impl::run_forever(std::chrono::milliseconds timeout, bool retry_first,
                                          bool wait_for_connect) {
  if (client_detail::in_turn_of(this))
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  ++active_loops;
  struct leave {
    std::atomic<int>& n;
    ~leave() { --n; }
  } leave_loop{active_loops};
  std::error_code last;
  std::optional<time_point> stop_by;
  for (;;) {
    if (terminating) return last;
    if (stop_requested) {
      // loop_stop() after disconnect(): let the DISCONNECT go out first (paho does too).
      if (!stop_by) stop_by = now() + std::chrono::seconds(2);
      const std::lock_guard<std::mutex> lock(mu);
      const bool closing_down = user_disconnected && sess && sess->state() != session_state::idle;
      if (!closing_down || now() >= *stop_by) return last;
    }
    const std::error_code ec = run_turn(timeout);
    if (ec && ec != make_error_code(errc::not_connected)) last = ec;
    const std::lock_guard<std::mutex> lock(mu);
    if (!sess) {
      if (wait_for_connect) continue;
      return make_error_code(errc::not_connected);
    }
    if (sess->state() != session_state::idle || retry_at || pending_open) continue;
    if (user_disconnected) {
      if (wait_for_connect && !stop_requested) continue;  // the thread stays for a new connect
      return {};
    }
    // Idle after a failure. A first connection that failed at the transport is retried
    // with backoff when asked (paho's retry_first_connection); a refusal is final.
    const bool transient = !last_cause || *last_cause == disconnect_cause::transport_closed ||
                           *last_cause == disconnect_cause::connect_timeout;
    if (have_target && !ever_connected && retry_first && transient) {
      if (!first_retry) first_retry.emplace(cfg.backoff, cfg.random_seed ^ 0x9e3779b97f4a7c15u);
      retry_at = now() + first_retry->next_delay();
      continue;
    }
    if (wait_for_connect) continue;
    return last ? last : make_error_code(errc::not_connected);
  }
}

// ---- client: running -------------------------------------------------------------------------

std::error_code client::loop(std::chrono::milliseconds timeout) {
  impl& m = *impl_;
  if (client_detail::in_turn_of(&m))
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  {
    const std::lock_guard<std::mutex> lock(m.mu);
    if (!m.sess) return make_error_code(errc::not_connected);
  }
  ++m.active_loops;
  const std::error_code ec = m.run_turn(timeout);
  --m.active_loops;
  return ec;
}

std::error_code client::loop_forever(std::chrono::milliseconds timeout,
                                     bool retry_first_connection) {
  return impl_->run_forever(timeout, retry_first_connection, false);
}

std::error_code client::loop_start() {
  impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.thread_mu);
  if (m.thread.joinable()) {
    if (m.thread_alive) return make_error_code(errc::invalid_state);
    m.thread.join();  // it ended by itself
  }
  m.stop_requested = false;
  m.thread_alive = true;
  m.thread = std::thread([&m] {
    try {
      (void)m.run_forever(std::chrono::seconds(1), true, true);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tern: a callback threw, the loop thread stops: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "tern: a callback threw, the loop thread stops\n");
    }
    m.thread_alive = false;
  });
  return {};
}

std::error_code client::loop_stop() {
  impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.thread_mu);
  if (!m.thread.joinable()) return make_error_code(errc::invalid_state);
  if (m.thread.get_id() == std::this_thread::get_id())
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  m.stop_requested = true;
  m.wake();
  m.thread.join();
  m.stop_requested = false;
  return {};
}

// ---- client: user event loops ------------------------------------------------------------------

int client::socket() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->conn_busy || impl_->conn.state() == net::connection_state::closed) return -1;
  return impl_->conn.fd();
}

bool client::want_write() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->want_write_locked();
}

// loop_read() / loop_write() / loop_misc(): one pass with the readiness the caller saw.
std::error_code client::impl::manual_pass(short revents) {
  if (client_detail::in_turn_of(this))
    return std::make_error_code(std::errc::resource_deadlock_would_occur);
  turn_guard turn(*this);
  batch b;
  std::unique_lock<std::mutex> lk(mu);
  if (!sess) return make_error_code(errc::not_connected);
  if (revents != 0 && conn.state() == net::connection_state::closed)
    return make_error_code(errc::not_connected);
  return process(revents, b, lk);
}

std::error_code client::loop_read() { return impl_->manual_pass(POLLIN); }

std::error_code client::loop_write() { return impl_->manual_pass(POLLOUT); }

std::error_code client::loop_misc() {
  const std::error_code ec = impl_->manual_pass(0);
  return ec == make_error_code(errc::not_connected) ? std::error_code() : ec;
}

std::optional<std::chrono::milliseconds> client::next_timeout() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  const auto deadline = impl_->next_deadline_locked();
  if (!deadline) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now());
  return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace tern
