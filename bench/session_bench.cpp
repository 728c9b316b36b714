// Session benchmarks: whole message rounds through tern::session, with no sockets. A scripted
// broker answers at once: it reads the packet ids the client wrote straight from the transmit
// slices and feeds back acknowledgements built once, through receive_buffer() /
// handle_received() as a socket adapter would.
//
//   out_q0/<shape>/<v>    publish -> poll_transmit -> commit_transmit -> publish_completed (sent)
//   out_q1/<shape>/<v>    ... -> PUBACK fed -> publish_completed (acknowledged)
//   out_q2/<shape>/<v>    ... -> PUBREC fed -> PUBREL written -> PUBCOMP fed -> completed
//   in_q0/<shape>/<v>     PUBLISH fed -> message event drained
//   in_q1/<shape>/<v>     PUBLISH fed -> message -> PUBACK written
//   in_q2/<shape>/<v>     PUBLISH fed -> message -> PUBREC written -> PUBREL fed -> PUBCOMP written
//   out_q1_window100/...  100 QoS 1 publishes written in one go, then 100 PUBACKs fed in one go
//
// <shape>: 16-byte topic with a 64-byte (t16_p64) or 1 KiB (t16_p1k) payload. One iteration is
// one round (100 messages for the window variant: its time is divided by 100 in msg/s and in the
// counters). Counters per message: new/msg counts every heap allocation (global operator new,
// replaced below; the memory resource allocates through it), pmr/msg those the session took
// from its memory resource: a difference would be memory taken around the resource. Each
// benchmark first handles 20,000 messages untimed, so that rings and buffers have grown to their
// steady size before it is timed.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

#include "tern/tern.hpp"

#include "allocation_counter.hpp"  // replaces operator new: this program only

namespace {

using namespace tern;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "session bench: %s\n", what);
  std::abort();
}

class counting_resource final : public std::pmr::memory_resource {
 public:
  std::uint64_t allocations = 0;

 private:
  // Through the replaced global operator new (libstdc++'s new_delete_resource() does not call
  // it), so that new/msg counts every heap allocation, the resource's included.
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    if (align > alignof(std::max_align_t)) die("over-aligned allocation");
    ++allocations;
    return ::operator new(bytes);
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override { ::operator delete(p); }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }
};

constexpr std::string_view k_topic = "sensors/a1/temp0";  // 16 bytes
constexpr std::size_t k_warmup_messages = 20'000;

// The client and the scripted broker around it.
class rig {
 public:
  rig(protocol_version v, std::uint16_t max_inflight) : s_(config(v, max_inflight), &memory_) {
    if (!s_.connect(now_)) die("connect refused");
    while (s_.poll_action()) {
    }
    s_.handle_transport_opened(now_);
    flush();
    const bool v5 = v == protocol_version::v5;  // 5.0 adds an empty property list
    const std::array<std::byte, 5> connack{std::byte{0x20}, static_cast<std::byte>(v5 ? 3 : 2),
                                           std::byte{0}, std::byte{0}, std::byte{0}};
    feed(std::span(connack.data(), v5 ? 5 : 4));
    if (!s_.is_connected()) die("not connected");
    drain();
  }

  session& s() noexcept { return s_; }
  counting_resource& memory() noexcept { return memory_; }
  time_point now() const noexcept { return now_; }

  // Writes everything and records the packet ids of PUBLISH / PUBREL packets written.
  std::size_t flush() {
    const std::size_t n = s_.poll_transmit(slices_);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += slices_[i].size();
    scan(n);
    s_.commit_transmit(total, now_);
    return total;
  }
  // Bytes from the broker, read into the session's buffer as a socket adapter would.
  void feed(bytes_view data) {
    while (!data.empty()) {
      const mutable_bytes into = s_.receive_buffer();
      const std::size_t n = std::min(into.size(), data.size());
      std::memcpy(into.data(), data.data(), n);
      s_.handle_received(n, now_);
      data = data.subspan(n);
    }
  }
  // Drains events; returns how many there were.
  std::size_t drain() {
    std::size_t n = 0;
    while (auto e = s_.poll_event()) {
      benchmark::DoNotOptimize(*e);
      ++n;
    }
    return n;
  }
  // The packet ids the client wrote since the last call, in order.
  std::vector<std::uint16_t>& ids() noexcept { return ids_; }

 private:
  static session_config config(protocol_version v, std::uint16_t max_inflight) {
    session_config c;
    c.version = v;
    c.client_id = "bench";
    c.clean_start = clean_start_policy::always;
    c.max_inflight = max_inflight;
    c.auto_reconnect = false;
    return c;
  }

  // Walks the packets in the slices without copying them (the broker reading the wire).
  void scan(std::size_t count) {
    std::size_t slice = 0, at = 0;
    auto next = [&]() -> std::uint8_t {
      while (at == slices_[slice].size()) {
        ++slice;
        at = 0;
      }
      return static_cast<std::uint8_t>(slices_[slice][at++]);
    };
    auto read_u16 = [&] {  // two statements: the order of the reads is fixed
      const unsigned high = next();
      return static_cast<std::uint16_t>(high << 8 | next());
    };
    auto skip = [&](std::size_t n) {
      while (n != 0) {
        const std::size_t k = std::min(n, slices_[slice].size() - at);
        at += k;
        n -= k;
        if (n != 0) {
          ++slice;
          at = 0;
        }
      }
    };
    while (slice < count && !(slice + 1 == count && at == slices_[slice].size())) {
      if (at == slices_[slice].size()) {
        ++slice;
        at = 0;
        continue;
      }
      const std::uint8_t first = next();
      std::uint32_t remaining = 0;
      for (int shift = 0;; shift += 7) {
        const std::uint8_t b = next();
        remaining |= static_cast<std::uint32_t>(b & 0x7F) << shift;
        if (!(b & 0x80)) break;
      }
      const unsigned type = first >> 4;
      if (type == 3 && (first & 0x06) != 0) {  // PUBLISH with a packet id
        const std::uint32_t topic = read_u16();
        skip(topic);
        ids_.push_back(read_u16());
        skip(remaining - 4 - topic);
      } else if (type == 6) {  // PUBREL
        ids_.push_back(read_u16());
        skip(remaining - 2);
      } else {
        skip(remaining);
      }
    }
  }

  counting_resource memory_;
  session s_;
  time_point now_ = time_point{} + std::chrono::hours(1);
  std::array<bytes_view, 256> slices_{};
  std::vector<std::uint16_t> ids_;
};

std::array<std::byte, 4> ack(std::uint8_t first, std::uint16_t id) {
  return {std::byte{first}, std::byte{0x02}, static_cast<std::byte>(id >> 8),
          static_cast<std::byte>(id & 0xFF)};
}

const char* version_name(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

void set_counters(benchmark::State& state, std::uint64_t messages, std::uint64_t news,
                  std::uint64_t pmr) {
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  const double n = messages ? static_cast<double>(messages) : 1.0;
  state.counters["new/msg"] = static_cast<double>(news) / n;
  state.counters["pmr/msg"] = static_cast<double>(pmr) / n;
  state.counters["ns/msg"] = benchmark::Counter(
      static_cast<double>(messages), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Runs `round` for k_warmup_messages, then times it; each round handles `per_round` messages.
template <class Round>
void run(benchmark::State& state, rig& r, std::size_t per_round, Round round) {
  for (std::size_t i = 0; i < k_warmup_messages / per_round; ++i)
    if (!round()) return state.SkipWithError("a round went wrong during warm-up");
  const std::uint64_t news = tern_bench_allocations();
  const std::uint64_t pmr = r.memory().allocations;
  for (auto _ : state)
    if (!round()) return state.SkipWithError("a round went wrong");
  const std::uint64_t messages = state.iterations() * per_round;
  set_counters(state, messages, tern_bench_allocations() - news, r.memory().allocations - pmr);
}

// ---- outgoing ----------------------------------------------------------------------------------

void bm_out(benchmark::State& state, protocol_version v, qos q, std::size_t payload_size) {
  rig r(v, 20);
  const std::string payload(payload_size, 'p');
  publish p;
  p.topic = k_topic;
  p.payload = as_bytes(payload);
  p.q = q;
  run(state, r, 1, [&] {
    session& s = r.s();
    if (!s.publish(p, r.now())) return false;
    r.ids().clear();
    r.flush();
    if (q != qos::at_most_once) {
      const auto a = ack(q == qos::at_least_once ? 0x40 : 0x50, r.ids().at(0));
      r.ids().clear();
      r.feed(a);
      if (q == qos::exactly_once) {
        r.flush();  // PUBREL
        r.feed(ack(0x70, r.ids().at(0)));
      }
    }
    return r.drain() == 1;
  });
}

void bm_window(benchmark::State& state, protocol_version v, std::size_t payload_size) {
  constexpr std::size_t k_window = 100;
  rig r(v, k_window);
  const std::string payload(payload_size, 'p');
  publish p;
  p.topic = k_topic;
  p.payload = as_bytes(payload);
  p.q = qos::at_least_once;
  std::vector<std::byte> acks(4 * k_window);
  run(state, r, k_window, [&] {
    session& s = r.s();
    for (std::size_t i = 0; i < k_window; ++i)
      if (!s.publish(p, r.now())) return false;
    r.ids().clear();
    r.flush();
    if (r.ids().size() != k_window) return false;
    for (std::size_t i = 0; i < k_window; ++i) {
      const auto a = ack(0x40, r.ids()[i]);
      std::memcpy(acks.data() + 4 * i, a.data(), 4);
    }
    r.feed(acks);
    return r.drain() == k_window;
  });
}

// ---- incoming ----------------------------------------------------------------------------------

void bm_in(benchmark::State& state, protocol_version v, qos q, std::size_t payload_size) {
  rig r(v, 20);
  const std::string payload(payload_size, 'p');
  publish p;
  p.topic = k_topic;
  p.payload = as_bytes(payload);
  p.q = q;
  p.packet_id = q == qos::at_most_once ? 0 : 1;
  const auto m = measure(p, v);
  if (!m) return state.SkipWithError("PUBLISH does not encode");
  std::vector<std::byte> wire(m->total);
  write(p, v, *m, wire.data());
  const std::size_t id_at = m->total - m->payload - (v == protocol_version::v5 ? 3 : 2);
  std::uint16_t id = 0;
  run(state, r, 1, [&] {
    if (q != qos::at_most_once) {
      id = static_cast<std::uint16_t>(id == 65'535 ? 1 : id + 1);
      wire[id_at] = static_cast<std::byte>(id >> 8);
      wire[id_at + 1] = static_cast<std::byte>(id & 0xFF);
    }
    r.feed(wire);
    if (r.drain() != 1) return false;
    if (q == qos::at_most_once) return true;
    if (r.flush() == 0) return false;  // PUBACK or PUBREC
    if (q == qos::exactly_once) {
      r.feed(ack(0x62, id));             // PUBREL
      if (r.flush() == 0) return false;  // PUBCOMP
    }
    return true;
  });
}

void register_all() {
  static constexpr const char* q_names[] = {"q0", "q1", "q2"};
  for (const auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    for (const std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
      std::string suffix = size == 64 ? "/t16_p64/" : "/t16_p1k/";
      suffix.append(version_name(v));
      auto name = [&](const char* what, const char* q) {
        std::string n(what);
        return n.append(q).append(suffix);
      };
      for (const auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once})
        benchmark::RegisterBenchmark(name("out_", q_names[static_cast<int>(q)]).c_str(),
                                     [=](benchmark::State& s) { bm_out(s, v, q, size); });
      benchmark::RegisterBenchmark(name("out_q1_window100", "").c_str(),
                                   [=](benchmark::State& s) { bm_window(s, v, size); });
      for (const auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once})
        benchmark::RegisterBenchmark(name("in_", q_names[static_cast<int>(q)]).c_str(),
                                     [=](benchmark::State& s) { bm_in(s, v, q, size); });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
