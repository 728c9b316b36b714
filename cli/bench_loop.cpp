// Theory of operation. Every connection is a tern::client in the user-event-loop mode: its
// socket callbacks keep one epoll set in step (open: add, close: delete; the wish to write is
// recorded and applied once per turn, so a publish burst that sets and clears it costs no
// epoll_ctl), readiness goes to loop_read() / loop_write(), and each client's next_timeout()
// goes into a min-heap of wake-ups (stale entries only cause a harmless loop_misc()).
//
// Publishers keep at most --inflight messages outstanding: with --rate 0 a completion
// (on_publish) immediately publishes the next message from inside the callback, and the client
// writes it with the rest of the turn's output; with a rate, a scan at most once a millisecond
// publishes what each publisher's schedule says is due, staggered so that publishers do not
// fire in lock step. Bursts published outside a callback are written at once (loop_write())
// rather than after an epoll round trip.
#include "bench_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <utility>

#include <fmt/format.h>

#include "tern/client.hpp"
#include "tern/error_code.hpp"

namespace tern::cli {

namespace {

constexpr std::uint64_t control_key = std::numeric_limits<std::uint64_t>::max();
constexpr std::int64_t ns_per_ms = 1'000'000;
constexpr std::int64_t idle_wait_ns = 100 * ns_per_ms;  // bench_control is looked at this often
constexpr std::int64_t rate_tick_ns = ns_per_ms;        // scans of the --rate schedule
constexpr std::size_t failures_kept = 32;

enum class link_state { connecting, ready, failed, closed };

// Counters have a single writer (the loop), so a plain load + store is enough and is cheaper
// than a locked read-modify-write.
template <class T>
void bump(std::atomic<T>& counter, T by = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

struct connection {
  std::unique_ptr<client> mqtt;
  bool publisher = false;
  std::size_t index = 0;  // publisher or subscriber index in the plan
  std::string_view id;
  link_state state = link_state::connecting;
  int fd = -1;
  bool write_wanted = false;   // what the client last asked for
  bool write_watched = false;  // what the epoll set has
  bool interest_queued = false;
  std::int64_t timer_ns = -1;  // the earliest wake-up this connection has in the heap
  std::string logged;    // the client's notices and warnings: why a connection failed
  std::string failure;   // set when it failed; rendered with `logged` once the loop ends

  // publishers
  std::string_view topic;
  std::vector<std::byte> payload;
  std::uint64_t sent = 0;       // accepted by publish(); also the next sequence number
  std::uint64_t completed = 0;  // outcome known
  std::uint64_t delivered = 0;  // completed without a failure
  std::int64_t offset_ns = 0;   // --rate: where in the period this publisher fires
  bool stopped = false;         // publishes no more (count reached, or failed)
  bool publish_problem_noted = false;

  // subscribers: one tracker per publisher
  std::vector<sequence_tracker> from;

  std::string describe() const {
    return fmt::format("{} {} ({})", publisher ? "publisher" : "subscriber", index, id);
  }
};

std::string reason_text(reason_code code) {
  return fmt::format("{} (0x{:02x})", make_error_code(code).message(),
                     static_cast<unsigned>(code));
}

}  // namespace

struct bench_loop::impl {
  impl(const bench_settings& s, const bench_plan& p, bench_control& c)
      : settings(s), plan(p), control(c) {}
  ~impl();

  const bench_settings& settings;
  const bench_plan& plan;
  bench_control& control;
  bench_counters counters;
  bench_loop_result result;

  std::vector<connection> links;  // never resized after construction: callbacks use indexes
  std::vector<std::size_t> publisher_links;
  int epoll_fd = -1;
  int wake_fd = -1;
  bench_phase phase = bench_phase::connecting;
  std::int64_t start_ns = 0;
  std::int64_t connect_deadline_ns = 0;
  std::int64_t next_rate_scan_ns = -1;
  std::int64_t last_rate_scan_ns = 0;
  double period_ns = 0;  // --rate: between two messages of one publisher

  using wake_up = std::pair<std::int64_t, std::size_t>;  // when, which connection
  std::priority_queue<wake_up, std::vector<wake_up>, std::greater<>> timers;
  std::vector<std::size_t> interest_changes;

  void add_connection(std::size_t slot, bool publisher, std::size_t index);
  void install_callbacks(std::size_t slot);
  void run();
  void enter(bench_phase next);
  void handle_event(const epoll_event& ev);
  void run_timers(std::int64_t now);
  void reschedule(std::size_t slot);
  void apply_interest();
  void queue_interest(std::size_t slot, bool write);
  void expire_connects(std::int64_t now);

  bool may_publish(const connection& c) const noexcept {
    return phase == bench_phase::publishing && c.state == link_state::ready && !c.stopped;
  }
  bool window_open(const connection& c) const noexcept {
    return c.sent - c.completed < settings.inflight;
  }
  bool publish_one(connection& c);
  void top_up(connection& c);
  void flush(std::size_t slot);
  void stop_publishing(connection& c);
  std::uint64_t due_count(const connection& c, std::int64_t now) const noexcept;
  void scan_rates(std::int64_t now);

  void note_publish_problem(connection& c, const std::string& what);
  void mark_ready(connection& c);
  void fail(connection& c, const std::string& why);
  void on_completion(connection& c, reason_code code);
  void on_delivery(connection& c, const publish& message);
  void collect_results();
};

bench_loop::impl::~impl() {
  links.clear();  // clients close their sockets (and tell the callbacks) before the fds go
  if (epoll_fd >= 0) ::close(epoll_fd);
  if (wake_fd >= 0) ::close(wake_fd);
}

// ---- setting up -------------------------------------------------------------------------------

void bench_loop::impl::add_connection(std::size_t slot, bool publisher, std::size_t index) {
  connection& c = links[slot];
  c.publisher = publisher;
  c.index = index;
  c.id = publisher ? plan.publisher_ids[index] : plan.subscriber_ids[index];
  client_options options;
  options.client_id = std::string(c.id);
  options.version = settings.version;
  options.transport = settings.websocket ? transport_kind::websockets : transport_kind::tcp;
  options.clean_start = clean_start_policy::always;
  options.reconnect_on_failure = false;  // a lost connection is a result, not something to hide
  c.mqtt = std::make_unique<client>(std::move(options));
  client& m = *c.mqtt;
  if (settings.username) m.username_pw_set(*settings.username, settings.password);
  if (settings.tls) m.tls_set(*settings.tls);
  if (settings.websocket) m.ws_set_options(settings.websocket_path);
  m.connect_timeout_set(settings.connect_timeout);
  m.max_inflight_messages_set(settings.inflight);
  if (publisher) {
    c.topic = plan.publisher_topics[index];
    c.payload.assign(settings.payload_size, std::byte{'x'});
    // Room for a whole window of unwritten QoS 0 messages, so publish() never says would_block.
    auto& session = m.session_options();
    session.max_transmit_bytes =
        std::max(session.max_transmit_bytes,
                 static_cast<std::size_t>(settings.inflight) * (settings.payload_size + c.topic.size() + 64));
    if (settings.rate > 0) {
      c.offset_ns = static_cast<std::int64_t>(period_ns * static_cast<double>(index) /
                                              static_cast<double>(settings.publishers));
    }
    publisher_links.push_back(slot);
  } else {
    c.from.resize(settings.publishers);
  }
  install_callbacks(slot);
}

void bench_loop::impl::install_callbacks(std::size_t slot) {
  client& m = *links[slot].mqtt;
  m.on_socket_open = [this, slot](client&, int fd) {
    connection& c = links[slot];
    c.fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | (c.write_wanted ? EPOLLOUT : 0u);
    ev.data.u64 = slot;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    c.write_watched = c.write_wanted;
  };
  m.on_socket_close = [this, slot](client&, int fd) {
    connection& c = links[slot];
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);  // before the fd number can be reused
    c.fd = -1;
    c.write_wanted = c.write_watched = false;
  };
  m.on_socket_register_write = [this, slot](client&, int) { queue_interest(slot, true); };
  m.on_socket_unregister_write = [this, slot](client&, int) { queue_interest(slot, false); };
  m.on_log = [this, slot](client&, log_level level, std::string_view text) {
    std::string& logged = links[slot].logged;
    if (level >= log_level::notice && logged.size() < 512)
      logged.append(logged.empty() ? "" : "; ").append(text);
  };
  m.on_connect = [this, slot](client& cl, connect_flags, reason_code code, const properties&) {
    connection& c = links[slot];
    if (is_failure(code)) {
      fail(c, "refused by the broker: " + reason_text(code));
      return;
    }
    if (c.publisher) {
      mark_ready(c);
      return;
    }
    const auto [ec, id] = cl.subscribe(plan.subscriber_filters[c.index], settings.q);
    (void)id;
    if (ec) fail(c, fmt::format("subscribe '{}': {}", plan.subscriber_filters[c.index], ec.message()));
  };
  m.on_connect_fail = [this, slot](client&, reason_code code) {
    connection& c = links[slot];
    fail(c, code == reason_code::unspecified_error ? std::string("could not connect")
                                                   : "connection failed: " + reason_text(code));
  };
  m.on_subscribe = [this, slot](client&, std::uint16_t, const reason_code_list& codes,
                                const properties&) {
    connection& c = links[slot];
    for (const reason_code code : codes) {
      if (is_failure(code)) {
        fail(c, fmt::format("subscription to '{}' refused: {}", plan.subscriber_filters[c.index],
                            reason_text(code)));
        return;
      }
    }
    mark_ready(c);
  };
  m.on_disconnect = [this, slot](client&, disconnect_flags flags, reason_code code,
                                 const properties&) {
    connection& c = links[slot];
    if (phase == bench_phase::disconnecting) return;
    fail(c, flags.is_disconnect_packet_from_server
                ? "disconnected by the broker: " + reason_text(code)
                : code == reason_code::unspecified_error ? std::string("connection lost")
                                                         : "connection lost: " + reason_text(code));
  };
  m.on_publish = [this, slot](client&, message_id, reason_code code, const properties&) {
    on_completion(links[slot], code);
  };
  m.on_message = [this, slot](client&, const publish& message) {
    on_delivery(links[slot], message);
  };
}

// ---- connection state -------------------------------------------------------------------------

void bench_loop::impl::mark_ready(connection& c) {
  if (c.state != link_state::connecting) return;
  c.state = link_state::ready;
  bump(counters.ready);
}

void bench_loop::impl::fail(connection& c, const std::string& why) {
  if (c.state == link_state::failed || c.state == link_state::closed) return;
  c.state = link_state::failed;
  bump(counters.failed);
  c.failure = why;
  if (c.publisher) {
    stop_publishing(c);
    // What it still had outstanding will never be settled: the drain must not wait for it.
    bump(counters.outstanding, -static_cast<std::int64_t>(c.sent - c.completed));
  }
}

// The first refused message of each publisher (one line each, not one per message).
void bench_loop::impl::note_publish_problem(connection& c, const std::string& what) {
  if (c.publish_problem_noted || result.publish_problems.size() >= failures_kept) return;
  c.publish_problem_noted = true;
  result.publish_problems.push_back(c.describe() + ": " + what);
}

void bench_loop::impl::expire_connects(std::int64_t now) {
  if (phase != bench_phase::connecting || now < connect_deadline_ns) return;
  for (connection& c : links) {
    if (c.state != link_state::connecting) continue;
    fail(c, fmt::format("no {} within {} ms", c.publisher ? "CONNACK" : "CONNACK and SUBACK",
                        settings.connect_timeout.count()));
  }
}

// ---- publishing -------------------------------------------------------------------------------

bool bench_loop::impl::publish_one(connection& c) {
  write_stamp(c.payload, bench_stamp{settings.run_id, static_cast<std::uint32_t>(c.index), c.sent,
                                     steady_now_ns()});
  const message_info info = c.mqtt->publish(c.topic, bytes_view(c.payload), settings.q);
  if (const std::error_code ec = info.rc()) {
    bump(counters.publish_errors);
    note_publish_problem(c, "publish refused: " + ec.message());
    return false;
  }
  ++c.sent;
  bump(counters.published);
  bump(counters.outstanding, std::int64_t{1});
  if (settings.count && c.sent >= *settings.count) stop_publishing(c);
  return true;
}

void bench_loop::impl::stop_publishing(connection& c) {
  if (c.stopped) return;
  c.stopped = true;
  bump(counters.publishers_stopped);
}

void bench_loop::impl::top_up(connection& c) {
  while (may_publish(c) && window_open(c)) {
    if (!publish_one(c)) break;
  }
}

// Writes what was just published now, rather than after a round trip through epoll.
void bench_loop::impl::flush(std::size_t slot) {
  (void)links[slot].mqtt->loop_write();
  reschedule(slot);
}

std::uint64_t bench_loop::impl::due_count(const connection& c, std::int64_t now) const noexcept {
  const std::int64_t since = now - start_ns - c.offset_ns;
  if (since < 0) return 0;
  auto due = static_cast<std::uint64_t>(std::floor(static_cast<double>(since) / period_ns)) + 1;
  if (settings.count) due = std::min(due, *settings.count);
  return due;
}

void bench_loop::impl::scan_rates(std::int64_t now) {
  last_rate_scan_ns = now;
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const std::size_t slot : publisher_links) {
    connection& c = links[slot];
    const std::uint64_t due = due_count(c, now);
    bool published = false;
    while (c.sent < due && may_publish(c) && window_open(c)) {
      if (!publish_one(c)) break;
      published = true;
    }
    if (published) flush(slot);
    // A full window is reopened by a completion, which asks for a scan itself.
    if (may_publish(c) && window_open(c)) {
      const auto at = start_ns + c.offset_ns +
                      static_cast<std::int64_t>(std::ceil(static_cast<double>(c.sent) * period_ns));
      next = std::min(next, at);
    }
  }
  next_rate_scan_ns = next == std::numeric_limits<std::int64_t>::max() ? -1 : next;
}

void bench_loop::impl::on_completion(connection& c, reason_code code) {
  ++c.completed;
  const std::int64_t now = steady_now_ns();
  result.last_completion_ns = now;
  bump(counters.completed);
  if (c.state != link_state::failed) bump(counters.outstanding, std::int64_t{-1});
  if (is_failure(code)) {
    bump(counters.publish_errors);
    note_publish_problem(c, "message not accepted: " + reason_text(code));
  } else {
    ++c.delivered;
    bump(counters.expected, std::uint64_t{plan.fanout[c.index]});
  }
  if (settings.rate > 0) {
    if (may_publish(c) && (next_rate_scan_ns < 0 || next_rate_scan_ns > now))
      next_rate_scan_ns = now;  // the window reopened: catch up with the schedule
    return;
  }
  top_up(c);  // the client writes these with the rest of this turn's output
}

void bench_loop::impl::on_delivery(connection& c, const publish& message) {
  const std::int64_t now = steady_now_ns();
  bump(counters.received);
  const auto stamp = read_stamp(message.payload);
  if (!stamp || stamp->run_id != settings.run_id || stamp->publisher >= c.from.size()) {
    ++result.foreign;
    return;
  }
  result.last_receive_ns = now;
  result.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - stamp->sent_ns)));
  switch (c.from[stamp->publisher].record(stamp->sequence)) {
    case sequence_tracker::arrival::duplicate: ++result.duplicates; return;
    case sequence_tracker::arrival::late: ++result.late; break;
    case sequence_tracker::arrival::in_order: break;
  }
  bump(counters.unique_received);
}

// ---- the event loop ---------------------------------------------------------------------------

void bench_loop::impl::queue_interest(std::size_t slot, bool write) {
  connection& c = links[slot];
  c.write_wanted = write;
  if (!c.interest_queued) {
    c.interest_queued = true;
    interest_changes.push_back(slot);
  }
}

void bench_loop::impl::apply_interest() {
  for (const std::size_t slot : interest_changes) {
    connection& c = links[slot];
    c.interest_queued = false;
    if (c.fd < 0 || c.write_wanted == c.write_watched) continue;
    epoll_event ev{};
    ev.events = EPOLLIN | (c.write_wanted ? EPOLLOUT : 0u);
    ev.data.u64 = slot;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    c.write_watched = c.write_wanted;
  }
  interest_changes.clear();
}

void bench_loop::impl::reschedule(std::size_t slot) {
  connection& c = links[slot];
  const auto left = c.mqtt->next_timeout();
  if (!left) return;
  const std::int64_t due = steady_now_ns() + left->count() * ns_per_ms;
  if (c.timer_ns < 0 || due < c.timer_ns) {
    c.timer_ns = due;
    timers.emplace(due, slot);
  }
}

void bench_loop::impl::run_timers(std::int64_t now) {
  // Bounded, so that a client that is due again at once cannot keep the loop from epoll.
  for (std::size_t budget = timers.size(); budget > 0 && !timers.empty(); --budget) {
    const wake_up next = timers.top();
    if (next.first > now) break;
    timers.pop();
    connection& c = links[next.second];
    if (c.timer_ns != next.first) continue;  // superseded by an earlier one
    c.timer_ns = -1;
    (void)c.mqtt->loop_misc();
    reschedule(next.second);
  }
}

void bench_loop::impl::handle_event(const epoll_event& ev) {
  if (ev.data.u64 == control_key) {
    std::uint64_t sink = 0;
    (void)!::read(wake_fd, &sink, sizeof sink);
    return;
  }
  const auto slot = static_cast<std::size_t>(ev.data.u64);
  connection& c = links[slot];
  if (c.fd < 0) return;  // closed earlier in this batch
  if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) (void)c.mqtt->loop_read();
  if ((ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && c.fd >= 0)
    (void)c.mqtt->loop_write();
  reschedule(slot);
}

void bench_loop::impl::enter(bench_phase next) {
  phase = next;
  counters.phase_entered.store(static_cast<int>(next));
  switch (next) {
    case bench_phase::connecting: return;
    case bench_phase::publishing:
      start_ns = control.start_ns.load();
      if (settings.rate > 0) {
        next_rate_scan_ns = start_ns;
        return;
      }
      for (const std::size_t slot : publisher_links) {
        top_up(links[slot]);
        flush(slot);
      }
      return;
    case bench_phase::draining:
      next_rate_scan_ns = -1;
      for (const std::size_t slot : publisher_links) stop_publishing(links[slot]);
      return;
    case bench_phase::disconnecting:
      next_rate_scan_ns = -1;
      apply_interest();
      for (connection& c : links) {
        if (c.state == link_state::closed) continue;
        c.state = link_state::closed;
        // With no loop of its own running, the client writes DISCONNECT and closes right here.
        (void)c.mqtt->disconnect();
      }
      return;
  }
}

void bench_loop::impl::run() {
  const std::int64_t began = steady_now_ns();
  connect_deadline_ns = began + settings.connect_timeout.count() * ns_per_ms + 1000 * ns_per_ms;
  for (std::size_t slot = 0; slot < links.size(); ++slot) {
    connection& c = links[slot];
    if (epoll_fd < 0 || wake_fd < 0) {
      fail(c, "no epoll set or eventfd for the event loop (out of file descriptors?)");
      continue;
    }
    const std::error_code ec = c.mqtt->connect_async(
        settings.host, settings.port, settings.keepalive);
    if (ec) {
      fail(c, "connect: " + ec.message());
      continue;
    }
    reschedule(slot);  // the transport is opened by the first loop_misc()
  }

  std::array<epoll_event, 256> events{};
  for (;;) {
    const bench_phase wanted = control.phase.load();
    if (wanted != phase) enter(wanted);
    if (phase == bench_phase::disconnecting) break;
    apply_interest();

    std::int64_t now = steady_now_ns();
    std::int64_t wake_at = now + idle_wait_ns;
    if (!timers.empty()) wake_at = std::min(wake_at, timers.top().first);
    if (next_rate_scan_ns >= 0)
      wake_at = std::min(wake_at, std::max(next_rate_scan_ns, last_rate_scan_ns + rate_tick_ns));
    if (phase == bench_phase::connecting) wake_at = std::min(wake_at, connect_deadline_ns);
    const auto wait_ms = static_cast<int>(std::max<std::int64_t>(0, (wake_at - now + ns_per_ms - 1) / ns_per_ms));

    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int i = 0; i < n; ++i) handle_event(events[static_cast<std::size_t>(i)]);

    now = steady_now_ns();
    run_timers(now);
    if (next_rate_scan_ns >= 0 && now >= next_rate_scan_ns &&
        now >= last_rate_scan_ns + rate_tick_ns && phase == bench_phase::publishing)
      scan_rates(now);
    expire_connects(now);
  }
  collect_results();
}

void bench_loop::impl::collect_results() {
  for (const connection& c : links) {
    if (!c.failure.empty()) {
      // The client logs the transport's own words after the callback that reported the
      // failure has run, so they are added only now.
      ++result.failures_total;
      if (result.failures.size() < failures_kept) {
        std::string line = c.describe() + ": " + c.failure;
        if (!c.logged.empty()) line += " (" + c.logged + ")";
        result.failures.push_back(std::move(line));
      }
    }
    if (c.publisher) {
      result.delivered.emplace_back(c.index, c.delivered);
      continue;
    }
    std::vector<std::uint64_t> unique(c.from.size());
    for (std::size_t p = 0; p < c.from.size(); ++p) unique[p] = c.from[p].unique();
    result.unique_from.emplace_back(c.index, std::move(unique));
  }
}

// ---- bench_loop -------------------------------------------------------------------------------

bench_loop::bench_loop(const bench_settings& settings, const bench_plan& plan,
                       bench_control& control, std::vector<std::size_t> publishers,
                       std::vector<std::size_t> subscribers)
    : impl_(std::make_unique<impl>(settings, plan, control)) {
  impl& m = *impl_;
  m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = control_key;
  ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.wake_fd, &ev);
  if (settings.rate > 0) m.period_ns = 1e9 / settings.rate;
  m.links.resize(publishers.size() + subscribers.size());
  std::size_t slot = 0;
  for (const std::size_t p : publishers) m.add_connection(slot++, true, p);
  for (const std::size_t s : subscribers) m.add_connection(slot++, false, s);
}

bench_loop::~bench_loop() = default;

void bench_loop::run() { impl_->run(); }

void bench_loop::wake() noexcept {
  const std::uint64_t one = 1;
  (void)!::write(impl_->wake_fd, &one, sizeof one);
}

bench_counters& bench_loop::counters() noexcept { return impl_->counters; }

bench_loop_result& bench_loop::result() noexcept { return impl_->result; }

}  // namespace tern::cli
