// One-shot helpers (paho's publish.single/multiple, subscribe.simple/callback): a private
// client, driven by loop() on the calling thread until the job is done or the time is up.
#include "tern/oneshot.hpp"

#include <algorithm>

namespace tern {

namespace {

using steady = std::chrono::steady_clock;

// Configures a client from the options; the session must not reconnect on its own: a one-shot
// operation reports the failure instead.
void configure(client& c, const oneshot_options& o) {
  if (o.auth) c.username_pw_set(o.auth->first, o.auth->second);
  if (o.tls) c.tls_set(*o.tls);
  if (o.proxy) c.proxy_set(*o.proxy);
  if (o.transport == transport_kind::websockets) c.ws_set_options();
  if (o.will) c.will_set(o.will->topic, o.will->payload, o.will->q, o.will->retain);
  c.session_options().auto_reconnect = false;
  if (o.timeout.count() > 0) c.connect_timeout_set(o.timeout);
}

client_options options_for(const oneshot_options& o) {
  client_options co;
  co.client_id = o.client_id;
  co.version = o.version;
  co.transport = o.transport;
  co.clean_start = clean_start_policy::always;
  co.reconnect_on_failure = false;
  return co;
}

// Runs the client's loop on this thread until `done()` or the deadline (none when nullopt).
// Returns the connection's error if it ended first, timed_out at the deadline.
template <class Done>
std::error_code run_until(client& c, std::optional<steady::time_point> deadline, Done done) {
  while (!done()) {
    auto wait = std::chrono::milliseconds(100);
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - steady::now());
      if (left <= std::chrono::milliseconds(0)) return std::make_error_code(std::errc::timed_out);
      wait = std::min(wait, left);
    }
    const std::error_code ec = c.loop(wait);
    if (done()) break;
    if (ec) return ec;
  }
  return {};
}

// Ends the connection cleanly: DISCONNECT, then the loop closes the socket.
void finish(client& c) {
  if (c.disconnect()) return;
  const auto until = steady::now() + std::chrono::seconds(2);
  while (steady::now() < until && !c.loop(std::chrono::milliseconds(50))) {
  }
}

std::optional<steady::time_point> deadline_of(const oneshot_options& o) {
  if (o.timeout.count() <= 0) return std::nullopt;
  return steady::now() + o.timeout;
}

}  // namespace

std::error_code publish_single(const std::string& topic, std::string_view payload, qos q,
                               bool retain, const oneshot_options& options) {
  return publish_multiple({{topic, std::string(payload), q, retain}}, options);
}

std::error_code publish_multiple(const std::vector<outgoing_message>& messages,
                                 const oneshot_options& options) {
  const auto deadline = deadline_of(options);
  client c(options_for(options));
  configure(c, options);
  std::error_code refused;
  bool ended = false;
  std::size_t completed = 0;  // on_publish calls: every outcome, success or not
  c.on_connect = [&](client&, connect_flags, reason_code rc, const properties&) {
    if (is_failure(rc)) refused = make_error_code(rc);
  };
  c.on_disconnect = [&](client&, disconnect_flags, reason_code, const properties&) {
    ended = true;
  };
  c.on_publish = [&](client&, message_id, reason_code, const properties&) { ++completed; };
  if (auto ec = c.connect(options.host, options.port, options.keepalive)) return ec;

  // Queued until CONNACK, then sent in order.
  std::vector<message_info> infos;
  infos.reserve(messages.size());
  for (const outgoing_message& m : messages) {
    infos.push_back(c.publish(m.topic, m.payload, m.q, m.retain));
    if (const auto ec = infos.back().rc()) {
      finish(c);
      return ec;
    }
  }
  auto all_done = [&] { return completed >= infos.size(); };
  std::error_code ec = run_until(c, deadline, [&] { return refused || ended || all_done(); });
  if (refused) return refused;
  if (!ec) {
    for (const message_info& i : infos) {
      if (i.is_published()) continue;
      ec = is_failure(i.reason()) ? make_error_code(i.reason())
                                  : std::make_error_code(std::errc::connection_aborted);
      break;
    }
  }
  finish(c);
  return ec;
}

std::error_code subscribe_simple(const std::vector<std::string>& filters, qos q, std::size_t count,
                                 bool retained, std::vector<owned_message>& out,
                                 const oneshot_options& options) {
  out.clear();
  if (count == 0) return {};
  std::error_code ec = subscribe_callback(
      [&](client&, const publish& m) {
        if (!retained && m.retain) return true;
        out.push_back(owned_message::from(m));
        return out.size() < count;
      },
      filters, q, options);
  return ec;
}

std::error_code subscribe_callback(const std::function<bool(client&, const publish&)>& callback,
                                   const std::vector<std::string>& filters, qos q,
                                   const oneshot_options& options) {
  if (filters.empty()) return make_error_code(errc::empty_list);
  const auto deadline = deadline_of(options);
  client c(options_for(options));
  configure(c, options);
  std::error_code failure;
  bool done = false;
  bool ended = false;
  c.on_connect = [&](client& self, connect_flags, reason_code rc, const properties&) {
    if (is_failure(rc)) {
      failure = make_error_code(rc);
      return;
    }
    std::vector<std::pair<std::string, subscribe_options>> list;
    for (const auto& f : filters) list.emplace_back(f, subscribe_options{q});
    if (const auto [ec, id] = self.subscribe(list); ec) failure = ec;
  };
  c.on_subscribe = [&](client&, std::uint16_t, const reason_code_list& codes, const properties&) {
    for (const reason_code rc : codes)
      if (is_failure(rc) && !failure) failure = make_error_code(rc);
  };
  c.on_message = [&](client&, const publish& m) {
    if (done) return;
    if (!callback(c, m)) done = true;
  };
  c.on_disconnect = [&](client&, disconnect_flags, reason_code, const properties&) {
    ended = true;
  };
  if (auto ec = c.connect(options.host, options.port, options.keepalive)) return ec;
  std::error_code ec = run_until(c, deadline, [&] { return done || failure || ended; });
  if (failure) ec = failure;
  else if (done) ec.clear();
  else if (!ec && ended) ec = std::make_error_code(std::errc::connection_aborted);
  finish(c);
  return ec;
}

}  // namespace tern
