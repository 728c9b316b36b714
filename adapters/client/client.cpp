// tern::client: construction, configuration, connecting and the commands any thread may give.
// The drive loop is in client_loop.cpp; the theory of operation in client_impl.hpp.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <algorithm>
#include <random>

#include "client_impl.hpp"
#include "tern/net/url.hpp"
#include "tern/topic.hpp"

namespace tern {

using client_detail::batch;

namespace {

time_point now() { return clock::now(); }

std::uint64_t random_seed() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

// ---- client::impl --------------------------------------------------------------------------

client::impl::impl(client& owner, client_options o) : self(owner), options(std::move(o)) {
  cfg.version = options.version;
  cfg.client_id = options.client_id;
  cfg.clean_start = options.clean_start;
  cfg.manual_ack = options.manual_ack;
  cfg.auto_reconnect = options.reconnect_on_failure;
  // paho's defaults: 20 in flight, "unlimited" queue, reconnect delay 1..120 s.
  cfg.max_inflight = 20;
  cfg.max_queued_messages = std::size_t{1} << 20;
  cfg.max_queued_bytes = std::size_t{1} << 30;
  cfg.backoff.initial = std::chrono::seconds(1);
  cfg.backoff.maximum = std::chrono::seconds(120);
  // paho queues QoS 0 messages given before CONNACK; so do we, until the queue bound.
  cfg.queue_qos0_while_offline = true;
  // paho users subscribe in on_connect; replaying subscriptions as well would subscribe twice
  // (and deliver retained messages twice). session_options() can turn it on.
  cfg.auto_resubscribe = false;
  cfg.random_seed = random_seed();
  cfg.log = log_sink{&impl::log_hook, this, log_level::debug};
  if (options.transport == transport_kind::websockets) transport.websocket.emplace();
  filters = std::make_shared<const client_detail::filter_callbacks>();

#ifdef __linux__
  wake_read = wake_write = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
#else
  int fds[2];
  if (::pipe(fds) == 0) {
    for (const int fd : fds) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    wake_read = fds[0];
    wake_write = fds[1];
  }
#endif
}

client::impl::~impl() {
  conn.close();
  for (auto& [id, info] : infos)
    info->finish(publish_outcome::dropped, reason_code::unspecified_error);
  if (wake_read >= 0) ::close(wake_read);
  if (wake_write >= 0 && wake_write != wake_read) ::close(wake_write);
}

client::impl::turn_guard::turn_guard(impl& m) : m_(m), owned_(!client_detail::in_turn_of(&m)) {
  if (owned_) {
    m_.turn_mu.lock();
    client_detail::push_turn(&m_);
  }
}

client::impl::turn_guard::~turn_guard() {
  if (owned_) {
    client_detail::pop_turn();
    m_.turn_mu.unlock();
  }
}

// Builds the session from the configuration; what the old one still holds (unacknowledged
// and queued messages) moves over through its durable state. mu held, session idle.
void client::impl::build_session() {
  session_config c = cfg;
  if (c.version != protocol_version::v5 && c.client_id.empty() &&
      c.clean_start != clean_start_policy::always) {
    // [MQTT-3.1.3-7]: without a client id, 3.1.1 needs a clean session (paho insists too).
    c.clean_start = clean_start_policy::always;
  }
  std::optional<session> fresh;
  fresh.emplace(c);
  if (sess && sess->inflight() + sess->queued() != 0) {
    std::vector<std::byte> saved(sess->state_size());
    sess->save_state(saved.data());
    if (!fresh->restore_state(saved)) {
      log(log_level::warning, "unacknowledged messages could not be carried over the new settings");
      for (auto& [id, info] : infos)
        info->finish(publish_outcome::dropped, reason_code::unspecified_error);
      infos.clear();
    }
  }
  sess = std::move(fresh);
  config_dirty = false;
}

// Makes the session idle (ending what it is doing, without on_disconnect) and rebuilds it if
// the configuration changed. mu held, turn held.
std::error_code client::impl::prepare_session(batch& b, std::unique_lock<std::mutex>& lk) {
  if (sess) force_idle(b, lk);
  if (!sess || config_dirty) build_session();
  return {};
}

void client::impl::force_idle(batch& b, std::unique_lock<std::mutex>& lk) {
  if (!sess || sess->state() == session_state::idle) return;
  suppress_client_disconnect = true;
  (void)sess->disconnect(now());
  (void)flush(b, lk);  // the DISCONNECT, if the socket takes it at once
  drain(b, lk);
  if (sess->state() != session_state::idle) {
    conn.close();
    sess->handle_transport_closed(now());
    drain(b, lk);
  }
  suppress_client_disconnect = false;
}

void client::impl::set_target(const std::string& h, std::uint16_t p, std::chrono::seconds keepalive,
                              const property_list& props) {
  host = h;
  port = p;
  have_target = true;
  if (cfg.keep_alive != keepalive) {
    cfg.keep_alive = keepalive;
    config_dirty = true;
  }
  if (!(props.view() == connect_props.view())) {
    connect_props = client_detail::copy_properties(props.view());
    connect_user_props.clear();
    for (const property q : connect_props.view()) {
      switch (q.id) {
        case property_id::session_expiry_interval: cfg.session_expiry_interval = q.number; break;
        case property_id::receive_maximum:
          cfg.receive_maximum = static_cast<std::uint16_t>(q.number);
          break;
        case property_id::maximum_packet_size: cfg.maximum_packet_size = q.number; break;
        case property_id::topic_alias_maximum:
          cfg.topic_alias_maximum = static_cast<std::uint16_t>(q.number);
          break;
        case property_id::request_response_information:
          cfg.request_response_information = q.number != 0;
          break;
        case property_id::request_problem_information:
          cfg.request_problem_information = q.number != 0;
          break;
        case property_id::user_property: connect_user_props.push_back(q); break;
        default:
          log(log_level::warning, "CONNECT property not supported here; use session_options()");
          break;
      }
    }
    cfg.user_properties = connect_user_props;
    config_dirty = true;
  }
}

// Starts a connection and waits for the transport (TCP, proxy, TLS, WebSocket); CONNECT is
// written before returning. mu held, turn held, session idle.
std::error_code client::impl::connect_now(batch& b, std::unique_lock<std::mutex>& lk) {
  user_disconnected = false;
  retry_at.reset();
  pending_open = false;
  if (auto r = sess->connect(now()); !r) return make_error_code(r.error());
  in_blocking_connect = true;
  const std::error_code ec = wait_transport(b, lk);
  in_blocking_connect = false;
  return ec;
}

// Subscribe or unsubscribe; while a connection is being made, kept until CONNACK.
std::pair<std::error_code, std::uint16_t> client::impl::request(
    bool unsubscribe, std::vector<std::pair<std::string, subscribe_options>> entries,
    const property_list& props) {
  std::unique_lock<std::mutex> lk(mu);
  if (!sess) return {make_error_code(errc::not_connected), 0};
  result<std::uint16_t, errc> r = unexpected{errc::not_connected};
  if (unsubscribe) {
    std::vector<std::string_view> names;
    names.reserve(entries.size());
    for (const auto& e : entries) names.emplace_back(e.first);
    r = sess->unsubscribe(names, now(), props.view());
  } else {
    std::vector<subscription> subs;
    subs.reserve(entries.size());
    for (const auto& e : entries) subs.push_back({e.first, e.second});
    r = sess->subscribe(subs, now(), props.view());
  }
  if (!r && r.error() == errc::not_connected) {
    const session_state st = sess->state();
    if (st == session_state::opening || st == session_state::connecting ||
        st == session_state::waiting) {
      if (entries.empty()) return {make_error_code(errc::empty_list), 0};
      for (const auto& e : entries)
        if (!is_valid_topic_filter(e.first))
          return {make_error_code(errc::invalid_topic_filter), 0};
      const std::uint16_t id = next_returned_id;
      next_returned_id = next_returned_id <= 32'768 ? 65'535 : next_returned_id - 1;
      deferred.push_back(
          {unsubscribe, std::move(entries), client_detail::copy_properties(props.view()), id});
      return {{}, id};
    }
  }
  if (!r) return {make_error_code(r.error()), 0};
  lk.unlock();
  wake();
  sync_socket();
  return {{}, *r};
}

// mu held: sends what was asked for before CONNACK.
void client::impl::issue_deferred() {
  std::vector<client_detail::deferred_request> list;
  list.swap(deferred);
  for (auto& d : list) {
    result<std::uint16_t, errc> r = unexpected{errc::not_connected};
    if (d.unsubscribe) {
      std::vector<std::string_view> names;
      for (const auto& e : d.entries) names.emplace_back(e.first);
      r = sess->unsubscribe(names, now(), d.props.view());
    } else {
      std::vector<subscription> subs;
      for (const auto& e : d.entries) subs.push_back({e.first, e.second});
      r = sess->subscribe(subs, now(), d.props.view());
    }
    if (r) {
      returned_ids[*r] = d.returned_id;
    } else {
      log(log_level::error,
          std::string(d.unsubscribe ? "UNSUBSCRIBE" : "SUBSCRIBE") +
              " given before CONNACK failed: " + std::string(to_string(r.error())));
    }
  }
}

// disconnect() with no loop running: write the DISCONNECT and close here.
void client::impl::close_without_loop() {
  turn_guard turn(*this);
  batch b;
  {
    std::unique_lock<std::mutex> lk(mu);
    for (int i = 0; i < 40 && sess && sess->state() != session_state::idle; ++i) {
      drain(b, lk);
      const bool blocked = flush(b, lk);
      drain(b, lk);
      if (sess->state() == session_state::idle || !blocked) break;
      const int fd = conn.fd();
      if (fd < 0) break;
      lk.unlock();
      pollfd p{fd, POLLOUT, 0};
      (void)::poll(&p, 1, 50);
      lk.lock();
      write_blocked = false;  // writable, or 50 ms passed: try again either way
    }
    if (sess && sess->state() != session_state::idle) {
      conn.close();
      sess->handle_transport_closed(now());
      drain(b, lk);
    }
  }
  finish_dispatch(b);
  sync_socket();
}

// ---- client: construction and configuration ------------------------------------------------

client::client(client_options options) : impl_(std::make_unique<impl>(*this, std::move(options))) {}

client::client(std::string client_id, protocol_version version, transport_kind transport)
    : client(client_options{std::move(client_id), version, transport}) {}

client::~client() {
  impl_->terminating = true;
  {
    const std::lock_guard<std::mutex> lock(impl_->thread_mu);
    if (impl_->thread.joinable()) {
      impl_->stop_requested = true;
      impl_->wake();
      if (impl_->thread.get_id() == std::this_thread::get_id())
        impl_->thread.detach();  // destroyed from its own callback: nothing better to do
      else impl_->thread.join();
    }
  }
}

void client::username_pw_set(std::string username, std::optional<std::string> password) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->username = std::move(username);
  impl_->password = std::move(password);
  impl_->cfg.username = impl_->username;
  if (impl_->password) impl_->cfg.password = as_bytes(*impl_->password);
  else impl_->cfg.password.reset();
  impl_->config_dirty = true;
}

void client::will_set(std::string topic, std::string_view payload, qos q, bool retain,
                      const property_list& props) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl& m = *impl_;
  m.will_topic = std::move(topic);
  m.will_payload.assign(payload);
  m.will_props = client_detail::copy_properties(props.view());
  m.cfg.will = will_message{m.will_topic, as_bytes(m.will_payload), q, retain, m.will_props.view()};
  m.config_dirty = true;
}

void client::will_clear() {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.will.reset();
  impl_->config_dirty = true;
}

void client::tls_set(net::tls_options options) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  const bool insecure = impl_->transport.tls && impl_->transport.tls->insecure_skip_verify;
  impl_->transport.tls = std::move(options);
  if (insecure) impl_->transport.tls->insecure_skip_verify = true;
}

void client::tls_insecure_set(bool insecure) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->transport.tls) {
    if (!insecure) return;
    impl_->transport.tls.emplace();
  }
  impl_->transport.tls->insecure_skip_verify = insecure;
}

void client::ws_set_options(std::string path,
                            std::vector<std::pair<std::string, std::string>> headers) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  net::websocket_options ws;
  ws.path = std::move(path);
  ws.headers = std::move(headers);
  impl_->transport.websocket = std::move(ws);
  impl_->options.transport = transport_kind::websockets;
}

void client::proxy_set(net::proxy_options proxy) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->transport.proxy = std::move(proxy);
}

void client::proxy_from_environment(bool enabled) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->transport.proxy_from_environment = enabled;
}

void client::reconnect_delay_set(std::chrono::milliseconds min_delay,
                                 std::chrono::milliseconds max_delay) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.backoff.initial = min_delay;
  impl_->cfg.backoff.maximum = std::max(min_delay, max_delay);
  impl_->config_dirty = true;
}

void client::max_inflight_messages_set(std::uint16_t inflight) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.max_inflight = std::max<std::uint16_t>(inflight, 1);
  impl_->config_dirty = true;
}

void client::max_queued_messages_set(std::size_t count) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.max_queued_messages = count == 0 ? std::size_t{1} << 20 : count;
  impl_->config_dirty = true;
}

void client::connect_timeout_set(std::chrono::milliseconds timeout) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->transport.connect_timeout = timeout;
  impl_->cfg.connect_timeout = timeout;
  impl_->config_dirty = true;
}

void client::enable_logger(log_level min_level) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->logger_enabled = true;
  impl_->logger_level = min_level;
}

void client::disable_logger() {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->logger_enabled = false;
}

void client::user_data_set(std::any data) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->user_data = std::move(data);
}

std::any& client::user_data() noexcept { return impl_->user_data; }

session_config& client::session_options() noexcept {
  impl_->config_dirty = true;
  return impl_->cfg;
}

net::transport_options& client::transport_options() noexcept { return impl_->transport; }

// ---- connection ------------------------------------------------------------------------------

std::error_code client::connect(const std::string& host, std::uint16_t port,
                                std::chrono::seconds keepalive, const property_list& properties) {
  impl& m = *impl_;
  impl::turn_guard turn(m);
  batch b;
  std::error_code ec;
  {
    std::unique_lock<std::mutex> lk(m.mu);
    m.set_target(host, port, keepalive, properties);
    ec = m.prepare_session(b, lk);
    if (!ec) ec = m.connect_now(b, lk);
  }
  m.finish_dispatch(b);
  m.sync_socket();
  m.wake();  // a loop thread now has a socket to watch
  return ec;
}

std::error_code client::connect_url(const std::string& url, std::chrono::seconds keepalive) {
  const auto u = net::parse_broker_url(url);
  if (!u) return net::net_errc::invalid_url;
  {
    const std::lock_guard<std::mutex> lock(impl_->mu);
    impl& m = *impl_;
    if (u->tls()) {
      if (!m.transport.tls) m.transport.tls.emplace();  // the system's CA store
    } else {
      m.transport.tls.reset();
    }
    if (u->websocket()) {
      if (!m.transport.websocket) m.transport.websocket.emplace();
      m.transport.websocket->path = u->path.empty() ? "/mqtt" : u->path;
      m.options.transport = transport_kind::websockets;
    } else {
      m.transport.websocket.reset();
      m.options.transport = transport_kind::tcp;
    }
  }
  if (u->username) username_pw_set(*u->username, u->password);
  return connect(u->host, u->port, keepalive);
}

std::error_code client::connect_async(const std::string& host, std::uint16_t port,
                                      std::chrono::seconds keepalive,
                                      const property_list& properties) {
  impl& m = *impl_;
  impl::turn_guard turn(m);
  batch b;
  {
    std::unique_lock<std::mutex> lk(m.mu);
    m.set_target(host, port, keepalive, properties);
    if (auto ec = m.prepare_session(b, lk)) return ec;
    m.user_disconnected = false;
    m.retry_at.reset();
    if (auto r = m.sess->connect(now()); !r) return make_error_code(r.error());
    m.pending_open = true;  // the loop opens the transport
  }
  m.finish_dispatch(b);
  m.wake();
  return {};
}

std::error_code client::reconnect() {
  impl& m = *impl_;
  impl::turn_guard turn(m);
  batch b;
  std::error_code ec;
  {
    std::unique_lock<std::mutex> lk(m.mu);
    if (!m.have_target) return make_error_code(errc::not_connected);
    ec = m.prepare_session(b, lk);
    if (!ec) ec = m.connect_now(b, lk);
  }
  m.finish_dispatch(b);
  m.sync_socket();
  m.wake();
  return ec;
}

std::error_code client::disconnect(reason_code code, const property_list& properties) {
  impl& m = *impl_;
  {
    const std::lock_guard<std::mutex> lock(m.mu);
    if (!m.sess) return make_error_code(errc::not_connected);
    m.user_disconnected = true;
    m.retry_at.reset();
    m.pending_open = false;
    m.deferred.clear();
    if (auto r = m.sess->disconnect(now(), code, properties.view()); !r) {
      if (r.error() == errc::invalid_state) return make_error_code(errc::not_connected);
      return make_error_code(r.error());
    }
  }
  m.wake();
  const bool loop_running = m.thread_alive.load() || m.active_loops.load() != 0;
  if (!loop_running && !client_detail::in_turn_of(&m)) m.close_without_loop();
  else m.sync_socket();
  return {};
}

std::error_code client::reauthenticate() {
  impl& m = *impl_;
  {
    const std::lock_guard<std::mutex> lock(m.mu);
    if (!m.sess) return make_error_code(errc::not_connected);
    if (auto r = m.sess->reauthenticate(now()); !r) return make_error_code(r.error());
  }
  m.wake();
  m.sync_socket();
  return {};
}

std::string client::last_error_message() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_error_text;
}

bool client::is_connected() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->sess && impl_->sess->is_connected();
}

// ---- messaging ----------------------------------------------------------------------------------

message_info client::publish(std::string_view topic, bytes_view payload, qos q, bool retain,
                             const property_list& properties) {
  impl& m = *impl_;
  auto st = std::make_shared<message_info::state>();
  st->owner = &m;
  tern::publish p;
  p.topic = topic;
  p.payload = payload;
  p.q = q;
  p.retain = retain;
  p.props = properties.view();
  {
    const std::lock_guard<std::mutex> lock(m.mu);
    if (!m.sess) {
      st->fail(make_error_code(errc::not_connected));
      return message_info(std::move(st));
    }
    const auto r = m.sess->publish(p, now());
    if (!r) {
      st->fail(make_error_code(r.error()));
      return message_info(std::move(st));
    }
    st->mid = *r;
    m.infos.emplace(*r, st);
  }
  m.wake();
  m.sync_socket();
  return message_info(std::move(st));
}

message_info client::publish(std::string_view topic, std::string_view payload, qos q, bool retain,
                             const property_list& properties) {
  return publish(topic, as_bytes(payload), q, retain, properties);
}

std::pair<std::error_code, std::uint16_t> client::subscribe(std::string_view filter, qos q,
                                                            const property_list& properties) {
  subscribe_options o;
  o.max_qos = q;
  return subscribe(filter, o, properties);
}

std::pair<std::error_code, std::uint16_t> client::subscribe(std::string_view filter,
                                                            subscribe_options options,
                                                            const property_list& properties) {
  return impl_->request(false, {{std::string(filter), options}}, properties);
}

std::pair<std::error_code, std::uint16_t> client::subscribe(
    const std::vector<std::pair<std::string, subscribe_options>>& filters,
    const property_list& properties) {
  return impl_->request(false, filters, properties);
}

std::pair<std::error_code, std::uint16_t> client::unsubscribe(std::string_view filter,
                                                              const property_list& properties) {
  return impl_->request(true, {{std::string(filter), subscribe_options{}}}, properties);
}

std::pair<std::error_code, std::uint16_t> client::unsubscribe(
    const std::vector<std::string>& filters, const property_list& properties) {
  std::vector<std::pair<std::string, subscribe_options>> entries;
  entries.reserve(filters.size());
  for (const auto& f : filters) entries.emplace_back(f, subscribe_options{});
  return impl_->request(true, std::move(entries), properties);
}

std::error_code client::ack(std::uint16_t packet_id, reason_code code) {
  impl& m = *impl_;
  {
    const std::lock_guard<std::mutex> lock(m.mu);
    if (!m.sess) return make_error_code(errc::not_connected);
    if (auto r = m.sess->ack(packet_id, now(), code); !r) return make_error_code(r.error());
  }
  m.wake();
  m.sync_socket();
  return {};
}

void client::message_callback_add(std::string filter,
                                  std::function<void(client&, const tern::publish&)> cb) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  auto next = std::make_shared<client_detail::filter_callbacks>(*impl_->filters);
  const auto same =
      std::find_if(next->begin(), next->end(), [&](const auto& e) { return e.first == filter; });
  if (same != next->end()) same->second = std::move(cb);
  else next->emplace_back(std::move(filter), std::move(cb));
  impl_->filters = std::move(next);
}

void client::message_callback_remove(const std::string& filter) {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  auto next = std::make_shared<client_detail::filter_callbacks>(*impl_->filters);
  std::erase_if(*next, [&](const auto& e) { return e.first == filter; });
  impl_->filters = std::move(next);
}

}  // namespace tern
