// Memory [DESIGN: "Allocation-aware"]: everything the session takes comes from the given
// memory resource; at steady state a QoS 0 publish and every received message (QoS 0, 1, 2)
// allocate nothing; a QoS 1/2 publish is one block, returned on completion; and every queue is
// bounded, so a blocked transport and an application that keeps publishing meet would_block /
// queue_full, not growth.
//
// The measured loops drive the session directly (no test peer, which allocates for its own
// bookkeeping) and count both the counting resource and global operator new.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support/counting_resource.hpp"
#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

// Drives a session without allocating: everything written is dropped, events are discarded.
struct direct {
  direct(const session_config& c, std::pmr::memory_resource* memory) : s(c, memory) {}

  void drain() {
    while (s.poll_action()) {
    }
    while (auto e = s.poll_event()) ++events;
    while (s.transmit_size() != 0) {
      const std::size_t n = s.poll_transmit(slices);
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i) total += slices[i].size();
      s.commit_transmit(total, now);
      written += total;
    }
  }
  void feed(const std::vector<std::byte>& bytes) {
    s.handle_bytes(bytes, now);
    drain();
  }
  void feed_zero_copy(const std::vector<std::byte>& bytes) {
    const mutable_bytes space = s.receive_buffer();
    std::memcpy(space.data(), bytes.data(), bytes.size());
    s.handle_received(bytes.size(), now);
    drain();
  }
  void connect(const std::vector<std::byte>& connack) {
    (void)s.connect(now);
    drain();
    s.handle_transport_opened(now);
    drain();
    feed(connack);
  }

  tern::session s;
  time_point now = epoch;
  std::array<bytes_view, 16> slices{};
  std::size_t events = 0;
  std::size_t written = 0;
};

struct counts {
  std::size_t resource = 0;
  std::uint64_t global = 0;
};

template <class F>
counts measure_allocations(counting_resource& r, F&& f) {
  r.reset_counters();
  allocation_scope scope;
  f();
  return {r.allocations(), scope.count()};
}

template <class P>
std::vector<std::byte> bytes_of(const P& p, v version) {
  const auto size = measure(p, version);
  std::vector<std::byte> out(size.value().total);
  write(p, version, *size, out.data());
  return out;
}

session_config memory_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 30s;
  c.topic_alias_maximum = 8;
  return c;
}
}  // namespace

TEST_CASE("memory: a QoS 0 publish and the received messages allocate nothing at steady state") {
  const v version = each_version();
  counting_resource r;
  direct d(memory_config(version), &r);
  d.connect(bytes_of(tern::connack{}, version));
  REQUIRE(d.s.is_connected());

  const std::string payload(200, 'p');
  const tern::publish out = make_publish("out/topic", payload);
  tern::publish in0 = make_publish("in/topic", payload);
  const auto in0_bytes = bytes_of(in0, version);
  std::vector<std::vector<std::byte>> in1, in2, rel;
  for (std::uint16_t id = 1; id <= 8; ++id) {
    tern::publish m = make_publish("in/topic", payload, qos::at_least_once);
    m.packet_id = id;
    in1.push_back(bytes_of(m, version));
    m.q = qos::exactly_once;
    in2.push_back(bytes_of(m, version));
    rel.push_back(bytes_of(tern::pubrel{id, reason_code::success, {}}, version));
  }
  auto round = [&](int i) {
    (void)d.s.publish(out, d.now);
    d.drain();
    d.feed(in0_bytes);
    d.feed_zero_copy(in1[static_cast<std::size_t>(i % 8)]);
    d.feed(in2[static_cast<std::size_t>(i % 8)]);
    d.feed(rel[static_cast<std::size_t>(i % 8)]);
  };
  for (int i = 0; i < 50; ++i) round(i);  // warm-up: buffers reach their working size
  const std::size_t events_before = d.events;
  const counts c = measure_allocations(r, [&] {
    for (int i = 0; i < 1000; ++i) round(i);
  });
  CHECK(c.resource == 0);
  CHECK(c.global == 0);
  CHECK(d.events - events_before == 4000);  // sent + three messages per round
  CHECK(d.s.is_connected());
}

TEST_CASE("memory: a keep-alive round allocates nothing") {
  counting_resource r;
  direct d(memory_config(v::v5), &r);
  d.connect(bytes_of(tern::connack{}, v::v5));
  const auto pingresp = bytes_of(tern::pingresp{}, v::v5);
  auto round = [&] {
    d.now = *d.s.poll_timeout();
    d.s.handle_timeout(d.now);
    d.drain();
    d.feed(pingresp);
  };
  for (int i = 0; i < 5; ++i) round();
  const counts c = measure_allocations(r, [&] {
    for (int i = 0; i < 100; ++i) round();
  });
  CHECK(c.resource == 0);
  CHECK(c.global == 0);
  CHECK(d.s.is_connected());
}

TEST_CASE("memory: a QoS 1 or 2 publish is one block from the resource, returned on completion") {
  const v version = each_version();
  counting_resource r;
  direct d(memory_config(version), &r);
  d.connect(bytes_of(tern::connack{}, version));
  const std::string payload(100, 'p');
  std::uint16_t next_id = 1;
  auto round = [&] {
    (void)d.s.publish(make_publish("t", payload, qos::at_least_once), d.now);
    d.drain();
    d.feed(bytes_of(tern::puback{next_id, reason_code::success, {}}, version));
    (void)d.s.publish(make_publish("t", payload, qos::exactly_once), d.now);
    d.drain();
    const auto id2 = static_cast<std::uint16_t>(next_id + 1);
    d.feed(bytes_of(tern::pubrec{id2, reason_code::success, {}}, version));
    d.feed(bytes_of(tern::pubcomp{id2, reason_code::success, {}}, version));
    next_id = static_cast<std::uint16_t>(next_id + 2);
  };
  for (int i = 0; i < 20; ++i) round();
  const std::size_t in_use = r.bytes_in_use();
  r.reset_counters();
  for (int i = 0; i < 100; ++i) round();
  CHECK(r.allocations() == 200);  // one per message
  CHECK(r.deallocations() == 200);
  CHECK(r.bytes_in_use() == in_use);
  CHECK(r.bad_deallocations() == 0);
  CHECK(d.s.inflight() == 0);
}

TEST_CASE("memory: all of the session's memory comes from its resource") {
  const v version = each_version();
  counting_resource r;
  std::uint64_t global = 0;
  {
    const std::string payload(5000, 'p');
    const auto connack = bytes_of(tern::connack{}, version);
    tern::publish in = make_publish("in", payload, qos::exactly_once);
    in.packet_id = 3;
    const auto in_bytes = bytes_of(in, version);
    const auto rel = bytes_of(tern::pubrel{3, reason_code::success, {}}, version);
    const std::array<subscription, 1> subs{subscription{"a/#", {qos::exactly_once}}};
    r.reset_counters();
    allocation_scope scope;
    {
      direct d(memory_config(version), &r);
      (void)d.s.publish(make_publish("queued", payload, qos::at_least_once), d.now);
      d.connect(connack);
      (void)d.s.subscribe(subs, d.now);
      (void)d.s.publish(make_publish("t", payload, qos::exactly_once), d.now);
      d.drain();
      for (std::size_t i = 0; i < in_bytes.size(); ++i) {  // split: buffered by the session
        d.s.handle_bytes(bytes_view(in_bytes.data() + i, 1), d.now);
        d.drain();
      }
      d.feed(rel);
      std::vector<std::byte> state(d.s.state_size());
      d.s.save_state(state.data());
      d.s.handle_transport_closed(d.now);
      d.drain();
      // The counting resource takes its blocks from the global heap: those are the session's.
      global = scope.count() - 1 - r.allocations();  // - 1: the state vector above
    }
  }
  CHECK(global == 0);
  CHECK(r.allocations() > 0);
  CHECK(r.bytes_in_use() == 0);  // and all of it is returned
  CHECK(r.bad_deallocations() == 0);
}

TEST_CASE("memory: a blocked transport and an application that keeps publishing stay bounded") {
  const v version = each_version();
  counting_resource r;
  session_config c = memory_config(version);
  c.max_transmit_bytes = 64 * 1024;
  c.max_queued_messages = 100;
  c.max_queued_bytes = 1 << 20;
  c.max_inflight = 10;
  session_peer p(c, &r);
  (void)p.connect_with();
  p.blocked = true;
  const std::string payload(1000, 'p');

  std::size_t qos0 = 0, qos1 = 0;
  errc last0{}, last1{};
  for (int i = 0; i < 10'000; ++i) {
    const auto a = p.s.publish(make_publish("t", payload), p.now);
    if (a) ++qos0;
    else last0 = a.error();
    const auto b = p.s.publish(make_publish("t", payload, qos::at_least_once), p.now);
    if (b) ++qos1;
    else last1 = b.error();
  }
  CHECK(last0 == errc::would_block);
  CHECK(last1 == errc::queue_full);
  CHECK(p.s.transmit_size() <= c.max_transmit_bytes + 10 * 1100);  // QoS 0 bytes + the window
  CHECK(p.s.inflight() == 10);
  CHECK(p.s.queued() == 100);
  CHECK(qos1 == 110);
  CHECK(qos0 < 70);
  CHECK(r.peak() < 512 * 1024);

  // Once the transport drains, everything accepted goes out and publishing works again.
  p.unblock();
  std::size_t publishes = 0;
  while (p.packets_waiting() != 0) {
    (void)p.expect<tern::publish>();
    ++publishes;
  }
  CHECK(publishes == qos0 + 10);
  CHECK(p.s.publish(make_publish("t", payload), p.now).has_value());
}

// An idle connection's memory: trim_memory() gives back what is empty, so 10,000 idle sessions
// hold a few MiB; the buffers come back with the traffic, and once they have, the steady state
// allocates nothing again. What stays is the session object and its configuration's strings
// (rarely used state is allocated only when a session uses it): at most 1 KiB.
constexpr std::size_t idle_target = 1024;
TEST_CASE("memory: an idle connected session holds little after trim_memory()") {
  const v version = each_version();
  counting_resource r;
  session_config c = test_config(version);
  c.client_id = "idle-client-00001";
  direct d(c, &r);
  d.connect(bytes_of(tern::connack{}, version));
  REQUIRE(d.s.is_connected());
  const std::size_t before = r.bytes_in_use();
  d.s.trim_memory();
  MESSAGE("held by an idle connected session: " << before << " B before trim_memory(), "
                                                << r.bytes_in_use() << " B after");
  CHECK(r.bytes_in_use() <= idle_target);

  SUBCASE("with one subscription") {
    const std::array<subscription, 1> subs{subscription{"idle/client/00001", {qos::at_least_once}}};
    const auto id = d.s.subscribe(subs, d.now);
    REQUIRE(id.has_value());
    d.drain();
    tern::suback ack;
    ack.packet_id = *id;
    const std::array<reason_code, 1> codes{reason_code::granted_qos_1};
    ack.codes = codes;
    d.feed(bytes_of(ack, version));
    d.s.trim_memory();
    MESSAGE("with one subscription: " << r.bytes_in_use() << " B");
    CHECK(r.bytes_in_use() <= idle_target);
  }
  SUBCASE("after a keep-alive round") {
    const std::size_t written = d.written;
    d.s.trim_memory();
    d.now = *d.s.poll_timeout();
    d.s.handle_timeout(d.now);
    d.drain();
    CHECK(d.written == written + 2);  // PINGREQ
    d.feed(bytes_of(tern::pingresp{}, version));
    d.s.trim_memory();
    CHECK(r.bytes_in_use() <= idle_target);
    CHECK(d.s.is_connected());
  }
}

// Rarely used state (outgoing topic aliases here) is one block taken when a session first
// needs it, so sessions that never use it do not pay for it, and it is never taken per message.
TEST_CASE("memory: topic aliases take the rarely used state once, on first use") {
  counting_resource r;
  direct d(test_config(v::v5), &r);
  const std::array<property, 1> props{property::integer(property_id::topic_alias_maximum, 4)};
  tern::connack ack;
  ack.props = props;
  d.connect(bytes_of(ack, v::v5));
  REQUIRE(d.s.is_connected());
  d.s.trim_memory();
  const std::size_t idle = r.bytes_in_use();
  CHECK(idle <= idle_target);

  const std::string payload(50, 'p');
  const tern::publish out = make_publish("out/topic", payload);
  auto round = [&] {
    REQUIRE(d.s.publish(out, d.now).has_value());
    d.drain();
  };
  round();  // assigns alias 1
  d.drain();  // the "sent" event of the QoS 0 message
  d.s.trim_memory();
  MESSAGE("with an outgoing topic alias: " << r.bytes_in_use() << " B");
  CHECK(r.bytes_in_use() > idle);  // the block and the alias table stay
  for (int i = 0; i < 5; ++i) round();
  const counts c = measure_allocations(r, [&] {
    for (int i = 0; i < 100; ++i) round();
  });
  CHECK(c.resource == 0);
  CHECK(c.global == 0);
}

TEST_CASE("memory: after trim_memory() messages flow and the steady state allocates nothing") {
  const v version = each_version();
  counting_resource r;
  direct d(memory_config(version), &r);
  d.connect(bytes_of(tern::connack{}, version));
  d.s.trim_memory();
  const std::size_t idle = r.bytes_in_use();

  const std::string payload(200, 'p');
  const tern::publish out = make_publish("out/topic", payload);
  tern::publish in1 = make_publish("in/topic", payload, qos::at_least_once);
  in1.packet_id = 7;
  const auto in0_bytes = bytes_of(make_publish("in/topic", payload), version);
  const auto in1_bytes = bytes_of(in1, version);
  auto round = [&] {
    REQUIRE(d.s.publish(out, d.now).has_value());
    d.drain();
    d.feed_zero_copy(in0_bytes);
    d.feed(in1_bytes);
  };
  const std::size_t written = d.written;
  round();  // takes the buffers again
  CHECK(d.written > written);
  for (int i = 0; i < 20; ++i) round();
  const std::size_t events_before = d.events;
  const counts busy = measure_allocations(r, [&] {
    for (int i = 0; i < 500; ++i) round();
  });
  CHECK(busy.resource == 0);
  CHECK(busy.global == 0);
  CHECK(d.events - events_before == 1500);  // sent + two messages per round

  // Quiet again: trimming returns to the idle footprint, every time.
  d.s.trim_memory();
  CHECK(r.bytes_in_use() == idle);
  round();
  d.s.trim_memory();
  CHECK(r.bytes_in_use() == idle);
  CHECK(r.bad_deallocations() == 0);
  CHECK(d.s.is_connected());
}

TEST_CASE("memory: reads that fill the receive buffer grow it to 64 KiB, and no further") {
  const v version = each_version();
  counting_resource r;
  direct d(memory_config(version), &r);
  d.connect(bytes_of(tern::connack{}, version));
  // PINGRESPs (2 bytes each) fill exactly what each receive_buffer() offers.
  const std::size_t first = d.s.receive_buffer().size();
  CHECK(first == 2048);
  std::vector<std::size_t> offered;
  for (int i = 0; i < 8; ++i) {
    const mutable_bytes space = d.s.receive_buffer();
    offered.push_back(space.size());
    for (std::size_t k = 0; k + 1 < space.size(); k += 2) {
      space[k] = std::byte{0xD0};
      space[k + 1] = std::byte{0x00};
    }
    d.s.handle_received(space.size(), d.now);
    d.drain();
  }
  CHECK(offered == std::vector<std::size_t>{2048, 4096, 8192, 16384, 32768, 65536, 65536, 65536});
  // A read that does not fill it keeps the size; at 64 KiB the buffer no longer grows.
  const counts steady = measure_allocations(r, [&] {
    const mutable_bytes space = d.s.receive_buffer();
    space[0] = std::byte{0xD0};
    space[1] = std::byte{0x00};
    d.s.handle_received(2, d.now);
    d.drain();
    CHECK(d.s.receive_buffer().size() == 65536);
  });
  CHECK(steady.resource == 0);
  // A quiet connection starts over small.
  d.s.trim_memory();
  CHECK(d.s.receive_buffer().size() == 2048);
  CHECK(d.s.is_connected());
}

TEST_CASE("memory: trim_memory() keeps what is still in use") {
  const v version = each_version();
  counting_resource r;
  direct d(memory_config(version), &r);
  d.connect(bytes_of(tern::connack{}, version));
  const std::string payload(300, 'q');

  SUBCASE("a packet half received") {
    const auto in = bytes_of(make_publish("in/topic", payload), version);
    d.s.handle_bytes(bytes_view(in.data(), 100), d.now);
    d.drain();
    d.s.trim_memory();
    d.s.handle_bytes(bytes_view(in.data() + 100, in.size() - 100), d.now);
    std::size_t messages = 0;
    while (auto e = d.s.poll_event()) {
      if (const auto* m = std::get_if<message>(&*e)) {
        ++messages;
        CHECK(m->packet.payload.size() == payload.size());
        CHECK(as_chars(m->packet.payload) == payload);
      }
    }
    CHECK(messages == 1);
  }
  SUBCASE("transmit slices being written") {
    REQUIRE(d.s.publish(make_publish("out/topic", payload), d.now).has_value());
    const std::size_t n = d.s.poll_transmit(d.slices);
    REQUIRE(n == 1);
    const std::string before(as_chars(d.slices[0]));
    d.s.trim_memory();  // an asynchronous write is reading the slices
    CHECK(std::string(as_chars(d.slices[0])) == before);
    d.s.commit_transmit(d.slices[0].size(), d.now);
    CHECK(d.s.transmit_size() == 0);
  }
  SUBCASE("undelivered events viewing the receive buffer") {
    d.s.handle_bytes(bytes_of(make_publish("in/topic", payload), version), d.now);
    d.s.trim_memory();
    const auto e = d.s.poll_event();
    REQUIRE(e.has_value());
    const auto* m = std::get_if<message>(&*e);
    REQUIRE(m != nullptr);
    CHECK(as_chars(m->packet.payload) == payload);
  }
  CHECK(d.s.is_connected());
}
