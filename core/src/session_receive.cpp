// Incoming bytes: decoded in place from the receive buffer, packet by packet, and dispatched.
// The buffer only moves or grows at the start of receive_buffer() / handle_bytes(), so views
// handed out in events stay valid until the application calls into the session again.
#include <algorithm>
#include <cstring>

#include "session_impl.hpp"

namespace tern {

namespace {
constexpr std::size_t min_read = 2048;
constexpr std::uint8_t max_read_shift = 5;  // 64 KiB
}  // namespace

void session::impl::note_read(std::size_t offered, std::size_t received) noexcept {
  if (received == offered && read_shift < max_read_shift) ++read_shift;
}

void session::impl::reset_receive() noexcept {
  rstart = rend = rneeded = 0;
}

mutable_bytes session::impl::receive_space() {
  if (rstart == rend) {
    rstart = rend = 0;
  } else if (rstart != 0) {
    std::memmove(rbuf.data(), rbuf.data() + rstart, rend - rstart);
    rend -= rstart;
    rstart = 0;
  }
  // Room for a read; for a large packet, growth follows the bytes that actually arrived
  // (doubling, up to its size), so an announced length alone reserves little.
  std::size_t want = rend + (min_read << read_shift);
  if (rneeded > want) want = std::min(rneeded, std::max({want, rend * 2, std::size_t{64} << 10}));
  if (rbuf.size() < want) rbuf.resize(want);
  return {rbuf.data() + rend, rbuf.size() - rend};
}

void session::impl::process_received(time_point now) {
  // Once the connection is ending (our DISCONNECT queued, a refusal, a fault, the server's
  // DISCONNECT) nothing more is acted on: no delivery, and no reply after a DISCONNECT
  // [MQTT-3.14.4-1].
  while (rstart < rend && transport_open && st != session_state::disconnecting) {
    const bytes_view avail(rbuf.data() + rstart, rend - rstart);
    const auto f = decode_frame(avail, dopts);
    if (!f) return protocol_violation(f.error(), now);
    if (!*f) return;
    const frame fr = **f;
    if (avail.size() < fr.size()) {
      rneeded = fr.size();  // receive_space() makes room for the whole packet
      return;
    }
    rneeded = 0;
    auto p = decode_body(fr, avail.subspan(fr.header_size, fr.remaining_length), dopts);
    rstart += fr.size();
    if (!p) return protocol_violation(p.error(), now);
    dispatch(*p, now);
  }
}

void session::impl::dispatch(packet& p, time_point now) {
  const packet_type type = type_of(p);
  if (st == session_state::connecting && type != packet_type::connack &&
      type != packet_type::auth && type != packet_type::disconnect) {
    // The first packet from a server must be CONNACK (or AUTH) [MQTT-3.2.0-1].
    log(log_level::warning, to_string(type), " before CONNACK");
    return protocol_violation(reason_code::protocol_error, now);
  }
  switch (type) {
    case packet_type::connack:
      if (st != session_state::connecting) return protocol_violation(reason_code::protocol_error, now);
      return on_connack(std::get<connack>(p), now);
    case packet_type::publish: return on_publish(std::get<tern::publish>(p), now);
    case packet_type::puback: {
      const auto& a = std::get<puback>(p);
      return on_puback(a.packet_id, a.code, a.props, type, now);
    }
    case packet_type::pubrec: {
      const auto& a = std::get<pubrec>(p);
      return on_puback(a.packet_id, a.code, a.props, type, now);
    }
    case packet_type::pubrel: return on_pubrel(std::get<pubrel>(p).packet_id, now);
    case packet_type::pubcomp: {
      const auto& a = std::get<pubcomp>(p);
      return on_pubcomp(a.packet_id, a.code, a.props, now);
    }
    case packet_type::suback: return on_suback(std::get<suback>(p), now);
    case packet_type::unsuback: return on_unsuback(std::get<unsuback>(p), now);
    case packet_type::pingresp: ping_outstanding = false; timers[detail::ping_wait].reset(); return;
    case packet_type::disconnect: return on_server_disconnect(std::get<tern::disconnect>(p), now);
    case packet_type::auth: return on_auth(std::get<tern::auth>(p), now);
    default: return protocol_violation(reason_code::protocol_error, now);  // the decoder's sender check makes this unreachable
  }
}

void session::impl::on_publish(tern::publish& p, time_point now) {
  // Incoming Topic Alias [MQTT 3.3.2.3.4]: map it, or resolve an empty topic through it.
  if (v5()) {
    if (const auto alias = p.props.number(property_id::topic_alias)) {
      if (*alias > cfg.topic_alias_maximum)  // [MQTT 3.3.2.3.4]
        return protocol_violation(reason_code::topic_alias_invalid, now);
      auto& slot = extra->in_aliases[*alias - 1];  // allocated with topic_alias_maximum
      const std::string_view mapped(slot.data(), slot.size());
      if (p.topic.empty()) {
        if (slot.empty()) return protocol_violation(reason_code::protocol_error, now);
        p.topic = mapped;
      } else if (mapped != p.topic) {
        // An event may still view the old topic: keep it alive until the next input call.
        if (!slot.empty()) extra->retired_aliases.push_back(std::move(slot));
        slot = std::pmr::vector<char>(p.topic.begin(), p.topic.end(), mem);
      }
    }
  }
  if (p.q == qos::at_most_once) {
    push_event(message{p, false});
    return;
  }

  // Receive Maximum is a 5.0 CONNECT property: a 3.1.1 broker was never told a limit.
  const std::size_t in_use = qos1_unacked_count() + qos2_in.size();
  const std::size_t receive_maximum = v5() ? cfg.receive_maximum : 65'535;
  if (p.q == qos::at_least_once) {
    const bool known = extra != nullptr &&
                       std::find(extra->qos1_unacked.begin(), extra->qos1_unacked.end(),
                                 p.packet_id) != extra->qos1_unacked.end();
    if (!known && in_use >= receive_maximum)  // [MQTT 3.3.4]
      return protocol_violation(reason_code::receive_maximum_exceeded, now);
    push_event(message{p, cfg.manual_ack});
    if (cfg.manual_ack) {
      if (!known) extras().qos1_unacked.push_back(p.packet_id);
    } else {
      send_packet(puback{p.packet_id, reason_code::success, {}});
    }
    return;
  }

  // QoS 2: deliver once per packet id until PUBREL releases it [MQTT 4.3.3].
  if (bool acknowledged = false; qos2_in.find(p.packet_id, &acknowledged)) {
    if (acknowledged) send_packet(pubrec{p.packet_id, reason_code::success, {}});
    log(log_level::debug, "duplicate QoS 2 PUBLISH ", p.packet_id, " not delivered again");
    return;
  }
  if (in_use >= receive_maximum)
    return protocol_violation(reason_code::receive_maximum_exceeded, now);
  qos2_in.insert(p.packet_id, !cfg.manual_ack);
  push_event(message{p, cfg.manual_ack});
  if (!cfg.manual_ack) send_packet(pubrec{p.packet_id, reason_code::success, {}});
}

void session::impl::on_pubrel(std::uint16_t id, time_point now) {
  bool acknowledged = false;
  if (!qos2_in.find(id, &acknowledged)) {  // already released: complete again so the broker can finish
    send_packet(pubcomp{id, v5() ? reason_code::packet_identifier_not_found : reason_code::success,
                        {}});
    return;
  }
  if (!acknowledged)  // PUBREL before our PUBREC
    return protocol_violation(reason_code::protocol_error, now);
  qos2_in.erase(id);
  send_packet(pubcomp{id, reason_code::success, {}});
}

result<void, errc> session::impl::manual_ack(std::uint16_t id, reason_code code, time_point) {
  if (extra != nullptr) {  // unacknowledged QoS 1 ids live in the extras block
    auto& unacked = extra->qos1_unacked;
    if (auto q1 = std::find(unacked.begin(), unacked.end(), id); q1 != unacked.end()) {
      if (v5() ? !is_valid_for(code, packet_type::puback) : code != reason_code::success)
        return unexpected{errc::invalid_reason_code};
      unacked.erase(q1);
      if (st == session_state::connected) send_packet(puback{id, code, {}});
      return {};
    }
  }
  if (bool acknowledged = true; !qos2_in.find(id, &acknowledged) || acknowledged)
    return unexpected{errc::unknown_message};
  if (v5() ? !is_valid_for(code, packet_type::pubrec) : code != reason_code::success)
    return unexpected{errc::invalid_reason_code};
  if (is_failure(code)) {
    qos2_in.erase(id);  // a refused QoS 2 message ends with the PUBREC [MQTT-4.3.3]
  } else {
    qos2_in.insert(id, true);  // offline: PUBREC goes out when the broker resends
  }
  if (st == session_state::connected) send_packet(pubrec{id, code, {}});
  return {};
}

}  // namespace tern
