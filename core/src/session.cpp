// tern::session: construction (the configuration is copied into one block), the public entry
// points, names for the session's enums, and the durable state format.
#include "tern/session.hpp"

#include <charconv>
#include <cstring>
#include <new>

#include "session_impl.hpp"

namespace tern {

namespace {

// Measures, then copies, every string of the configuration into one allocation.
class text_copier {
 public:
  void count(std::string_view s) noexcept { size_ += s.size(); }
  void count(bytes_view b) noexcept { size_ += b.size(); }
  void count(const property& p) noexcept { size_ += p.text.size() + p.value.size(); }
  void start(std::pmr::vector<char>& storage) {
    storage.resize(size_);
    at_ = storage.data();
  }
  std::string_view copy(std::string_view s) noexcept {
    if (s.empty()) return {};
    std::memcpy(at_, s.data(), s.size());
    const std::string_view out(at_, s.size());
    at_ += s.size();
    return out;
  }
  bytes_view copy(bytes_view b) noexcept { return as_bytes(copy(as_chars(b))); }
  property copy(property p) noexcept {
    p.text = copy(p.text);
    p.value = copy(p.value);
    return p;
  }

 private:
  std::size_t size_ = 0;
  char* at_ = nullptr;
};

}  // namespace

namespace detail {

settings::settings(const session_config& c) noexcept
    : client_id(c.client_id),
      username(c.username),
      password(c.password),
      auth(c.auth),
      max_queued_messages(c.max_queued_messages),
      max_queued_bytes(c.max_queued_bytes),
      max_transmit_bytes(c.max_transmit_bytes),
      connect_timeout(c.connect_timeout),
      ping_timeout(c.ping_timeout),
      ack_timeout(c.ack_timeout),
      stable_after(c.backoff.stable_after),
      log(c.log),
      session_expiry_interval(c.session_expiry_interval),
      maximum_packet_size(c.maximum_packet_size),
      keep_alive(static_cast<std::uint16_t>(std::min<std::int64_t>(c.keep_alive.count(), 65'535))),
      receive_maximum(c.receive_maximum),
      topic_alias_maximum(c.topic_alias_maximum),
      max_inflight(c.max_inflight),
      max_outgoing_topic_aliases(c.max_outgoing_topic_aliases),
      version(c.version),
      clean_start(c.clean_start),
      when_queue_full(c.when_queue_full),
      request_response_information(c.request_response_information),
      request_problem_information(c.request_problem_information),
      queue_qos0_while_offline(c.queue_qos0_while_offline),
      auto_reconnect(c.auto_reconnect),
      retry_first_connection(c.retry_first_connection),
      auto_resubscribe(c.auto_resubscribe),
      republish_after_session_loss(c.republish_after_session_loss),
      manual_ack(c.manual_ack) {}

}  // namespace detail

session::impl::impl(const session_config& config, std::pmr::memory_resource* memory)
    : mem(memory),
      cfg(config),
      config_text(memory),
      retry(config.backoff, config.random_seed),
      rbuf(memory),
      tbuf(memory),
      retired_tbufs(memory),
      segments(memory),
      packet_ends(memory),
      inflight(memory),
      pending(memory),
      requests(memory),
      active_subscriptions(memory),
      qos2_in(memory),
      events(memory),
      actions(memory) {
  text_copier t;
  t.count(config.client_id);
  if (config.username) t.count(*config.username);
  if (config.password) t.count(*config.password);
  if (config.will) {
    t.count(config.will->topic);
    t.count(config.will->payload);
    for (const property p : config.will->props) t.count(p);
  }
  for (const property& p : config.user_properties) t.count(p);
  t.start(config_text);
  cfg.client_id = t.copy(config.client_id);
  if (config.username) cfg.username = t.copy(*config.username);
  if (config.password) cfg.password = t.copy(*config.password);
  if (config.will) {
    detail::session_extras& x = extras();
    x.will = config.will;
    x.will->topic = t.copy(config.will->topic);
    x.will->payload = t.copy(config.will->payload);
    for (const property p : config.will->props) x.will_props.push_back(t.copy(p));
    x.will->props = {};
  }
  if (!config.user_properties.empty()) {
    detail::session_extras& x = extras();
    for (const property& p : config.user_properties) x.connect_user_props.push_back(t.copy(p));
  }
  if (config.topic_alias_maximum != 0) extras().in_aliases.resize(config.topic_alias_maximum);
  resume_next = config.clean_start == clean_start_policy::never;
}

session::impl::~impl() {
  clear_transmit();
  while (!inflight.empty()) {
    release(inflight.front());
    inflight.pop_front();
  }
  while (!pending.empty()) {
    release(pending.front());
    pending.pop_front();
  }
  if (extra != nullptr) {
    extra->~session_extras();
    mem->deallocate(extra, sizeof(detail::session_extras), alignof(detail::session_extras));
  }
}

detail::session_extras& session::impl::extras() {
  if (extra == nullptr)
    extra = ::new (mem->allocate(sizeof(detail::session_extras), alignof(detail::session_extras)))
        detail::session_extras(mem);
  return *extra;
}

void session::impl::append_log(char (&buffer)[256], std::size_t& n, std::string_view s) noexcept {
  const std::size_t take = std::min(s.size(), sizeof buffer - n);
  if (take != 0) std::memcpy(buffer + n, s.data(), take);
  n += take;
}

void session::impl::append_log(char (&buffer)[256], std::size_t& n, std::uint64_t v) noexcept {
  const auto r = std::to_chars(buffer + n, buffer + sizeof buffer, v);
  if (r.ec == std::errc{}) n = static_cast<std::size_t>(r.ptr - buffer);
}

// ---- public entry points -------------------------------------------------------------------

session::session(const session_config& config, std::pmr::memory_resource* memory)
    : memory_(memory) {
  void* block = memory->allocate(sizeof(impl), alignof(impl));
  impl_ = ::new (block) impl(config, memory);
}

session::~session() {
  if (impl_ == nullptr) return;
  impl_->~impl();
  memory_->deallocate(impl_, sizeof(impl), alignof(impl));
}

session::session(session&& other) noexcept
    : memory_(other.memory_), impl_(std::exchange(other.impl_, nullptr)) {}

session& session::operator=(session&& other) noexcept {
  if (this != &other) {
    this->~session();
    memory_ = other.memory_;
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

namespace {
// `now` never goes backwards; a caller whose clock does is held at the last value.
time_point monotonic(time_point& last, time_point now) noexcept {
  if (now < last) return last;
  last = now;
  return now;
}
}  // namespace

result<void, errc> session::connect(time_point now) {
  return impl_->start(monotonic(impl_->last_now, now));
}

result<message_id, errc> session::publish(const tern::publish& msg, time_point now) {
  return impl_->publish(msg, monotonic(impl_->last_now, now));
}

result<void, errc> session::withdraw(message_id id) { return impl_->withdraw(id); }

result<std::uint16_t, errc> session::subscribe(std::span<const subscription> subscriptions,
                                               time_point now, const properties& props) {
  return impl_->subscribe(subscriptions, props, monotonic(impl_->last_now, now));
}

result<std::uint16_t, errc> session::unsubscribe(std::span<const std::string_view> filters,
                                                 time_point now, const properties& props) {
  return impl_->unsubscribe(filters, props, monotonic(impl_->last_now, now));
}

result<void, errc> session::disconnect(time_point now, reason_code code, const properties& props) {
  return impl_->user_disconnect(monotonic(impl_->last_now, now), code, props);
}

result<void, errc> session::ack(std::uint16_t packet_id, time_point now, reason_code code) {
  return impl_->manual_ack(packet_id, code, monotonic(impl_->last_now, now));
}

result<void, errc> session::reauthenticate(time_point now) {
  return impl_->start_reauthentication(monotonic(impl_->last_now, now));
}

void session::handle_transport_opened(time_point now) {
  impl_->on_transport_opened(monotonic(impl_->last_now, now));
}

void session::handle_transport_closed(time_point now) {
  impl_->on_transport_closed(monotonic(impl_->last_now, now));
}

mutable_bytes session::receive_buffer() {
  if (impl_->extra != nullptr) impl_->extra->retired_aliases.clear();
  return impl_->receive_space();
}

void session::handle_received(std::size_t bytes, time_point now) {
  impl& s = *impl_;
  now = monotonic(s.last_now, now);
  s.note_read(s.rbuf.size() - s.rend, bytes);
  s.rend = std::min(s.rend + bytes, s.rbuf.size());
  s.process_received(now);
}

void session::handle_bytes(bytes_view data, time_point now) {
  impl& s = *impl_;
  now = monotonic(s.last_now, now);
  if (s.extra != nullptr) s.extra->retired_aliases.clear();
  // One copy into the receive buffer, sized once for all of `data`, so that no view handed
  // out for this call moves while the call runs.
  const mutable_bytes space = s.receive_space();
  if (space.size() < data.size()) {
    s.rbuf.resize(s.rend + data.size());
  }
  if (!data.empty()) std::memcpy(s.rbuf.data() + s.rend, data.data(), data.size());
  s.rend += data.size();
  s.process_received(now);
}

void session::handle_timeout(time_point now) { impl_->on_timeout(monotonic(impl_->last_now, now)); }

namespace {
template <class T>
void release_storage(std::pmr::vector<T>& v) noexcept {
  std::pmr::vector<T>(v.get_allocator()).swap(v);
}
}  // namespace

void session::trim_memory() noexcept {
  impl& s = *impl_;
  // Undelivered events may view the receive buffer and retired alias topics: those stay.
  if (s.events.empty()) {
    if (s.extra != nullptr) release_storage(s.extra->retired_aliases);
    if (s.rstart == s.rend) {
      release_storage(s.rbuf);
      s.rstart = s.rend = s.rneeded = 0;
      s.read_shift = 0;
    }
    s.events.release();
  }
  // Transmit slices handed out stay valid until the next commit: nothing they view goes.
  if (!s.slices_out) {
    release_storage(s.retired_tbufs);
    if (s.segments.empty()) {
      release_storage(s.tbuf);
      s.thead = 0;
    }
  }
  s.segments.release();
  s.packet_ends.release();
  s.actions.release();
  s.inflight.release();
  s.pending.release();
  if (s.requests.empty()) release_storage(s.requests);
  if (s.extra != nullptr && s.extra->qos1_unacked.empty()) release_storage(s.extra->qos1_unacked);
  s.qos2_in.release_if_empty();
}

std::optional<action> session::poll_action() {
  if (impl_->actions.empty()) return std::nullopt;
  action a = std::move(impl_->actions.front());
  impl_->actions.pop_front();
  return a;
}

std::optional<event> session::poll_event() {
  if (impl_->events.empty()) return std::nullopt;
  event e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

std::size_t session::poll_transmit(std::span<bytes_view> slices) const noexcept {
  return impl_->fill_slices(slices);
}

void session::commit_transmit(std::size_t bytes, time_point now) {
  impl_->consume(bytes, monotonic(impl_->last_now, now));
  // QoS 0 messages held back by max_transmit_bytes go as soon as there is room again.
  if (impl_->pending_qos0 != 0) impl_->fill_window(impl_->last_now);
}

std::size_t session::transmit_size() const noexcept { return impl_->tsize; }

std::optional<time_point> session::poll_timeout() const noexcept { return impl_->next_deadline(); }

session_state session::state() const noexcept { return impl_->st; }
const server_limits& session::limits() const noexcept { return impl_->limits; }
std::string_view session::client_id() const noexcept {
  const std::string_view assigned = impl_->assigned_client_id();
  return assigned.empty() ? impl_->cfg.client_id : assigned;
}
std::size_t session::inflight() const noexcept { return impl_->inflight.size(); }
std::size_t session::queued() const noexcept { return impl_->pending.size(); }
std::size_t session::queued_bytes() const noexcept { return impl_->pending_bytes; }

// ---- names ---------------------------------------------------------------------------------

std::string_view to_string(session_state s) noexcept {
  switch (s) {
    case session_state::idle: return "idle";
    case session_state::waiting: return "waiting";
    case session_state::opening: return "opening";
    case session_state::connecting: return "connecting";
    case session_state::connected: return "connected";
    case session_state::disconnecting: return "disconnecting";
  }
  return "unknown";
}

std::string_view to_string(disconnect_cause c) noexcept {
  switch (c) {
    case disconnect_cause::client_disconnect: return "client disconnect";
    case disconnect_cause::server_disconnect: return "server disconnect";
    case disconnect_cause::connection_refused: return "connection refused";
    case disconnect_cause::transport_closed: return "transport closed";
    case disconnect_cause::protocol_error: return "protocol error";
    case disconnect_cause::keep_alive_timeout: return "keep-alive timeout";
    case disconnect_cause::connect_timeout: return "connect timeout";
    case disconnect_cause::ack_timeout: return "acknowledgement timeout";
    case disconnect_cause::authentication_failed: return "authentication failed";
  }
  return "unknown";
}

std::string_view to_string(publish_outcome o) noexcept {
  switch (o) {
    case publish_outcome::sent: return "sent";
    case publish_outcome::acknowledged: return "acknowledged";
    case publish_outcome::session_lost: return "session lost";
    case publish_outcome::expired: return "expired";
    case publish_outcome::dropped: return "dropped";
    case publish_outcome::offline_discarded: return "discarded offline";
  }
  return "unknown";
}

std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::notice: return "notice";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

}  // namespace tern
