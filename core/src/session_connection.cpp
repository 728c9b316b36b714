// The connection lifecycle: opening a transport, CONNECT / CONNACK, enhanced authentication,
// keep-alive, the ways a connection ends, and reconnection with backoff.
//
//   idle ──connect()──▶ opening ──opened──▶ connecting ──CONNACK ok──▶ connected
//     ▲                    │                   │                          │
//     │                    └──────closed───────┴──────── lost ────────────┤
//     │                                                                   ▼
//     └──── no retry ◀── disconnecting (DISCONNECT written, close asked) ─┘
//                              │ retry
//                              ▼
//                           waiting ──backoff timer──▶ opening
#include <algorithm>
#include <array>

#include "session_impl.hpp"

namespace tern {

namespace {

// Refusals that a new attempt cannot fix without a change of configuration.
bool refusal_is_permanent(reason_code c) noexcept {
  switch (c) {
    case reason_code::unsupported_protocol_version:
    case reason_code::client_identifier_not_valid:
    case reason_code::bad_user_name_or_password:
    case reason_code::not_authorized:
    case reason_code::banned:
    case reason_code::bad_authentication_method:
    case reason_code::malformed_packet:
    case reason_code::protocol_error:
    case reason_code::topic_name_invalid:
    case reason_code::packet_too_large:
    case reason_code::payload_format_invalid:
    case reason_code::retain_not_supported:
    case reason_code::qos_not_supported:
      return true;
    default: return false;
  }
}

// Server DISCONNECT reasons after which reconnecting would only repeat the problem.
bool server_disconnect_is_final(reason_code c) noexcept {
  return c == reason_code::not_authorized || c == reason_code::bad_authentication_method ||
         c == reason_code::session_taken_over;  // two clients with one id would take turns
}

server_limits read_limits(const properties& props, std::uint16_t own_keep_alive) noexcept {
  server_limits l;
  l.keep_alive = own_keep_alive;
  for (const property p : props) {
    switch (p.id) {
      case property_id::receive_maximum: l.receive_maximum = static_cast<std::uint16_t>(p.number); break;
      case property_id::maximum_qos: l.maximum_qos = static_cast<qos>(p.number); break;
      case property_id::retain_available: l.retain_available = p.number != 0; break;
      case property_id::maximum_packet_size: l.maximum_packet_size = p.number; break;
      case property_id::topic_alias_maximum: l.topic_alias_maximum = static_cast<std::uint16_t>(p.number); break;
      case property_id::wildcard_subscription_available: l.wildcard_subscription_available = p.number != 0; break;
      case property_id::subscription_identifier_available: l.subscription_identifier_available = p.number != 0; break;
      case property_id::shared_subscription_available: l.shared_subscription_available = p.number != 0; break;
      case property_id::server_keep_alive: l.keep_alive = static_cast<std::uint16_t>(p.number); break;
      case property_id::session_expiry_interval: l.session_expiry_interval = p.number; break;
      default: break;
    }
  }
  return l;
}

void earliest(std::optional<time_point>& best, time_point t) noexcept {
  if (!best || t < *best) best = t;
}

}  // namespace

result<void, errc> session::impl::start(time_point now) {
  if (st != session_state::idle) return unexpected{errc::invalid_state};
  if (auto valid = validate_connect(); !valid) return valid;
  stop_after_close = false;
  connected_once = false;
  retry.reset();
  if (extra != nullptr) extra->server_reference.clear();
  reference_once = redirected = false;
  // Restored messages age from here (republished in-flight ones too, if the broker lost them).
  for (auto* queue : {&inflight, &pending}) {
    for (std::size_t i = 0; i < queue->size(); ++i) {
      detail::stored_message* m = (*queue)[i];
      if (!m->restored) continue;
      m->queued_at = now;
      m->restored = false;
    }
  }
  st = session_state::opening;
  actions.push_back(open_transport{});
  log(log_level::info, "connecting as \"", cfg.client_id, "\"");
  return {};
}

void session::impl::on_transport_opened(time_point now) {
  if (st != session_state::opening) {
    // Opened after disconnect() gave up on it: close it again.
    if (st == session_state::idle || st == session_state::waiting ||
        st == session_state::disconnecting)
      actions.push_back(close_transport{});  // a transport nobody asked for (any more)
    return;
  }
  transport_open = true;
  st = session_state::connecting;
  reset_receive();
  clear_transmit();
  dopts = {cfg.version, sender::server,
           cfg.maximum_packet_size != 0 ? cfg.maximum_packet_size : max_packet_size_limit};
  if (extra != nullptr) {
    extra->out_aliases.clear();
    for (auto& a : extra->in_aliases) a.clear();
    extra->retired_aliases.clear();
  }
  ping_outstanding = false;
  reauthenticating = false;
  limits = server_limits{};
  last_write = now;
  timers[detail::connect_wait] = now + cfg.connect_timeout;
  queue_connect();
}

tern::connect session::impl::build_connect(std::pmr::vector<property>& props) const {
  const bool clean = cfg.clean_start == clean_start_policy::always ||
                     (cfg.clean_start == clean_start_policy::first_only && !resume_next);
  if (v5()) {
    props.reserve(8 + (extra != nullptr ? extra->connect_user_props.size() : 0));
    if (cfg.session_expiry_interval != 0)
      props.push_back(property::integer(property_id::session_expiry_interval, cfg.session_expiry_interval));
    if (cfg.receive_maximum != 65'535)
      props.push_back(property::integer(property_id::receive_maximum, cfg.receive_maximum));
    if (cfg.maximum_packet_size != 0)
      props.push_back(property::integer(property_id::maximum_packet_size, cfg.maximum_packet_size));
    if (cfg.topic_alias_maximum != 0)
      props.push_back(property::integer(property_id::topic_alias_maximum, cfg.topic_alias_maximum));
    if (cfg.request_response_information)
      props.push_back(property::integer(property_id::request_response_information, 1));
    if (!cfg.request_problem_information)
      props.push_back(property::integer(property_id::request_problem_information, 0));
    if (extra != nullptr)
      for (const property& p : extra->connect_user_props) props.push_back(p);
  }
  tern::connect c;
  c.version = cfg.version;
  c.clean_start = clean;
  c.keep_alive = cfg.keep_alive;
  // A broker-assigned identifier names the session from then on: resuming needs it.
  c.client_id = assigned_client_id().empty() ? cfg.client_id : assigned_client_id();
  c.username = cfg.username;
  c.password = cfg.password;
  if (extra != nullptr && extra->will) {
    c.will = extra->will;
    c.will->props = extra->will_props;
  }
  c.props = props;
  return c;
}

result<void, errc> session::impl::validate_connect() const {
  if (cfg.version != protocol_version::v5 && cfg.client_id.empty() &&
      cfg.clean_start != clean_start_policy::always)
    return unexpected{errc::invalid_connect};  // [MQTT-3.1.3-7]: no id without a clean session
  if (cfg.auth != nullptr && !v5()) return unexpected{errc::unsupported_by_version};
  if (cfg.receive_maximum == 0) return unexpected{errc::invalid_property_value};
  std::pmr::vector<property> props(mem);
  const tern::connect c = build_connect(props);
  if (auto m = measure(c, cfg.version); !m) return unexpected{m.error()};
  return {};
}

void session::impl::queue_connect() {
  std::pmr::vector<property> props(mem);
  tern::connect c = build_connect(props);
  sent_clean_start = c.clean_start;
  if (v5() && cfg.auth != nullptr) {
    props.push_back(property::string(property_id::authentication_method, cfg.auth->method()));
    if (const auto data = cfg.auth->initial_data(false))
      props.push_back(property::binary_data(property_id::authentication_data, *data));
    c.props = props;
  }
  // validate_connect() ran in connect(); only the authenticator's data is new here.
  if (!send_packet(c)) log(log_level::error, "CONNECT could not be encoded");
  log(log_level::debug, "CONNECT queued, clean start ", c.clean_start ? "1" : "0");
}

void session::impl::on_connack(const connack& p, time_point now) {
  timers[detail::connect_wait].reset();
  if (is_failure(p.code)) {
    disconnected report{disconnect_cause::connection_refused, p.code, std::nullopt, p.props,
                        p.props.text(property_id::reason_string).value_or(""), std::nullopt};
    follow_reference(p.code, p.props);
    log(log_level::warning, "connection refused: ", describe(p.code, packet_type::connack));
    return lose_connection(report, std::nullopt, !refusal_is_permanent(p.code), now);
  }
  if (p.session_present && sent_clean_start)  // [MQTT-3.2.2-2]
    return protocol_violation(reason_code::protocol_error, now);
  if (v5()) {
    if (const auto method = p.props.text(property_id::authentication_method);
        method && (cfg.auth == nullptr || *method != cfg.auth->method()))
      return protocol_violation(reason_code::protocol_error, now);
    if (cfg.auth != nullptr) {
      const auto data = p.props.find(property_id::authentication_data);
      const auto verdict =
          cfg.auth->finished(data ? std::optional<bytes_view>(data->binary()) : std::nullopt);
      if (!verdict) {
        disconnected report{disconnect_cause::authentication_failed, verdict.error(), {}, {}, {}, {}};
        return lose_connection(report, verdict.error(), false, now);
      }
    }
  }
  const std::uint16_t own_keep_alive = cfg.keep_alive;
  limits = v5() ? read_limits(p.props, own_keep_alive) : server_limits{};
  limits.keep_alive = v5() ? limits.keep_alive : own_keep_alive;
  if (!v5()) limits.session_expiry_interval = cfg.session_expiry_interval;
  else if (!p.props.contains(property_id::session_expiry_interval))
    limits.session_expiry_interval = cfg.session_expiry_interval;
  keep_alive = limits.keep_alive;
  if (const auto id = p.props.text(property_id::assigned_client_identifier))
    extras().assigned_client_id.assign(*id);

  if (reference_once) {  // the redirect was for this connection only
    if (extra != nullptr) extra->server_reference.clear();
    reference_once = false;
  }
  st = session_state::connected;
  connected_at = now;
  connected_once = true;
  resume_next = true;
  if (!p.session_present) {  // nothing of the old session survives at the broker
    qos2_in.clear();
    if (extra != nullptr) extra->qos1_unacked.clear();
  }
  push_event(connected{p.session_present, assigned_client_id(), limits, p.props});
  log(log_level::info, "connected, session present ", p.session_present ? "1" : "0");
  resume_inflight(p.session_present, now);
  if (!p.session_present) resubscribe(now);
  fill_window(now);
}

void session::impl::on_auth(const tern::auth& p, time_point now) {
  const auto method = p.props.text(property_id::authentication_method);
  if (cfg.auth == nullptr || !method || *method != cfg.auth->method())  // [MQTT 4.12]
    return protocol_violation(reason_code::protocol_error, now);
  const auto data_prop = p.props.find(property_id::authentication_data);
  const std::optional<bytes_view> data =
      data_prop ? std::optional<bytes_view>(data_prop->binary()) : std::nullopt;
  if (p.code == reason_code::continue_authentication) {
    if (st != session_state::connecting && !reauthenticating)
      return protocol_violation(reason_code::protocol_error, now);
    const auto reply = cfg.auth->challenge(data);
    if (!reply) {
      disconnected report{disconnect_cause::authentication_failed, reply.error(), {}, {}, {}, {}};
      return lose_connection(report, reply.error(), false, now);
    }
    std::array<property, 2> props{property::string(property_id::authentication_method, *method), {}};
    std::size_t n = 1;
    if (*reply) props[n++] = property::binary_data(property_id::authentication_data, **reply);
    send_packet(tern::auth{reason_code::continue_authentication,
                     properties(std::span<const property>(props.data(), n))});
    return;
  }
  if (p.code == reason_code::success && reauthenticating && st == session_state::connected) {
    reauthenticating = false;
    const auto verdict = cfg.auth->finished(data);
    if (!verdict) {
      disconnected report{disconnect_cause::authentication_failed, verdict.error(), {}, {}, {}, {}};
      return lose_connection(report, verdict.error(), false, now);
    }
    push_event(reauthenticated{p.props});
    return;
  }
  protocol_violation(reason_code::protocol_error, now);  // Re-authenticate comes from clients only
}

result<void, errc> session::impl::start_reauthentication(time_point now) {
  if (!v5() || cfg.auth == nullptr) return unexpected{errc::unsupported_by_version};
  if (st != session_state::connected || reauthenticating) return unexpected{errc::invalid_state};
  std::array<property, 2> props{property::string(property_id::authentication_method, cfg.auth->method()), {}};
  std::size_t n = 1;
  if (const auto data = cfg.auth->initial_data(true))
    props[n++] = property::binary_data(property_id::authentication_data, *data);
  if (!send_packet(tern::auth{reason_code::re_authenticate, properties(std::span<const property>(props.data(), n))}))
    return unexpected{errc::packet_too_large};
  reauthenticating = true;
  (void)now;
  return {};
}

// Use another server (0x9C) redirects the next connection only; Server moved (0x9D) is for
// good [MQTT 4.11]. A redirect is followed even when the first connection is refused.
void session::impl::follow_reference(reason_code code, const properties& props) {
  if (code != reason_code::use_another_server && code != reason_code::server_moved) return;
  const auto ref = props.text(property_id::server_reference);
  if (!ref || ref->empty()) return;
  extras().server_reference.assign(*ref);
  reference_once = code == reason_code::use_another_server;
  redirected = true;
}

void session::impl::on_server_disconnect(const tern::disconnect& p, time_point now) {
  disconnected report{disconnect_cause::server_disconnect, p.code, std::nullopt, p.props,
                      p.props.text(property_id::reason_string).value_or(""), std::nullopt};
  follow_reference(p.code, p.props);
  log(log_level::warning, "server disconnected: ", describe(p.code, packet_type::disconnect));
  lose_connection(report, std::nullopt, !server_disconnect_is_final(p.code), now);
}

void session::impl::protocol_violation(decode_error e, time_point now) {
  log(log_level::error, "protocol error from the server: ", to_string(e.code), " at byte ",
      e.offset);
  const reason_code code = to_reason_code(e.code);
  lose_connection({disconnect_cause::protocol_error, code, e, {}, {}, {}}, code, true, now);
}

void session::impl::protocol_violation(reason_code code, time_point now) {
  log(log_level::error, "protocol error from the server: ", describe(code, packet_type::disconnect));
  lose_connection({disconnect_cause::protocol_error, code, std::nullopt, {}, {}, {}}, code, true,
                  now);
}

void session::impl::lose_connection(disconnected report, std::optional<reason_code> code_to_send,
                                    bool may_retry, time_point now) {
  if (st == session_state::idle || st == session_state::waiting ||
      st == session_state::disconnecting)
    return;  // already ended or ending
  const bool was_connected = st == session_state::connected;
  retry_after_close = may_retry && cfg.auto_reconnect && !stop_after_close &&
                      (connected_once || cfg.retry_first_connection || redirected);
  redirected = false;
  if (retry_after_close) {
    if (was_connected && now - connected_at >= cfg.stable_after) retry.reset();
    const time_point at = now + retry.next_delay();
    timers[detail::reconnect] = at;
    report.reconnect_at = at;
  }
  timers[detail::connect_wait].reset();
  timers[detail::ping_wait].reset();
  st = session_state::disconnecting;
  push_event(report);

  if (!transport_open) {  // nothing to close: the attempt never got a transport
    after_connection_end(now);
    return;
  }
  // DISCONNECT only follows whole packets, and only once CONNECT itself went out (a broker
  // must see CONNECT first [MQTT-3.1.0-1]); otherwise the connection just closes.
  if (code_to_send && v5() && written_total != 0 && !mid_packet()) {
    clear_transmit();  // nothing else matters now; the DISCONNECT says why [MQTT 4.13]
    send_packet(tern::disconnect{*code_to_send, {}});
    push_marker(detail::segment::kind::close_after);
    timers[detail::close_wait] = now + std::min(cfg.connect_timeout, duration(std::chrono::seconds(5)));
  } else {
    actions.push_back(close_transport{});
  }
}

void session::impl::on_transport_closed(time_point now) {
  const bool was_open = transport_open;
  transport_open = false;
  if (st == session_state::disconnecting) {
    after_connection_end(now);
    return;
  }
  if (st == session_state::opening || st == session_state::connecting ||
      st == session_state::connected) {
    log(log_level::warning, was_open ? "connection lost" : "could not open a connection");
    lose_connection({disconnect_cause::transport_closed, reason_code::success, {}, {}, {}, {}},
                    std::nullopt, true, now);
  }
}

void session::impl::after_connection_end(time_point now) {
  timers[detail::close_wait].reset();
  clear_transmit();
  abort_requests();
  if (extra != nullptr) extra->qos1_unacked.clear();  // the broker resends unacked QoS 1 messages
  reset_receive();
  ping_outstanding = false;
  reauthenticating = false;
  if (retry_after_close && timers[detail::reconnect] && *timers[detail::reconnect] <= now) {
    // The backoff already passed while the transport was closing: reopen now.
    timers[detail::reconnect].reset();
    st = session_state::opening;
    actions.push_back(open_transport{server_reference()});
  } else if (retry_after_close && timers[detail::reconnect]) {
    st = session_state::waiting;
  } else {
    timers[detail::reconnect].reset();
    st = session_state::idle;
  }
  // Pending QoS 0 messages do not survive a connection unless queued for offline delivery.
}

result<void, errc> session::impl::user_disconnect(time_point now, reason_code code,
                                                  const properties& props) {
  if (v5()) {
    if (!is_valid_for(code, packet_type::disconnect)) return unexpected{errc::invalid_reason_code};
    if (const auto expiry = props.number(property_id::session_expiry_interval);
        expiry && *expiry != 0 && cfg.session_expiry_interval == 0)  // [MQTT 3.14.2.2.2]
      return unexpected{errc::invalid_property_value};
    if (auto m = measure(tern::disconnect{code, props}, cfg.version); !m) return unexpected{m.error()};
  } else if (code != reason_code::normal_disconnection || !props.empty()) {
    return unexpected{errc::unsupported_by_version};
  }
  switch (st) {
    case session_state::idle: return unexpected{errc::invalid_state};
    case session_state::waiting:
      timers[detail::reconnect].reset();
      st = session_state::idle;
      push_event(disconnected{disconnect_cause::client_disconnect, code, {}, {}, {}, {}});
      return {};
    case session_state::disconnecting:
      stop_after_close = true;
      retry_after_close = false;
      timers[detail::reconnect].reset();
      return {};
    case session_state::opening:
    case session_state::connecting:
      stop_after_close = true;
      lose_connection({disconnect_cause::client_disconnect, code, {}, {}, {}, {}}, std::nullopt,
                      false, now);
      return {};
    case session_state::connected: break;
  }
  stop_after_close = true;
  retry_after_close = false;
  timers[detail::ping_wait].reset();
  st = session_state::disconnecting;
  send_packet(tern::disconnect{code, props});
  push_marker(detail::segment::kind::close_after);
  timers[detail::close_wait] = now + cfg.connect_timeout;
  push_event(disconnected{disconnect_cause::client_disconnect, code, {}, {}, {}, {}});
  return {};
}

void session::impl::on_timeout(time_point now) {
  auto due = [&](detail::timer t) { return timers[t] && *timers[t] <= now; };
  if (due(detail::close_wait)) {  // the transport did not drain: close regardless
    timers[detail::close_wait].reset();
    actions.push_back(close_transport{});
  }
  if (due(detail::reconnect) && st == session_state::waiting) {
    timers[detail::reconnect].reset();
    st = session_state::opening;
    actions.push_back(open_transport{server_reference()});
  }
  if (due(detail::connect_wait) && st == session_state::connecting) {
    timers[detail::connect_wait].reset();
    log(log_level::warning, "no CONNACK in time");
    lose_connection({disconnect_cause::connect_timeout, reason_code::success, {}, {}, {}, {}},
                    std::nullopt, true, now);
  }
  if (due(detail::ping_wait) && st == session_state::connected) {
    timers[detail::ping_wait].reset();
    log(log_level::warning, "no PINGRESP in time");
    lose_connection({disconnect_cause::keep_alive_timeout, reason_code::keep_alive_timeout, {}, {},
                     {}, {}},
                    std::nullopt, true, now);
  }
  if (st != session_state::connected) return;
  if (cfg.ack_timeout > duration::zero()) {
    for (std::size_t i = 0; i < inflight.size(); ++i) {
      const detail::stored_message* m = inflight[i];
      if (m->sent_this_connection && m->sent_at + cfg.ack_timeout <= now) {
        log(log_level::warning, "no acknowledgement for packet id ", m->packet_id, " in time");
        return lose_connection(
            {disconnect_cause::ack_timeout, reason_code::success, {}, {}, {}, {}}, std::nullopt,
            true, now);
      }
    }
  }
  // Keep-alive counts from the last byte written [MQTT 3.1.2.10].
  const auto interval = std::chrono::seconds(keep_alive);
  if (keep_alive != 0 && !ping_outstanding && last_write + interval <= now) {
    send_packet(pingreq{});
    ping_outstanding = true;
    timers[detail::ping_wait] = now + (cfg.ping_timeout > duration::zero() ? cfg.ping_timeout : duration(interval));
  }
}

std::optional<time_point> session::impl::next_deadline() const noexcept {
  std::optional<time_point> best;
  // Only the timers that act in the current state: a reconnection decided while the transport
  // is still closing must not report a past deadline the adapter would spin on.
  const auto consider = [&](detail::timer t, session_state when) {
    if (timers[t] && st == when) earliest(best, *timers[t]);
  };
  consider(detail::reconnect, session_state::waiting);
  consider(detail::connect_wait, session_state::connecting);
  consider(detail::ping_wait, session_state::connected);
  consider(detail::close_wait, session_state::disconnecting);
  if (st == session_state::connected) {
    if (keep_alive != 0 && !ping_outstanding)
      earliest(best, last_write + std::chrono::seconds(keep_alive));
    if (cfg.ack_timeout > duration::zero())
      for (std::size_t i = 0; i < inflight.size(); ++i)
        if (inflight[i]->sent_this_connection) earliest(best, inflight[i]->sent_at + cfg.ack_timeout);
  }
  return best;
}

}  // namespace tern
