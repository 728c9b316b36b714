// fuzz_session: tern::session driven by a program the fuzzer writes — what arrives, what is
// written, what the application asks and when time passes (ngtcp2's read_write_pkt idea).
//
// Input: 7 configuration bytes + a seed byte (session_ops.hpp, read_config: version, manual ack,
// resubscribe, republish, offline QoS 0, queue policy, reconnect, clean start policy, keep
// alive, authenticator, Will, max_inflight, receive_maximum, queue bounds, topic alias maxima,
// ack timeout, Maximum Packet Size, transmit bound, connect/ping timeouts, backoff, session
// expiry, client id, credentials, and two adapter habits: write everything after every step,
// close at once when asked). Then operations, one byte each plus their arguments (see run()):
// connect; transport opened / closed; arbitrary bytes or a well-formed server packet fed whole,
// byte by byte, split, or through receive_buffer() + handle_received(); publish / subscribe /
// unsubscribe / ack / disconnect / reauthenticate with fuzz-chosen arguments; write N bytes of
// the transmit queue (0: a blocked transport); time jumps; save_state -> restore into a fresh
// session. After every operation the harness drains the session as session.hpp prescribes.
//
// The harness plays a correct adapter: it opens only when asked, feeds and writes only while a
// transport is up, and calls handle_transport_closed() after a close it was asked for.
//
// Checked on every step (abort() on violation):
//  * every byte the client writes decodes (tern::decoder, sender::client, the session's
//    version) into packets that satisfy the decoder's invariants (common.hpp); per connection:
//    CONNECT first and once, only AUTH / DISCONNECT before the `connected` event, nothing after
//    the client's DISCONNECT [MQTT-3.14.4-1], nothing larger than the CONNACK's Maximum Packet
//    Size, no PUBLISH above its Maximum QoS or retained without Retain Available, no Topic Alias
//    above min(its Topic Alias Maximum, max_outgoing_topic_aliases) or unknown, no Subscription
//    Identifier / wildcard / shared filter the CONNACK said it lacks.
//  * each publish() payload carries a serial; a written PUBLISH has the topic and payload given
//    (the bytes were copied: the harness scribbles its buffer after the call), a QoS > 0 one a
//    non-zero id; QoS 0 is written at most once; a QoS 1/2 message is written at most once per
//    connection [MQTT-4.4.0-1], with DUP set when it was written before in this session
//    [MQTT-3.3.1-1] and then with the same id, never after its completion (unless its bytes
//    were already queued when the broker acked them early), and never after its PUBREC was
//    taken (the client wrote PUBREL for it): so never after a Session Present 0 CONNACK either.
//  * packet ids: a PUBLISH / SUBSCRIBE / UNSUBSCRIBE is not written with an id that another
//    written one still holds. An id is held from the write until the session reports the
//    request done (publish_completed, subscribed, unsubscribed) or a CONNACK with Session
//    Present 0 ends the old session; a completion `acknowledged` must match a PUBACK (QoS 1),
//    PUBCOMP or failed PUBREC (QoS 2) the fuzzer fed with that id.
//  * the window: QoS 1/2 PUBLISH written on this connection and not completed never exceed
//    min(max(max_inflight, 1), Receive Maximum of the accepted CONNACK). (max_inflight 0 acts
//    as 1: session_publish.cpp window_limit.)
//  * events: `connected` only when the first CONNACK fed on this connection succeeded, with its
//    Session Present and Receive Maximum; a message id completes at most once and only ids
//    publish() returned; `sent` only after the message was written; after a `disconnected` other
//    than the client's own, no message, acknowledgement or SUBACK of that connection is acted
//    upon; a QoS 2 packet id is not delivered again until a PUBREL (or a refusing ack()) for it
//    was fed: deliveries <= releases + 1, counted from the last Session Present 0 CONNACK.
//  * commands that fail change nothing: same transmit size, in-flight, queue, state and
//    deadline, and no event or action.
//  * time: after handle_timeout(now), unless a close the session asked for is still being
//    carried out, poll_timeout() is empty or later than now (else an adapter spins); a
//    handle_timeout() before the deadline changes nothing. poll_transmit()'s slices add up to
//    transmit_size().
//  * save_state -> restore_state into a fresh session succeeds and saves the same bytes; restore
//    into a session that is not idle is refused; a damaged copy (cut or one byte changed) is
//    refused or loaded, never a crash or a leak; a moved session keeps working.
//  * the log hook (when the configuration installs it) never sees the password or
//    authentication data, and messages fit its 256-byte buffer.
//  * memory: every allocation goes through a counting resource; destroying the session frees
//    everything. Bytes in use stay under memory_bound() (session_ops.hpp): the configured bounds
//    plus what the peer and the application can make the session hold that no option bounds (acks
//    owed while the transport is blocked, messages the broker acked before they were written,
//    outstanding SUBSCRIBE records and the subscription list).
#include <map>
#include <set>
#include <unordered_map>

#include "session_ops.hpp"

namespace {

using namespace tern;
using namespace tern::fuzz;

const time_point k_start = time_point{} + std::chrono::hours(1000);
// TERN_FUZZ_TRACE=1 in the environment prints every step: how findings are decoded.
const bool g_trace = std::getenv("TERN_FUZZ_TRACE") != nullptr;
#define TRACE(...) (g_trace ? (void)std::fprintf(stderr, __VA_ARGS__) : (void)0)
void trace_hex(const char* label, bytes_view b) {
  if (g_trace) print_hex(label, b.first(std::min<std::size_t>(b.size(), 48)));
}
enum class link : std::uint8_t { down, up, closing };

struct sent_message {  // one successful publish(), by serial
  std::string topic;
  std::uint64_t payload_hash = 0;
  qos q{};
  bool completed = false;
  bool withdrawn = false;  // taken back with withdraw(): must never be written
  bool pubrec = false;   // the client wrote PUBREL for it
  bool late_ok = false;  // completed while its bytes waited in the transmit queue
  std::uint64_t sent_conn = 0, counted_conn = 0, sent_epoch = ~0ull;
  std::uint16_t packet_id = 0;
};

struct q2_count {
  std::uint32_t released = 0, delivered = 0, base = 0;
};

class harness {
 public:
  explicit harness(reader& r) : r_(r), opt_(read_config(r, auth_)), cfg_(opt_.cfg) {
    s_.emplace(cfg_, &mem_);
    usage_.base = mem_.in_use();
  }
  ~harness() {
    s_.reset();
    TERN_FUZZ_CHECK(mem_.in_use() == 0);  // everything the session took came back
  }
  void run();

 private:
  bool v5() const { return cfg_.version == protocol_version::v5; }
  session& s() { return *s_; }

  // ---- adapter ----
  void settle();
  void on_action(const action& a);
  void opened();
  void closed();
  void feed(bytes_view data, std::uint8_t mode);
  void feed_piece(bytes_view data, bool zero_copy);
  void shadow(bytes_view data);
  void write_out(std::size_t n);
  void gather(std::size_t n, std::vector<std::byte>& out);
  void advance(duration d, bool fire);
  void restart();
  // ---- commands ----
  template <class F>
  void command(F&& f);
  void do_publish();
  void do_withdraw();
  void do_subscribe(bool sub);
  // ---- checks ----
  void on_written(bytes_view chunk);
  void on_client_packet(const packet& p, std::size_t size);
  void on_client_publish(const publish& p);
  void hold_id(std::uint16_t id, std::uint8_t kind, std::uint32_t serial);
  void on_event(const event& e);
  void on_completed(const publish_completed& e);
  std::vector<peeked> peek();
  bool consume_ack(std::uint8_t kind, std::uint16_t id);

  reader& r_;
  fuzz_authenticator auth_;
  harness_options opt_;
  const session_config& cfg_;
  counting_resource mem_;
  std::optional<session> s_;
  time_point now_ = k_start;

  link link_ = link::down;
  bool open_requested_ = false, blocked_ = false;
  std::uint64_t conn_ = 0, epoch_ = 0;
  // per connection
  decoder out_{};  // what the client wrote
  decoder in_{};   // what was fed to it
  bool in_failed_ = false;
  std::vector<std::byte> tail_;          // written bytes of the packet not yet complete
  std::vector<std::byte> continuation_;  // and the rest of it, still to be written
  std::size_t continuation_size_ = 0;
  std::uint64_t boundary_ = 0;
  bool saw_connect_ = false, saw_disconnect_ = false, connected_ = false, lost_ = false;
  std::optional<server_view> first_connack_;
  server_view server_;
  std::size_t unacked_ = 0, window_ = 0;
  std::map<std::uint16_t, std::string> aliases_;
  bool pubrec_fed_ = false;
  // whole run
  std::vector<sent_message> serials_;
  std::unordered_map<message_id, std::uint32_t> by_id_;
  message_id last_id_ = 0;
  std::map<std::uint16_t, std::pair<std::uint8_t, std::uint32_t>> held_;  // id -> kind, serial
  std::set<std::uint16_t> late_requests_;  // answered before they were written
  std::map<std::uint32_t, std::pair<std::uint32_t, std::uint32_t>> fed_acks_;  // fed, used
  std::map<std::uint16_t, q2_count> q2_;
  std::vector<std::uint16_t> needs_ack_;  // recent ids of messages delivered for ack()
  std::set<std::uint16_t> q2_unacked_;    // QoS 2 ids delivered for ack() and not acked
  id_pools ids_;
  // memory bound inputs
  usage usage_;  // what the memory bound depends on
  std::vector<std::byte> scratch_;
  std::vector<bytes_view> slices_ = std::vector<bytes_view>(16);
};

// ---- the adapter -------------------------------------------------------------------------------

void harness::settle() {
  for (int guard = 0;; ++guard) {
    TERN_FUZZ_CHECK(guard < 10'000);
    while (auto a = s().poll_action()) on_action(*a);
    while (auto e = s().poll_event()) on_event(*e);
    if (opt_.prompt_close && link_ == link::closing) {
      closed();
    } else if (opt_.auto_write && link_ == link::up && !blocked_ && s().transmit_size() != 0) {
      write_out(s().transmit_size());
    } else {
      break;
    }
  }
  if (s().transmit_size() == 0) usage_.owed = 0;
  if (link_ == link::up && !continuation_.empty()) {
    scratch_.clear();
    gather(continuation_.size(), scratch_);
    const bool kept = scratch_ == continuation_ && s().transmit_size() >= continuation_size_;
    TERN_FUZZ_CHECK(kept);  // a packet begun is finished, unaltered
  }
  if (mem_.in_use() > memory_bound(cfg_, usage_)) {
    std::fprintf(stderr, "memory in use %zu > bound %zu (base %zu, s_max %zu, owed %zu)\n",
                 mem_.in_use(), memory_bound(cfg_, usage_), usage_.base, usage_.s_max,
                 usage_.max_owed);
    TERN_FUZZ_CHECK(!"bounded memory");
  }
}

void harness::on_action(const action& a) {
  TRACE("  action %s\n", std::holds_alternative<open_transport>(a) ? "open" : "close");
  if (std::holds_alternative<open_transport>(a)) {
    TERN_FUZZ_CHECK(link_ != link::up);  // never a second transport while one is up
    open_requested_ = true;
  } else {
    TERN_FUZZ_CHECK(link_ != link::down);  // close only what is open
    if (link_ == link::up) link_ = link::closing;
  }
}

void harness::opened() {
  if (!open_requested_ || link_ != link::down) return;
  open_requested_ = false;
  link_ = link::up;
  ++conn_;
  out_ = decoder({cfg_.version, sender::client, max_packet_size_limit});
  in_ = decoder({cfg_.version, sender::server,
                 cfg_.maximum_packet_size ? cfg_.maximum_packet_size : max_packet_size_limit});
  in_failed_ = saw_connect_ = saw_disconnect_ = connected_ = lost_ = false;
  tail_.clear();
  continuation_.clear();
  boundary_ = 0;
  first_connack_.reset();
  unacked_ = 0;
  aliases_.clear();
  late_requests_.clear();
  for (auto& m : serials_) m.late_ok = false;  // the transmit queue starts empty
  usage_.late_pending = 0;
  s().handle_transport_opened(now_);
}

void harness::closed() {
  if (link_ != link::down) {
    link_ = link::down;
  } else if (open_requested_) {
    open_requested_ = false;  // the open failed
  } else {
    return;
  }
  s().handle_transport_closed(now_);
}

void harness::shadow(bytes_view data) {
  while (!in_failed_ && !data.empty()) {
    auto r = in_.next(data);
    if (!r) in_failed_ = true;
    if (!r || !*r) return;
    ++usage_.owed;
    usage_.max_owed = std::max(usage_.max_owed, usage_.owed);
    const packet& p = **r;
    auto fed_ack = [&](std::uint8_t kind, std::uint16_t id) { ++fed_acks_[kind << 16 | id].first; };
    if (const auto* c = std::get_if<connack>(&p); c && !first_connack_) {
      server_view v = read_connack(*c, v5());
      for (const auto& [id, q] : q2_) v.releases[id] = q.released;
      first_connack_ = std::move(v);
    } else if (const auto* a = std::get_if<puback>(&p)) {
      fed_ack(4, a->packet_id);
    } else if (const auto* b = std::get_if<pubrec>(&p)) {
      if (is_failure(b->code)) fed_ack(5, b->packet_id);
      pubrec_fed_ = true;
    } else if (const auto* c2 = std::get_if<pubcomp>(&p)) {
      fed_ack(7, c2->packet_id);
    } else if (const auto* rel = std::get_if<pubrel>(&p)) {
      ++q2_[rel->packet_id].released;
    }
  }
}

void harness::feed_piece(bytes_view data, bool zero_copy) {
  if (link_ != link::up) return;
  usage_.max_chunk = std::max(usage_.max_chunk, data.size());
  usage_.fed_total += data.size();
  shadow(data);
  if (!zero_copy) {
    s().handle_bytes(data, now_);
    settle();
    return;
  }
  while (!data.empty() && link_ == link::up) {
    const mutable_bytes buffer = s().receive_buffer();
    TERN_FUZZ_CHECK(!buffer.empty());
    const std::size_t n = std::min(buffer.size(), data.size());
    std::memcpy(buffer.data(), data.data(), n);
    s().handle_received(n, now_);
    data = data.subspan(n);
    settle();
  }
}

void harness::feed(bytes_view data, std::uint8_t mode) {
  trace_hex(link_ == link::up ? "  fed" : "  (not fed: no transport)", data);
  pubrec_fed_ = false;
  const bool zero_copy = mode & 4;
  switch (mode & 3) {
    case 0: feed_piece(data, zero_copy); break;
    case 1:  // byte by byte
      for (std::size_t i = 0; i < data.size(); ++i) feed_piece(data.subspan(i, 1), zero_copy);
      break;
    default: {  // two pieces
      const std::size_t cut = data.empty() ? 0 : (mode >> 3) % data.size();
      feed_piece(data.first(cut), zero_copy);
      feed_piece(data.subspan(cut), zero_copy);
    }
  }
  if (pubrec_fed_) {  // a PUBREC taken shows as a PUBREL queued for its message
    for (const peeked& p : peek()) {
      const auto h = held_.find(p.id);
      if (p.type == packet_type::pubrel && p.success && h != held_.end() && h->second.first == 1 &&
          serials_[h->second.second].q == qos::exactly_once)
        serials_[h->second.second].pubrec = true;
    }
  }
}

// The first n bytes of the transmit queue (all of them for SIZE_MAX).
void harness::gather(std::size_t n, std::vector<std::byte>& out) {
  const std::size_t total = s().transmit_size();
  std::size_t count = 0;
  while ((count = s().poll_transmit(slices_)) == slices_.size()) slices_.resize(2 * count);
  std::size_t sum = 0;
  n = std::min(n, total);
  for (std::size_t i = 0; i < count; ++i) {
    TERN_FUZZ_CHECK(!slices_[i].empty());
    const std::size_t take = std::min(slices_[i].size(), n - std::min(n, sum));
    out.insert(out.end(), slices_[i].begin(),
               slices_[i].begin() + static_cast<std::ptrdiff_t>(take));
    sum += slices_[i].size();
  }
  TERN_FUZZ_CHECK(sum == total);  // the slices hold exactly transmit_size() bytes
}

void harness::write_out(std::size_t n) {
  if (link_ != link::up) return;
  scratch_.clear();
  gather(n, scratch_);
  s().commit_transmit(scratch_.size(), now_);
  trace_hex("  written", scratch_);
  on_written(scratch_);
  // The rest of a packet written in part must stay at the front of the queue.
  // (Its first 64 bytes are compared, and that the queue still holds all of it.)
  continuation_.clear();
  continuation_size_ = 0;
  if (tail_.empty()) return;
  std::vector<std::byte> all(tail_);
  gather(64 + 5, all);
  const auto f = decode_frame(all, {cfg_.version, sender::client, max_packet_size_limit});
  if (!f || !*f || (*f)->size() <= tail_.size()) return;
  continuation_size_ = (*f)->size() - tail_.size();
  const std::size_t prefix = std::min<std::size_t>(continuation_size_, 64);
  const auto from = all.begin() + static_cast<std::ptrdiff_t>(tail_.size());
  continuation_.assign(from, from + static_cast<std::ptrdiff_t>(prefix));
}

void harness::advance(duration d, bool fire) {
  now_ += d;
  if (!fire) return;
  const auto deadline = s().poll_timeout();
  if (!deadline || *deadline > now_) return;
  s().handle_timeout(now_);
  settle();
  const auto next = s().poll_timeout();
  if (link_ != link::closing) TERN_FUZZ_CHECK(!next || *next > now_);
}

void harness::restart() {  // the process restarts: the durable state is all that survives
  const std::uint8_t damage = r_.byte();
  const std::uint16_t at = r_.u16();
  {  // moving a session keeps it whole
    session moved(std::move(*s_));
    *s_ = std::move(moved);
  }
  std::vector<std::byte> saved(s().state_size());
  s().save_state(saved.data());
  TERN_FUZZ_CHECK(!s().restore_state(saved) || s().state() == session_state::idle);
  if (damage != 0 && !saved.empty()) {  // a damaged file: refused whole, or loaded; no leak
    counting_resource scratch_memory;
    std::vector<std::byte> bad(saved.begin(), saved.begin() + at % (saved.size() + 1));
    if (damage & 1) bad = saved, bad[at % saved.size()] ^= static_cast<std::byte>(damage);
    {
      session scratch(cfg_, &scratch_memory);
      if (scratch.restore_state(bad)) (void)scratch.state_size();
    }
    TERN_FUZZ_CHECK(scratch_memory.in_use() == 0);
  }
  s_.reset();
  TERN_FUZZ_CHECK(mem_.in_use() == 0);
  s_.emplace(cfg_, &mem_);
  usage_.base = mem_.in_use();
  TERN_FUZZ_CHECK(s().restore_state(saved).has_value());
  std::vector<std::byte> again(s().state_size());
  s().save_state(again.data());
  TERN_FUZZ_CHECK(again == saved);
  link_ = link::down;
  open_requested_ = blocked_ = false;
  ++conn_;
  std::erase_if(held_, [](const auto& h) { return h.second.first != 1; });  // requests are gone
  for (auto& m : serials_) m.late_ok = false;
  usage_.late_pending = 0;
  usage_.requests.clear();
  needs_ack_.clear();
}

// ---- commands ----------------------------------------------------------------------------------

template <class F>
void harness::command(F&& f) {
  const std::size_t tsize = s().transmit_size(), inflight = s().inflight(), queued = s().queued();
  const std::size_t queued_bytes = s().queued_bytes();
  const session_state state = s().state();
  const auto deadline = s().poll_timeout();
  if (f()) return;  // succeeded
  TRACE("  refused\n");
  TERN_FUZZ_CHECK(tsize == s().transmit_size() && inflight == s().inflight());
  TERN_FUZZ_CHECK(queued == s().queued() && queued_bytes == s().queued_bytes());
  TERN_FUZZ_CHECK(state == s().state() && deadline == s().poll_timeout());
  TERN_FUZZ_CHECK(!s().poll_event() && !s().poll_action());
}

void harness::do_publish() {
  const auto serial = static_cast<std::uint32_t>(serials_.size());
  publish_choice c = read_publish(r_, serial);
  const publish& p = c.p;
  sent_message m{std::string(p.topic), hash(p.payload), p.q};
  publish canonical = p;
  if (p.q != qos::at_most_once) canonical.packet_id = 1;
  const auto size_if_valid = measure(canonical, cfg_.version);
  command([&] {
    const auto id = s().publish(p, now_);
    std::fill(c.payload.begin(), c.payload.end(), std::byte{0xEE});  // publish() copied it
    if (!id) return false;
    TERN_FUZZ_CHECK(*id > last_id_ && size_if_valid);
    last_id_ = *id;
    usage_.s_max = std::max<std::size_t>(usage_.s_max, size_if_valid->total);
    serials_.push_back(std::move(m));
    by_id_[*id] = serial;
    return true;
  });
}

void harness::do_withdraw() {
  const message_id id = last_id_ - r_.byte() % 8;
  command([&] {
    if (!s().withdraw(id)) return false;
    const auto it = by_id_.find(id);
    TERN_FUZZ_CHECK(it != by_id_.end());
    sent_message& m = serials_[it->second];
    TERN_FUZZ_CHECK(!m.completed);  // only a message still waiting can be taken back
    m.completed = m.withdrawn = true;
    return true;
  });
}

void harness::do_subscribe(bool sub) {
  const subscribe_choice c = read_subscribe(r_);
  command([&] {
    const auto id =
        sub ? s().subscribe(c.subs, now_, c.props) : s().unsubscribe(c.filters, now_, c.props);
    if (!id) return false;
    TERN_FUZZ_CHECK(*id != 0);
    usage_.requests[*id] = c.bytes;
    if (sub) usage_.sub_total += c.bytes;
    return true;
  });
}

void harness::run() {
  static constexpr duration steps[] = {0ms, 1ms, 100ms, 1s, 5s, 30s, 61s, 10min};
  static constexpr std::uint8_t codes[] = {0x00, 0x04, 0x80, 0x83, 0x87, 0x8D, 0x99, 0x10};
  TRACE("config: %s\n", v5() ? "5.0" : "3.1.1");
  for (int op = 0; op < 4000 && !r_.done(); ++op) {
    const std::uint8_t o = r_.byte();
    TRACE("[%d] %s (state %s, %zu bytes held, t+%lld ms)\n", op, k_op_names[o % 24],
          std::string(to_string(s().state())).c_str(), mem_.in_use(),
          static_cast<long long>(
              std::chrono::duration_cast<std::chrono::milliseconds>(now_ - k_start).count()));
    switch (o % 24) {
      case 0: (void)s().connect(now_); break;
      case 1:
      case 2: opened(); break;
      case 3: closed(); break;
      case 4:
      case 5: {
        const std::uint8_t mode = r_.byte();
        feed(r_.raw(o % 24 == 4 ? 32 : 255), mode);
        break;
      }
      case 6:
      case 7:
      case 8: {
        const std::uint8_t mode = r_.byte();
        std::vector<std::byte> bytes;
        if (build_server_packet(r_, cfg_.version, ids_, bytes)) feed(bytes, mode);
        break;
      }
      case 9: do_publish(); break;
      case 10:
        if (r_.byte() % 4 == 0) do_withdraw();
        else do_publish();
        break;
      case 11: do_subscribe(true); break;
      case 12: do_subscribe(false); break;
      case 13: {
        const std::uint8_t i = r_.byte();
        std::uint16_t id = r_.u16();
        if (i < 200 && !needs_ack_.empty()) id = needs_ack_[i % needs_ack_.size()];
        const auto code = static_cast<reason_code>(r_.pick(codes));
        command([&] {
          if (!s().ack(id, now_, code)) return false;
          if (q2_unacked_.erase(id) != 0 && is_failure(code)) ++q2_[id].released;  // refused
          return true;
        });
        break;
      }
      case 14: {
        const auto code = static_cast<reason_code>(r_.pick(codes));
        const std::uint8_t p = r_.byte();
        const std::array<property, 1> expiry{
            property::integer(property_id::session_expiry_interval, p >> 1)};
        command([&] {
          return s()
              .disconnect(now_, code, (p & 1) ? properties(expiry) : properties())
              .has_value();
        });
        break;
      }
      case 15: command([&] { return s().reauthenticate(now_).has_value(); }); break;
      case 16:
      case 17: {
        const std::uint8_t n = r_.byte();
        write_out(n == 255 ? SIZE_MAX : n);
        break;
      }
      case 18: blocked_ = !blocked_; break;
      case 19: advance(steps[r_.byte() & 7], true); break;
      case 20: {
        const auto deadline = s().poll_timeout();
        if (deadline && *deadline > now_) now_ = *deadline;
        advance(0ms, true);
        break;
      }
      case 21: advance(std::chrono::milliseconds(r_.u16()), false); break;
      case 22: {  // an early handle_timeout() does nothing
        const auto deadline = s().poll_timeout();
        if (deadline && *deadline <= now_) break;
        command([&] {
          s().handle_timeout(now_);
          return false;
        });
        break;
      }
      case 23: restart(); break;
    }
    settle();
  }
}

// ---- checks of what the client wrote -----------------------------------------------------------

void harness::on_written(bytes_view chunk) {
  const std::uint64_t tail_start = boundary_;
  tail_.insert(tail_.end(), chunk.begin(), chunk.end());
  while (!chunk.empty()) {
    auto r = out_.next(chunk);
    if (!r) {
      print_hex("client stream since the last packet", tail_);
      std::fprintf(stderr, "decode error %s\n", std::string(to_string(r.error().code)).c_str());
      TERN_FUZZ_CHECK(!"the client wrote bytes that do not decode");
    }
    if (!*r) break;
    const std::size_t size = out_.stream_offset() - boundary_;
    boundary_ = out_.stream_offset();
    on_client_packet(**r, size);
  }
  tail_.erase(tail_.begin(), tail_.begin() + static_cast<std::ptrdiff_t>(boundary_ - tail_start));
}

void harness::hold_id(std::uint16_t id, std::uint8_t kind, std::uint32_t serial) {
  const auto h = held_.find(id);
  if (h != held_.end())
    TERN_FUZZ_CHECK(h->second.first == 1 && kind == 1 && h->second.second == serial);
  held_[id] = {kind, serial};
  id_pools::remember(ids_.out, id);
}

void harness::on_client_packet(const packet& p, std::size_t size) {
  TRACE("  client wrote %s\n", std::string(to_string(type_of(p))).c_str());
  check_decoded(p, cfg_.version, sender::client);
  touch(p);
  const packet_type t = type_of(p);
  if (!saw_connect_) {
    TERN_FUZZ_CHECK(t == packet_type::connect);  // first on every connection [MQTT-3.1.0-1]
    const auto& c = std::get<connect>(p);
    TERN_FUZZ_CHECK(c.version == cfg_.version);
    if (cfg_.clean_start == clean_start_policy::always) TERN_FUZZ_CHECK(c.clean_start);
    if (cfg_.clean_start == clean_start_policy::never) TERN_FUZZ_CHECK(!c.clean_start);
    saw_connect_ = true;
    return;
  }
  TERN_FUZZ_CHECK(t != packet_type::connect && !saw_disconnect_);  // [MQTT-3.14.4-1]
  if (!connected_) TERN_FUZZ_CHECK(t == packet_type::auth || t == packet_type::disconnect);
  else TERN_FUZZ_CHECK(size <= server_.maximum_packet_size);
  switch (t) {
    case packet_type::publish: on_client_publish(std::get<publish>(p)); break;
    case packet_type::subscribe: {
      const auto& sub = std::get<subscribe>(p);
      if (sub.props.contains(property_id::subscription_identifier))
        TERN_FUZZ_CHECK(server_.subscription_ids);
      for (const subscription x : sub.subscriptions) {
        const bool shared = parse_shared_subscription(x.filter).has_value();
        if (has_wildcard(x.filter)) TERN_FUZZ_CHECK(server_.wildcard || !v5());
        if (shared && v5()) TERN_FUZZ_CHECK(server_.shared);
      }
      if (late_requests_.erase(sub.packet_id) == 0) hold_id(sub.packet_id, 2, 0);
      break;
    }
    case packet_type::unsubscribe: {
      const auto id = std::get<unsubscribe>(p).packet_id;
      if (late_requests_.erase(id) == 0) hold_id(id, 3, 0);
      break;
    }
    case packet_type::pubrel: {
      const auto& rel = std::get<pubrel>(p);
      const auto h = held_.find(rel.packet_id);
      if (!is_failure(rel.code) && h != held_.end() && h->second.first == 1 &&
          serials_[h->second.second].q == qos::exactly_once)
        serials_[h->second.second].pubrec = true;
      break;
    }
    case packet_type::disconnect: saw_disconnect_ = true; break;
    default: break;
  }
}

void harness::on_client_publish(const publish& p) {
  std::string_view topic = p.topic;
  if (const auto alias = p.props.number(property_id::topic_alias)) {
    TERN_FUZZ_CHECK(*alias <=
                    std::min(server_.topic_alias_maximum, cfg_.max_outgoing_topic_aliases));
    if (topic.empty()) {
      TERN_FUZZ_CHECK(aliases_.count(static_cast<std::uint16_t>(*alias)) != 0);
      topic = aliases_[static_cast<std::uint16_t>(*alias)];
    } else {
      aliases_[static_cast<std::uint16_t>(*alias)] = std::string(topic);
    }
  }
  const std::uint32_t serial = serial_of(p.payload);
  TERN_FUZZ_CHECK(serial < serials_.size());
  sent_message& m = serials_[serial];
  TERN_FUZZ_CHECK(m.topic == topic && m.payload_hash == hash(p.payload) && m.q == p.q);
  TERN_FUZZ_CHECK(!m.withdrawn);
  TERN_FUZZ_CHECK(p.q <= server_.maximum_qos);
  if (p.retain) TERN_FUZZ_CHECK(server_.retain);
  if (p.q == qos::at_most_once) {
    TERN_FUZZ_CHECK(m.sent_conn == 0);  // QoS 0 goes out at most once
    m.sent_conn = conn_;
    return;
  }
  if (m.completed) {
    TERN_FUZZ_CHECK(m.late_ok);  // acked (early) while already queued: its bytes still go out
    m.late_ok = false;
    --usage_.late_pending;
    m.sent_conn = conn_;
    return;
  }
  TERN_FUZZ_CHECK(!m.pubrec);             // never again after its PUBREC
  TERN_FUZZ_CHECK(m.sent_conn != conn_);  // once per connection [MQTT-4.4.0-1]
  if (m.sent_epoch == epoch_) TERN_FUZZ_CHECK(p.dup && p.packet_id == m.packet_id);
  hold_id(p.packet_id, 1, serial);
  m.sent_conn = m.counted_conn = conn_;
  m.sent_epoch = epoch_;
  m.packet_id = p.packet_id;
  ++unacked_;
  TERN_FUZZ_CHECK(unacked_ <= window_);
}

// Packets in the transmit queue, completing the one partly written.
std::vector<peeked> harness::peek() {
  std::vector<std::byte> all(tail_);
  gather(SIZE_MAX, all);
  return decode_queued(all, cfg_.version);
}

// ---- checks of events --------------------------------------------------------------------------

bool harness::consume_ack(std::uint8_t kind, std::uint16_t id) {
  auto& [fed, used] = fed_acks_[kind << 16 | id];
  if (used >= fed) return false;
  ++used;
  return true;
}

void harness::on_completed(const publish_completed& e) {
  touch(e.props);
  const auto it = by_id_.find(e.id);
  TERN_FUZZ_CHECK(it != by_id_.end());
  const std::uint32_t serial = it->second;
  sent_message& m = serials_[serial];
  TERN_FUZZ_CHECK(!m.completed && e.q == m.q);  // completes once
  m.completed = true;
  switch (e.outcome) {
    case publish_outcome::sent:
      TERN_FUZZ_CHECK(m.q == qos::at_most_once && m.sent_conn == conn_);
      break;
    case publish_outcome::acknowledged:
      TERN_FUZZ_CHECK(m.q != qos::at_most_once && !lost_);
      TERN_FUZZ_CHECK(m.q == qos::at_least_once
                          ? consume_ack(4, e.packet_id)
                          : consume_ack(7, e.packet_id) || consume_ack(5, e.packet_id));
      break;
    case publish_outcome::session_lost: TERN_FUZZ_CHECK(m.q != qos::at_most_once); break;
    case publish_outcome::offline_discarded: TERN_FUZZ_CHECK(m.q == qos::at_most_once); break;
    default: break;
  }
  if (m.q == qos::at_most_once) return;
  const auto h = held_.find(m.packet_id);
  if (h != held_.end() && h->second.first == 1 && h->second.second == serial) held_.erase(h);
  if (m.counted_conn == conn_) --unacked_;
  m.counted_conn = 0;
  if (m.sent_conn != conn_ && e.outcome == publish_outcome::acknowledged) {
    for (const peeked& p : peek())  // acked before it was written: its bytes may still go out
      if (p.type == packet_type::publish && p.serial == serial && !m.late_ok) {
        m.late_ok = true;
        ++usage_.late_pending;
      }
  }
}

void harness::on_event(const event& ev) {
  static constexpr const char* kinds[] = {"connected",         "disconnected", "message",
                                          "publish_completed", "subscribed",   "unsubscribed",
                                          "reauthenticated"};
  TRACE("  event %s\n", kinds[ev.index()]);
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, connected>) {
          touch(e.props);
          touch(e.assigned_client_id);
          // Actions drain before events: a close decided later in the same input may
          // already be under way when the CONNACK's event is seen.
          TERN_FUZZ_CHECK(link_ != link::down && !connected_ && first_connack_);
          TERN_FUZZ_CHECK(first_connack_->success);
          TERN_FUZZ_CHECK(e.session_present == first_connack_->session_present);
          TERN_FUZZ_CHECK(e.limits.receive_maximum == first_connack_->receive_maximum);
          connected_ = true;
          server_ = *first_connack_;
          window_ = std::min<std::size_t>(std::max<std::uint16_t>(cfg_.max_inflight, 1),
                                          server_.receive_maximum);
          if (!e.session_present) {  // the broker has no session: neither has the client
            ++epoch_;
            std::erase_if(held_, [](const auto& h) { return h.second.first == 1; });
            q2_unacked_.clear();
            for (auto& [id, q] : q2_) {
              q.delivered = 0;
              const auto b = server_.releases.find(id);
              q.base = b == server_.releases.end() ? 0 : b->second;
            }
          }
        } else if constexpr (std::is_same_v<E, disconnected>) {
          touch(e.props);
          touch(e.reason_string);
          if (e.cause != disconnect_cause::client_disconnect) lost_ = true;
        } else if constexpr (std::is_same_v<E, message>) {
          const publish& p = e.packet;
          touch(p.props);
          touch(p.payload);
          TERN_FUZZ_CHECK(!lost_ && is_valid_topic_name(p.topic));
          TERN_FUZZ_CHECK(e.needs_ack == (cfg_.manual_ack && p.q != qos::at_most_once));
          if (p.q == qos::exactly_once) {  // exactly once [MQTT 4.3.3]
            q2_count& q = q2_[p.packet_id];
            ++q.delivered;
            TERN_FUZZ_CHECK(q.delivered <= q.released - q.base + 1);
          }
          if (e.needs_ack) {
            if (needs_ack_.size() >= 16) needs_ack_.erase(needs_ack_.begin());
            needs_ack_.push_back(p.packet_id);
            if (p.q == qos::exactly_once) q2_unacked_.insert(p.packet_id);
          }
        } else if constexpr (std::is_same_v<E, publish_completed>) {
          on_completed(e);
        } else if constexpr (std::is_same_v<E, subscribed> || std::is_same_v<E, unsubscribed>) {
          touch(e.props);
          for (const reason_code c : e.codes) (void)c;
          if (!e.aborted) TERN_FUZZ_CHECK(!lost_);
          usage_.requests.erase(e.packet_id);
          const std::uint8_t kind = std::is_same_v<E, subscribed> ? 2 : 3;
          const auto h = held_.find(e.packet_id);
          if (h != held_.end()) {
            TERN_FUZZ_CHECK(h->second.first == kind);
            held_.erase(h);
          } else if (!e.aborted) {  // answered before it was written
            for (const peeked& p : peek())
              if (p.id == e.packet_id && static_cast<std::uint8_t>(p.type) == kind + 6)
                late_requests_.insert(e.packet_id);
          }
        } else {
          static_assert(std::is_same_v<E, reauthenticated>);
          touch(e.props);
          TERN_FUZZ_CHECK(v5() && cfg_.auth != nullptr);
        }
      },
      ev);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader r(data, size);
  harness h(r);
  h.run();
  return 0;
}
