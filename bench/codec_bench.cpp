// Codec micro-benchmarks: encode and fully validated decode of the packet shapes a client moves
// most, for MQTT 3.1.1 and 5.0.
//
//   encode/<shape>/<v>        tern::encode(p, v, out) into a preallocated buffer (measure+write)
//   encode_header/<shape>/<v> measure + write_header: the PUBLISH path that sends the payload as
//                             its own scatter/gather slice
//   decode/<shape>/<v>        tern::decode_packet from a buffer holding the packet
//   decoder_next/<shape>/<v>  tern::decoder::next over a buffer of 64 packets back to back
//
// items/s are packets/s. Counters: allocs/pkt counts global operator new (replaced below) during
// the timed loop; pmr/pkt counts what the decoder takes from its memory resource. Both must be 0.
//
// No BENCHMARK_MAIN(): main() below registers one benchmark per shape and version first.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

#include "tern/tern.hpp"

// --- counting global allocations ---------------------------------------------------------------

#include "allocation_counter.hpp"  // replaces operator new: this program only

namespace {

using namespace tern;

class counting_resource final : public std::pmr::memory_resource {
 public:
  std::uint64_t allocations = 0;

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }
};

// --- the packet shapes -------------------------------------------------------------------------

const std::string k_payload_4(4, 'p');
const std::string k_payload_64(64, 'p');
const std::string k_payload_1k(1024, 'p');

publish publish_small() {  // QoS 0, 4-byte topic, 4-byte payload
  publish p;
  p.topic = "abcd";
  p.payload = as_bytes(k_payload_4);
  return p;
}

publish publish_q1(const std::string& payload) {  // QoS 1, 16-byte topic
  publish p;
  p.topic = "sensors/a1/temp0";
  p.payload = as_bytes(payload);
  p.q = qos::at_least_once;
  p.packet_id = 4242;
  return p;
}

const property k_connect_props[] = {
    property::integer(property_id::session_expiry_interval, 3600),
    property::integer(property_id::receive_maximum, 100),
    property::integer(property_id::maximum_packet_size, 1 << 20),
    property::integer(property_id::topic_alias_maximum, 16),
    property::user("client", "tern-bench"),
    property::user("region", "eu-west"),
    property::string(property_id::authentication_method, "SCRAM-SHA-256"),
};
const property k_will_props[] = {property::integer(property_id::will_delay_interval, 30)};
const std::string k_will_payload = "offline";

connect connect_with_will(protocol_version v) {
  connect c;
  c.version = v;
  c.keep_alive = 60;
  c.client_id = "bench-client-0001";
  c.username = "user";
  c.password = as_bytes(std::string_view("secret"));
  will_message w;
  w.topic = "clients/bench-client-0001/status";
  w.payload = as_bytes(k_will_payload);
  w.q = qos::at_least_once;
  w.retain = true;
  if (v == protocol_version::v5) {
    w.props = properties(k_will_props);
    c.props = properties(k_connect_props);
  }
  c.will = w;
  return c;
}

const subscription k_subscriptions[] = {
    {"home/livingroom/+/state", {qos::at_least_once}},
    {"home/kitchen/+/state", {qos::at_least_once}},
    {"home/bedroom/+/state", {qos::at_least_once}},
    {"home/garage/door", {qos::exactly_once}},
    {"home/garden/#", {qos::at_most_once}},
    {"sensors/+/temperature", {qos::at_least_once}},
    {"sensors/+/humidity", {qos::at_least_once}},
    {"alerts/#", {qos::exactly_once}},
    {"$SYS/broker/load/#", {qos::at_most_once}},
    {"devices/bench/commands", {qos::at_least_once}},
};

subscribe subscribe_10() {
  subscribe s;
  s.packet_id = 7;
  s.subscriptions = subscription_list(k_subscriptions);
  return s;
}

const char* version_name(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

std::vector<std::byte> encoded(const packet& p, protocol_version v) {
  const auto m = measure(p, v);
  if (!m) {
    std::fprintf(stderr, "bench shape does not encode: %s\n", std::string(to_string(m.error())).c_str());
    std::abort();
  }
  std::vector<std::byte> out(m->total);
  write(p, v, *m, out.data());
  return out;
}

void set_counters(benchmark::State& state, std::uint64_t packets, std::uint64_t bytes,
                  std::uint64_t allocations, std::uint64_t pmr_allocations) {
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  const double n = packets ? static_cast<double>(packets) : 1.0;
  state.counters["allocs/pkt"] = static_cast<double>(allocations) / n;
  state.counters["pmr/pkt"] = static_cast<double>(pmr_allocations) / n;
}

// --- the benchmarks ----------------------------------------------------------------------------

template <class P>
void bm_encode(benchmark::State& state, P p, protocol_version v) {
  const auto m = measure(p, v);
  if (!m) {
    state.SkipWithError("shape does not encode");
    return;
  }
  std::vector<std::byte> buf(m->total);
  const mutable_bytes out(buf);
  const std::uint64_t before = tern_bench_allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);  // the compiler may not assume the packet is unchanged
    auto n = encode(p, v, out);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  const std::uint64_t iterations = state.iterations();
  set_counters(state, iterations, iterations * m->total, tern_bench_allocations() - before, 0);
}

void bm_encode_header(benchmark::State& state, publish p, protocol_version v) {
  const auto m0 = measure(p, v);
  if (!m0) {
    state.SkipWithError("shape does not encode");
    return;
  }
  std::vector<std::byte> buf(m0->header());
  const std::uint64_t before = tern_bench_allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    const auto m = measure(p, v);
    write_header(p, v, *m, buf.data());
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  const std::uint64_t iterations = state.iterations();
  set_counters(state, iterations, iterations * m0->header(), tern_bench_allocations() - before, 0);
}

void bm_decode(benchmark::State& state, packet p, protocol_version v) {
  const std::vector<std::byte> wire = encoded(p, v);
  const decoder_options opts{v, sender::any, max_packet_size_limit};
  const std::uint64_t before = tern_bench_allocations();
  for (auto _ : state) {
    bytes_view in(wire);
    benchmark::DoNotOptimize(in);  // the input is opaque: no constant folding of the decode
    std::size_t consumed = 0;
    auto r = decode_packet(in, opts, consumed);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(consumed);
    if (!r || !*r) state.SkipWithError("decode failed");
  }
  const std::uint64_t iterations = state.iterations();
  set_counters(state, iterations, iterations * wire.size(), tern_bench_allocations() - before, 0);
}

void bm_decoder_next(benchmark::State& state, packet p, protocol_version v) {
  constexpr std::size_t k_batch = 64;
  const std::vector<std::byte> one = encoded(p, v);
  std::vector<std::byte> wire;
  for (std::size_t i = 0; i < k_batch; ++i) wire.insert(wire.end(), one.begin(), one.end());
  counting_resource memory;
  decoder dec({v, sender::any, max_packet_size_limit}, &memory);
  std::uint64_t packets = 0;
  const std::uint64_t before = tern_bench_allocations();
  for (auto _ : state) {
    bytes_view in(wire);
    benchmark::DoNotOptimize(in);
    for (;;) {
      auto r = dec.next(in);
      if (!r) {
        state.SkipWithError("decode failed");
        break;
      }
      if (!*r) break;
      benchmark::DoNotOptimize(r);
      ++packets;
    }
  }
  set_counters(state, packets, state.iterations() * wire.size(), tern_bench_allocations() - before,
               memory.allocations);
}

template <class P>
void register_shape(const std::string& shape, P p, protocol_version v, bool header = false) {
  const std::string suffix = "/" + shape + "/" + version_name(v);
  benchmark::RegisterBenchmark(("encode" + suffix).c_str(),
                               [p, v](benchmark::State& s) { bm_encode(s, p, v); });
  if constexpr (std::is_same_v<P, publish>) {
    if (header)
      benchmark::RegisterBenchmark(("encode_header" + suffix).c_str(),
                                   [p, v](benchmark::State& s) { bm_encode_header(s, p, v); });
  }
  benchmark::RegisterBenchmark(("decode" + suffix).c_str(),
                               [p, v](benchmark::State& s) { bm_decode(s, packet(p), v); });
  benchmark::RegisterBenchmark(("decoder_next" + suffix).c_str(),
                               [p, v](benchmark::State& s) { bm_decoder_next(s, packet(p), v); });
}

void register_all() {
  for (const auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    register_shape("publish_q0_t4_p4", publish_small(), v, true);
    register_shape("publish_q1_t16_p64", publish_q1(k_payload_64), v, true);
    register_shape("publish_q1_t16_p1k", publish_q1(k_payload_1k), v, true);
    register_shape("connect_will", connect_with_will(v), v);
    register_shape("subscribe_10", subscribe_10(), v);
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
