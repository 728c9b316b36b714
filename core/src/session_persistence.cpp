// Durable session state: what must survive a process restart for QoS 1/2 to keep their
// promises — unacknowledged outgoing messages with their stage, queued messages, incoming
// QoS 2 packet ids awaiting PUBREL, and the subscriptions to replay.
//
// Format (all integers big-endian):
//   "TERNSS" u8 format=1 u8 protocol-level u16 last-packet-id u64 next-message-id
//   u32 n, n × message:  u64 id u16 packet-id u8 qos u8 stage u8 sent-before u32 size bytes
//                        (first the in-flight messages in send order, then the pending queue)
//   u32 n, n × incoming: u16 packet-id u8 acknowledged
//   u32 n, n × filter:   u16 size bytes u8 options u32 subscription-identifier
// Every stored PUBLISH is decoded again on restore, so a damaged file is refused whole.
#include <algorithm>
#include <cstring>
#include <new>

#include "session_impl.hpp"
#include "tern/topic.hpp"

namespace tern {

using detail::stored_message;

namespace {

constexpr char magic[6] = {'T', 'E', 'R', 'N', 'S', 'S'};
constexpr std::uint8_t format = 1;

class out_stream {
 public:
  explicit out_stream(std::byte* p) noexcept : p_(p) {}
  std::size_t written() const noexcept { return n_; }
  void u8(std::uint8_t v) noexcept { put(&v, 1, 1); }
  void u16(std::uint16_t v) noexcept { big(v, 2); }
  void u32(std::uint32_t v) noexcept { big(v, 4); }
  void u64(std::uint64_t v) noexcept { big(v, 8); }
  void bytes(const void* d, std::size_t n) noexcept { put(d, n, 1); }

 private:
  void big(std::uint64_t v, int width) noexcept {
    std::uint8_t b[8];
    for (int i = 0; i < width; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * (width - 1 - i)));
    put(b, static_cast<std::size_t>(width), 1);
  }
  void put(const void* d, std::size_t n, int) noexcept {
    if (p_ != nullptr && n != 0) std::memcpy(p_ + n_, d, n);
    n_ += n;
  }
  std::byte* p_;
  std::size_t n_ = 0;
};

class in_stream {
 public:
  explicit in_stream(bytes_view b) noexcept : b_(b) {}
  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return at_ == b_.size(); }
  std::uint64_t big(int width) noexcept {
    if (!need(static_cast<std::size_t>(width))) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(b_[at_++]);
    return v;
  }
  bytes_view take(std::size_t n) noexcept {
    if (!need(n)) return {};
    const bytes_view v = b_.subspan(at_, n);
    at_ += n;
    return v;
  }

 private:
  bool need(std::size_t n) noexcept {
    if (b_.size() - at_ < n) ok_ = false;
    return ok_;
  }
  bytes_view b_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

std::uint8_t options_byte(const subscribe_options& o) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(o.max_qos) | (o.no_local ? 0x04u : 0u) |
                                   (o.retain_as_published ? 0x08u : 0u) |
                                   (static_cast<unsigned>(o.retain) << 4));
}

}  // namespace

template <class Out>
void session::impl::save(Out& o) const noexcept {
  const impl& s = *this;
  o.bytes(magic, sizeof magic);
  o.u8(format);
  o.u8(static_cast<std::uint8_t>(s.cfg.version));
  o.u16(s.last_packet_id);
  o.u64(s.next_message_id);
  o.u32(static_cast<std::uint32_t>(s.inflight.size() + s.pending.size()));
  auto message = [&o](const stored_message* m) {
    o.u64(m->id);
    o.u16(m->packet_id);
    o.u8(static_cast<std::uint8_t>(m->q));
    o.u8(static_cast<std::uint8_t>(m->at));
    o.u8(m->sent_before ? 1 : 0);
    o.u32(m->size);
    o.bytes(m->bytes(), m->size);
  };
  for (std::size_t i = 0; i < s.inflight.size(); ++i) message(s.inflight[i]);
  for (std::size_t i = 0; i < s.pending.size(); ++i) message(s.pending[i]);
  o.u32(static_cast<std::uint32_t>(s.qos2_in.size()));
  // In id order: the same state always saves to the same bytes, whatever the set's layout.
  std::pmr::vector<std::uint32_t> incoming(s.mem);
  incoming.reserve(s.qos2_in.size());
  s.qos2_in.for_each([&incoming](std::uint16_t id, bool acknowledged) {
    incoming.push_back(id | (acknowledged ? 1u << 16 : 0u));
  });
  std::sort(incoming.begin(), incoming.end(),
            [](std::uint32_t a, std::uint32_t b) { return (a & 0xFFFFu) < (b & 0xFFFFu); });
  for (const std::uint32_t q : incoming) {
    o.u16(static_cast<std::uint16_t>(q));
    o.u8(static_cast<std::uint8_t>(q >> 16));
  }
  o.u32(static_cast<std::uint32_t>(s.active_subscriptions.size()));
  for (const auto& a : s.active_subscriptions) {
    o.u16(static_cast<std::uint16_t>(a.filter.size()));
    o.bytes(a.filter.data(), a.filter.size());
    o.u8(options_byte(a.options));
    o.u32(a.identifier);
  }
}

std::size_t session::state_size() const noexcept {
  out_stream measure(nullptr);
  impl_->save(measure);
  return measure.written();
}

void session::save_state(std::byte* out) const noexcept {
  out_stream o(out);
  impl_->save(o);
}

result<void, errc> session::restore_state(bytes_view saved) {
  impl& s = *impl_;
  if (s.st != session_state::idle) return unexpected{errc::invalid_state};
  in_stream in(saved);
  const bytes_view head = in.take(sizeof magic);
  if (!in.ok() || std::memcmp(head.data(), magic, sizeof magic) != 0 || in.big(1) != format ||
      in.big(1) != static_cast<std::uint8_t>(s.cfg.version))
    return unexpected{errc::invalid_state_data};
  const auto last_packet_id = static_cast<std::uint16_t>(in.big(2));
  const std::uint64_t next_message_id = in.big(8);

  // Parse everything before changing anything, so a bad file leaves the session as it was.
  std::pmr::vector<stored_message*> loaded(s.mem);
  auto discard = [&] {
    for (stored_message* m : loaded) s.release(m);
    return unexpected{errc::invalid_state_data};
  };
  const std::uint64_t count = in.big(4);
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    const std::uint64_t id = in.big(8);
    const auto packet_id = static_cast<std::uint16_t>(in.big(2));
    const auto q = static_cast<std::uint8_t>(in.big(1));
    const auto at = static_cast<std::uint8_t>(in.big(1));
    const bool sent_before = in.big(1) != 0;
    const auto size = static_cast<std::uint32_t>(in.big(4));
    const bytes_view bytes = in.take(size);
    if (!in.ok() || q > 2 || at > 2) return discard();
    std::size_t used = 0;
    const auto decoded = decode_packet(bytes, {s.cfg.version, sender::client}, used);
    if (!decoded || !*decoded || used != size) return discard();
    const auto* p = std::get_if<tern::publish>(&**decoded);
    const auto stage = static_cast<stored_message::stage>(at);
    const bool waiting = stage == stored_message::stage::pending;
    if (p == nullptr || static_cast<std::uint8_t>(p->q) != q ||
        (!waiting && (q == 0 || p->packet_id != packet_id)))
      return discard();
    void* block = s.mem->allocate(sizeof(stored_message) + size, alignof(stored_message));
    auto* m = ::new (block) stored_message{};
    m->id = id;
    m->packet_id = waiting ? 0 : packet_id;
    m->q = static_cast<qos>(q);
    m->at = stage;
    m->sent_before = sent_before;
    m->size = size;
    std::memcpy(m->bytes(), bytes.data(), size);
    loaded.push_back(m);
  }
  std::pmr::vector<detail::incoming_qos2> incoming(s.mem);
  const std::uint64_t incoming_count = in.big(4);
  for (std::uint64_t i = 0; i < incoming_count && in.ok(); ++i) {
    const auto id = static_cast<std::uint16_t>(in.big(2));
    const bool acknowledged = in.big(1) != 0;
    if (id == 0) return discard();
    incoming.push_back({id, acknowledged});
  }
  std::pmr::vector<detail::subscription_record> subs(s.mem);
  const std::uint64_t sub_count = in.big(4);
  for (std::uint64_t i = 0; i < sub_count && in.ok(); ++i) {
    const bytes_view filter = in.take(in.big(2));
    const auto o = static_cast<std::uint8_t>(in.big(1));
    const auto identifier = static_cast<std::uint32_t>(in.big(4));
    if (!in.ok() || !validate_topic_filter(as_chars(filter), s.v5()) || (o & 0xC3u) == 0x03u ||
        (o & 0xC0u) != 0 || ((o >> 4) & 3u) == 3u || identifier > max_variable_integer)
      return discard();
    subscribe_options opts{static_cast<qos>(o & 3u), (o & 4u) != 0, (o & 8u) != 0,
                           static_cast<retain_handling>((o >> 4) & 3u)};
    subs.push_back({std::pmr::string(as_chars(filter), s.mem), opts, identifier});
  }
  if (!in.ok() || !in.at_end()) return discard();

  // Commit: replace whatever the session held.
  while (!s.inflight.empty()) {
    s.release(s.inflight.front());
    s.inflight.pop_front();
  }
  while (!s.pending.empty()) {
    s.release(s.pending.front());
    s.pending.pop_front();
  }
  s.pending_bytes = 0;
  s.pending_qos0 = 0;
  for (stored_message* m : loaded) {
    // restore_state() is not told the time: the message starts aging at connect() (the time
    // spent on disk is unknown).
    m->queued_at = s.last_now;
    m->restored = true;
    detail::locate_stored_fields(*m, s.cfg.version);
    if (m->at == stored_message::stage::pending) {
      s.queue_pending(m);
    } else {
      s.inflight.push_back(m);
    }
  }
  s.qos2_in.clear();
  for (const auto& q : incoming) s.qos2_in.insert(q.packet_id, q.acknowledged);
  s.active_subscriptions = std::move(subs);
  s.last_packet_id = last_packet_id;
  s.ids_below_last = false;  // the restored ids may lie anywhere: the next allocation checks
  s.recount_unsent();
  s.next_message_id = next_message_id == 0 ? 1 : next_message_id;
  s.resume_next = s.cfg.clean_start != clean_start_policy::always;
  return {};
}

}  // namespace tern
