// Outgoing messages: validation, storage, the in-flight window, acknowledgements, and what
// happens to unacknowledged messages when a connection ends or the broker lost the session.
#include <algorithm>
#include <cstring>
#include <new>

#include "session_impl.hpp"
#include "property_codec.hpp"
#include "tern/varint.hpp"
#include "tern/topic.hpp"

namespace tern {

using detail::stored_message;
using stage = stored_message::stage;

namespace {

void write_u32(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>((v >> 16) & 0xFFu);
  p[2] = static_cast<std::byte>((v >> 8) & 0xFFu);
  p[3] = static_cast<std::byte>(v & 0xFFu);
}

void write_u16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v & 0xFFu);
}

}  // namespace

// Records where the fields of an encoded PUBLISH are, so they can be patched or re-framed.
void detail::locate_stored_fields(stored_message& m, protocol_version v) noexcept {
  const std::byte* b = m.bytes();
  const varint_read rl = read_varint({b + 1, m.size - 1});
  std::uint32_t at = 1 + rl.size;
  m.topic_size = (static_cast<std::uint32_t>(b[at]) << 8) | static_cast<std::uint32_t>(b[at + 1]);
  m.topic_offset = at + 2;
  at = m.topic_offset + m.topic_size;
  if (m.q != qos::at_most_once) {
    m.id_offset = at;
    at += 2;
  }
  m.properties_offset = at;
  if (v == protocol_version::v5) {
    const varint_read pl = read_varint({b + at, m.size - at});
    const std::uint32_t end = at + pl.size + pl.value;
    std::uint32_t p = at + pl.size;
    while (p < end) {  // find Message Expiry Interval for local aging
      const std::byte* q = b + p;
      const property prop = detail::read_validated_property(q);
      if (prop.id == property_id::message_expiry_interval) {
        m.expiry_offset = p + 1;
        m.expiry = prop.number;
      }
      p = static_cast<std::uint32_t>(q - b);
    }
    at = end;
  }
  m.payload_offset = at;
}

std::size_t session::impl::window_limit() const noexcept {
  return std::min<std::size_t>(std::max<std::uint16_t>(cfg.max_inflight, 1),
                               limits.receive_maximum);
}

bool session::impl::packet_id_in_use(std::uint16_t id) const noexcept {
  for (std::size_t i = 0; i < inflight.size(); ++i)
    if (inflight[i]->packet_id == id) return true;
  for (const auto& r : requests)
    if (r.packet_id == id) return true;
  return false;
}

std::uint16_t session::impl::allocate_packet_id() noexcept {
  if (ids_below_last && last_packet_id != 65'535) return ++last_packet_id;
  // Slow path after a wrap: search, and find out whether the fast path holds again.
  bool above = false;
  for (std::size_t i = 0; i < inflight.size() && !above; ++i)
    above = inflight[i]->packet_id > last_packet_id;
  for (const auto& r : requests) above = above || r.packet_id > last_packet_id;
  if (!above && last_packet_id != 65'535) {
    ids_below_last = true;
    return ++last_packet_id;
  }
  for (std::uint32_t tries = 0; tries < 65'535; ++tries) {
    if (last_packet_id == 65'535) ids_below_last = false;
    last_packet_id = static_cast<std::uint16_t>(last_packet_id == 65'535 ? 1 : last_packet_id + 1);
    if (!packet_id_in_use(last_packet_id)) return last_packet_id;
  }
  return 0;
}

void session::impl::recount_unsent() noexcept {
  unsent_inflight = 0;
  for (std::size_t i = 0; i < inflight.size(); ++i)
    if (!inflight[i]->sent_this_connection) ++unsent_inflight;
}

stored_message* session::impl::take_inflight(std::size_t i) noexcept {
  stored_message* m = inflight[i];
  if (i == 0) inflight.pop_front();
  else inflight.erase(i);
  if (!m->sent_this_connection) --unsent_inflight;
  else if (window_used != 0) --window_used;
  return m;
}

void session::impl::release(stored_message* m) noexcept {
  if (m->in_transmit != 0) {  // still viewed by the transmit queue
    m->acked_while_queued = true;
    return;
  }
  const std::size_t bytes = sizeof(stored_message) + m->size;
  m->~stored_message();
  mem->deallocate(m, bytes, alignof(stored_message));
}

void session::impl::complete(stored_message* m, publish_outcome outcome, reason_code code,
                             const properties& props, bool reached_broker) {
  push_event(publish_completed{m->id, m->packet_id, m->q, outcome, code, reached_broker, props});
  release(m);
}

result<message_id, errc> session::impl::publish(const tern::publish& msg, time_point now) {
  if (msg.packet_id != 0 || msg.dup) return unexpected{errc::invalid_packet_id};
  if (static_cast<unsigned>(msg.q) > 2) return unexpected{errc::invalid_qos};
  for (const property p : msg.props)
    if (p.id == property_id::topic_alias ||  // the session manages aliases
        p.id == property_id::subscription_identifier)  // [MQTT-3.3.4-6]
      return unexpected{errc::property_not_allowed};
  if (static_cast<unsigned>(msg.q) > static_cast<unsigned>(limits.maximum_qos))
    return unexpected{errc::qos_not_supported};
  if (msg.retain && !limits.retain_available) return unexpected{errc::retain_not_supported};

  tern::publish canonical = msg;
  if (msg.q != qos::at_most_once) canonical.packet_id = 1;  // placeholder, patched when sent
  const auto size = measure(canonical, cfg.version);
  if (!size) return unexpected{size.error()};
  if (size->total > limits.maximum_packet_size) return unexpected{errc::packet_too_large};

  const bool connected = st == session_state::connected;
  // Messages of one QoS leave in the order they were published: a QoS 0 message goes straight
  // out unless an older QoS 0 still waits (queued offline, or behind the transmit limit).
  if (msg.q == qos::at_most_once && connected && pending_qos0 == 0) {
    if (transmit_full(size->total)) return unexpected{errc::would_block};
    const message_id id = next_message_id++;
    if (!send_qos0_with_alias(canonical)) write(canonical, cfg.version, *size, reserve_owned(size->total));
    end_packet();
    push_marker(detail::segment::kind::qos0_sent, id);
    return id;
  }
  if (msg.q == qos::at_most_once && !connected && !cfg.queue_qos0_while_offline)
    return unexpected{errc::not_connected};

  // Everything else is stored: QoS 1/2 until acknowledged, QoS 0 until a connection exists.
  const bool must_queue = !connected || window_used >= window_limit() ||
                         (msg.q == qos::at_most_once ? pending_qos0 != 0
                                                     : pending.size() != pending_qos0);
  if (must_queue && (pending.size() >= cfg.max_queued_messages ||
                     pending_bytes + size->total > cfg.max_queued_bytes)) {
    // Dropping is pointless when the message could never fit: lose nothing then.
    if (cfg.when_queue_full == queue_full_policy::reject || pending.empty() ||
        size->total > cfg.max_queued_bytes || cfg.max_queued_messages == 0)
      return unexpected{errc::queue_full};
    while (!pending.empty() && (pending.size() >= cfg.max_queued_messages ||
                                pending_bytes + size->total > cfg.max_queued_bytes)) {
      stored_message* oldest = take_pending(0);
      complete(oldest, publish_outcome::dropped, reason_code::success, {}, false);
    }
    if (pending_bytes + size->total > cfg.max_queued_bytes) return unexpected{errc::queue_full};
  }

  void* block = mem->allocate(sizeof(stored_message) + size->total, alignof(stored_message));
  auto* m = ::new (block) stored_message{};
  m->id = next_message_id++;
  m->q = msg.q;
  m->size = size->total;
  m->queued_at = now;
  write(canonical, cfg.version, *size, m->bytes());
  locate_stored_fields(*m, cfg.version);

  if (must_queue) {
    queue_pending(m);
  } else {
    send_stored(m, now);
  }
  return m->id;
}

void session::impl::send_stored(stored_message* m, time_point now) {
  if (m->q == qos::at_most_once) {  // a QoS 0 message queued while offline
    push_stored(m, 0, m->size);
    end_packet();
    push_marker(detail::segment::kind::qos0_sent, m->id);
    m->acked_while_queued = true;  // freed once written
    return;
  }
  if (m->at == stage::pending) {
    m->packet_id = allocate_packet_id();
    write_u16(m->bytes() + m->id_offset, m->packet_id);
    m->at = stage::awaiting_ack;
    inflight.push_back(m);
  } else if (!m->sent_this_connection) {
    --unsent_inflight;  // a resend
  }
  ++window_used;
  m->sent_this_connection = true;
  m->sent_at = now;
  if (m->at == stage::awaiting_pubcomp) {
    send_packet(pubrel{m->packet_id, reason_code::success, {}});
    return;
  }
  const bool dup = m->sent_before;
  m->sent_before = true;
  if (!aliases_on() || !send_with_alias(m, dup)) {
    m->bytes()[0] = detail::with_dup(m->bytes()[0], dup);
    push_stored(m, 0, m->size);
  }
  end_packet();
}

// Why the current server cannot take a stored PUBLISH (its limits may be lower than those of
// the connection it was accepted on); sending it anyway would only get us disconnected.
std::optional<reason_code> session::impl::over_limits(const stored_message& m) const noexcept {
  const bool retained = (static_cast<std::uint8_t>(m.bytes()[0]) & 0x01u) != 0;
  if (static_cast<unsigned>(m.q) > static_cast<unsigned>(limits.maximum_qos))
    return reason_code::qos_not_supported;
  if (retained && !limits.retain_available) return reason_code::retain_not_supported;
  if (m.size > limits.maximum_packet_size) return reason_code::packet_too_large;  // [MQTT-3.1.2-24]
  return std::nullopt;
}

void session::impl::fill_window(time_point now) {
  if (st != session_state::connected) return;
  // First what this connection has not sent yet of the inflight set (resumed sessions),
  // then the pending queue, in order.
  for (std::size_t i = 0; unsent_inflight != 0 && i < inflight.size() &&
                          window_used < window_limit();
       ++i) {
    stored_message* m = inflight[i];
    if (m->sent_this_connection) continue;
    if (m->at == stage::awaiting_ack) {
      // The resumed server accepts less than this message: it cannot go again.
      if (const auto refused = over_limits(*m)) {
        (void)take_inflight(i--);
        complete(m, publish_outcome::dropped, *refused, {}, false);
        continue;
      }
    }
    send_stored(m, now);
  }
  // A QoS 1/2 message blocked by the window does not hold back the QoS 0 ones behind it: the
  // order is kept within each QoS, as for an ordered topic [MQTT 4.6].
  for (std::size_t i = 0; i < pending.size();) {
    stored_message* m = pending[i];
    if (m->q != qos::at_most_once && window_used >= window_limit()) {
      if (pending_qos0 == 0) break;
      ++i;
      continue;
    }
    if (m->q == qos::at_most_once && transmit_full(m->size)) break;
    (void)take_pending(i);
    if (m->expiry_offset != 0) {  // age the Message Expiry Interval locally [MQTT 3.3.2.3.3]
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - m->queued_at);
      const auto left = static_cast<std::int64_t>(m->expiry) - waited.count();
      if (left <= 0) {
        complete(m, publish_outcome::expired, reason_code::success, {}, false);
        continue;
      }
      write_u32(m->bytes() + m->expiry_offset, static_cast<std::uint32_t>(left));
    }
    if (const auto refused = over_limits(*m)) {
      complete(m, publish_outcome::dropped, *refused, {}, false);
      continue;
    }
    send_stored(m, now);
  }
}

result<void, errc> session::impl::withdraw(message_id id) noexcept {
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (pending[i]->id != id) continue;
    release(take_pending(i));
    return {};
  }
  return unexpected{errc::unknown_message};
}

void session::impl::queue_pending(stored_message* m) noexcept {
  pending.push_back(m);
  pending_bytes += m->size;
  if (m->q == qos::at_most_once) ++pending_qos0;
}

stored_message* session::impl::take_pending(std::size_t i) noexcept {
  stored_message* m = pending[i];
  if (i == 0) pending.pop_front();
  else pending.erase(i);
  pending_bytes -= m->size;
  if (m->q == qos::at_most_once) --pending_qos0;
  return m;
}

void session::impl::on_puback(std::uint16_t id, reason_code code, const properties& props,
                              packet_type kind, time_point now) {
  for (std::size_t i = 0; i < inflight.size(); ++i) {
    stored_message* m = inflight[i];
    if (m->packet_id != id || m->at != stage::awaiting_ack) continue;
    const bool expected_kind = (kind == packet_type::puback) == (m->q == qos::at_least_once);
    if (!expected_kind)  // PUBACK answers QoS 1 only, PUBREC QoS 2 only [MQTT 4.3]
      return protocol_violation(reason_code::protocol_error, now);
    if (kind == packet_type::pubrec && !is_failure(code)) {
      m->at = stage::awaiting_pubcomp;  // [MQTT-4.3.3] PUBREL, then wait for PUBCOMP
      m->sent_at = now;
      send_packet(pubrel{id, reason_code::success, {}});
      return;
    }
    (void)take_inflight(i);
    complete(m, publish_outcome::acknowledged, code, props, true);
    fill_window(now);
    return;
  }
  if (kind == packet_type::pubrec) {
    // An unknown PUBREC still needs a PUBREL so the broker can finish [MQTT 4.3.3].
    send_packet(pubrel{id, v5() ? reason_code::packet_identifier_not_found : reason_code::success,
                       {}});
  }
  log(log_level::warning, to_string(kind), " for unknown packet id ", id, " ignored");
}

void session::impl::on_pubcomp(std::uint16_t id, reason_code code, const properties& props,
                               time_point now) {
  for (std::size_t i = 0; i < inflight.size(); ++i) {
    stored_message* m = inflight[i];
    if (m->packet_id != id || m->at != stage::awaiting_pubcomp) continue;
    (void)take_inflight(i);
    complete(m, publish_outcome::acknowledged, code, props, true);
    fill_window(now);
    return;
  }
  log(log_level::warning, "PUBCOMP for unknown packet id ", id, " ignored");
}

void session::impl::resume_inflight(bool session_present, time_point now) {
  window_used = 0;
  for (std::size_t i = 0; i < inflight.size(); ++i) inflight[i]->sent_this_connection = false;
  unsent_inflight = static_cast<std::uint32_t>(inflight.size());
  if (session_present) return;  // fill_window() resends them in order, DUP set [MQTT-4.4.0-1]

  // The broker has no session: our session state must go [MQTT 4.1]. A QoS 2 message the
  // broker already PUBREC'd reached it and must not be sent again (it would be delivered
  // twice); the others are republished as new messages when configured, in their order.
  // Lost ones are reported in publish order; the rest go back to the front of the queue,
  // taken from the back so that they keep their order there.
  for (std::size_t i = 0; i < inflight.size();) {
    stored_message* m = inflight[i];
    if (m->at == stage::awaiting_ack && cfg.republish_after_session_loss) {
      ++i;
      continue;
    }
    (void)take_inflight(i);
    complete(m, publish_outcome::session_lost, reason_code::success, {},
             m->at == stage::awaiting_pubcomp);
  }
  const std::size_t requeued = inflight.size();
  while (!inflight.empty()) {
    stored_message* m = inflight.back();
    inflight.pop_back();
    m->at = stage::pending;
    m->packet_id = 0;
    m->sent_before = false;
    pending.push_front(m);
    pending_bytes += m->size;
  }
  unsent_inflight = 0;
  if (requeued != 0) log(log_level::info, "republishing ", requeued, " unacknowledged messages");
  (void)now;
}

}  // namespace tern
