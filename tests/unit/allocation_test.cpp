// Allocation behaviour of the codec [DESIGN: "Allocation-aware"]: decoding a packet held whole
// in the input, encoding a PUBLISH into the caller's buffer and the topic functions allocate
// nothing; a split packet allocates at most once for its body and then reuses the buffer; the
// buffer never grows past the Maximum Packet Size nor far past the bytes actually received.
//
// This TU replaces the global operator new/delete to count calls per thread (see
// support/counting_resource.hpp); no other TU may define them.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "support/counting_resource.hpp"
#include "support/hex.hpp"
#include "support/random_packets.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"
#include "tern/topic.hpp"
#include "tern/utf8.hpp"

// --- replacement global operator new / delete, counting per thread -------------------------------

namespace {
thread_local std::uint64_t g_new_calls = 0;

void* counted_alloc(std::size_t n) {
  ++g_new_calls;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_alloc(std::size_t n, std::align_val_t a) {
  ++g_new_calls;
  const auto align = static_cast<std::size_t>(a);
  const std::size_t size = ((n ? n : 1) + align - 1) / align * align;
  if (void* p = std::aligned_alloc(align, size)) return p;
  throw std::bad_alloc();
}
}  // namespace

std::uint64_t& tern::test::global_new_calls() noexcept { return g_new_calls; }

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++g_new_calls;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  ++g_new_calls;
  return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// --- tests ---------------------------------------------------------------------------------------

namespace {

using namespace tern;
using tern::test::allocation_scope;
using tern::test::counting_resource;
using tern::test::hex;
using tern::test::try_encode;

std::vector<std::byte> encoded(const packet& p, protocol_version v) {
  auto b = try_encode(p, v);
  REQUIRE(b);
  return *b;
}

std::vector<std::byte> publish_bytes(std::size_t payload_size, qos q, protocol_version v) {
  static const std::string payload(1 << 20, 'p');
  static const property props[] = {property::user("k", "v"),
                                   property::integer(property_id::message_expiry_interval, 9),
                                   property::string(property_id::content_type, "text/plain")};
  publish p;
  p.topic = "sensors/kitchen/temperature";
  p.payload = as_bytes(std::string_view(payload).substr(0, payload_size));
  p.q = q;
  p.packet_id = q == qos::at_most_once ? 0 : 17;
  if (v == protocol_version::v5) p.props = props;
  return encoded(p, v);
}

void* volatile g_sink = nullptr;

// Feeds `bytes` cut into `pieces` equal chunks; true when exactly one packet came out whole.
bool feed_split(decoder& d, const std::vector<std::byte>& bytes, std::size_t pieces) {
  std::size_t got = 0;
  const std::size_t step = (bytes.size() + pieces - 1) / pieces;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    bytes_view in(bytes.data() + at, std::min(step, bytes.size() - at));
    while (!in.empty()) {
      auto r = d.next(in);
      if (!r) return false;
      if (*r) ++got;
    }
  }
  return got == 1 && d.buffered() == 0;
}

}  // namespace

TEST_CASE("allocation: the global operator new counter counts (so the zeros below mean something)") {
  std::uint64_t n = 0;
  {
    allocation_scope scope;
    auto* v = new std::vector<int>(100);
    g_sink = v->data();  // the allocations escape: no compiler may elide them
    g_sink = v;
    delete v;
    n = scope.count();
  }
  CHECK(n == 2);  // the vector object and its elements

  counting_resource mem(100);
  {
    std::pmr::vector<char> v(&mem);
    v.resize(64);
    CHECK(mem.allocations() == 1);
    CHECK(mem.bytes_in_use() == 64);
    v.resize(200);
    CHECK(mem.limit_exceeded());
  }
  CHECK(mem.bytes_in_use() == 0);
  CHECK(mem.peak() >= 264);
  CHECK(mem.allocations() == mem.deallocations());
}

TEST_CASE("allocation: decoding whole PUBLISH (QoS 0/1/2), PUBACK, PINGRESP allocates nothing") {
  for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    INFO("MQTT ", to_string(v));
    std::vector<std::vector<std::byte>> inputs;
    for (auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once})
      for (std::size_t size : {0u, 10u, 1000u, 100'000u}) inputs.push_back(publish_bytes(size, q, v));
    puback ack;
    ack.packet_id = 3;
    inputs.push_back(encoded(ack, v));
    if (v == protocol_version::v5) {
      const property props[] = {property::string(property_id::reason_string, "why")};
      ack.code = reason_code::no_matching_subscribers;
      ack.props = props;
      inputs.push_back(encoded(ack, v));
    }
    inputs.push_back(encoded(pingresp{}, v));
    // All of them back to back in one buffer as well.
    std::vector<std::byte> all;
    for (const auto& b : inputs) all.insert(all.end(), b.begin(), b.end());
    inputs.push_back(all);

    counting_resource mem;
    std::uint64_t news = 0;
    std::size_t packets = 0, failures = 0, payload_bytes = 0, user_props = 0;
    {
      allocation_scope scope;
      decoder d({v, sender::server}, &mem);
      for (const auto& b : inputs) {
        bytes_view in(b);
        while (!in.empty()) {
          auto r = d.next(in);
          if (!r || !*r) {
            ++failures;
            break;
          }
          ++packets;
          if (const auto* p = std::get_if<publish>(&**r)) {
            payload_bytes += p->payload.size();
            for (auto prop : p->props) user_props += prop.id == property_id::user_property;
            (void)p->props.find(property_id::content_type);
          }
        }
        std::size_t consumed = 0;
        auto r = decode_packet(b, {v, sender::server}, consumed);
        if (!r || !*r) ++failures;
      }
      news = scope.count();
    }
    CHECK(failures == 0);
    CHECK(packets == 2 * (inputs.size() - 1));
    CHECK(payload_bytes > 0);
    CHECK(user_props == (v == protocol_version::v5 ? 24u : 0u));
    CHECK(news == 0);
    CHECK(mem.allocations() == 0);
  }
}

TEST_CASE("allocation: encoding a PUBLISH into the caller's buffer allocates nothing") {
  static const std::string payload(70'000, 'x');
  const property props[] = {property::user("a", "b"), property::user("a", "c"),
                            property::integer(property_id::topic_alias, 3),
                            property::binary_data(property_id::correlation_data, as_bytes("id"))};
  std::vector<std::byte> buffer(100'000);
  for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    INFO("MQTT ", to_string(v));
    std::uint64_t news = 0;
    bool ok = true;
    {
      allocation_scope scope;
      for (auto q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
        publish p;
        p.topic = "a/b/c";
        p.payload = as_bytes(payload);
        p.q = q;
        p.packet_id = q == qos::at_most_once ? 0 : 1;
        if (v == protocol_version::v5) p.props = props;
        auto size = measure(p, v);
        ok = ok && size && size->total <= buffer.size();
        if (!ok) break;
        write(p, v, *size, buffer.data());
        write_header(p, v, *size, buffer.data());
        auto n = encode(p, v, buffer);
        ok = ok && n && *n == size->total;
        auto n2 = encode(packet(p), v, buffer);
        ok = ok && n2 && *n2 == size->total;
        puback ack;
        ack.packet_id = 1;
        auto n3 = encode(ack, v, buffer);
        ok = ok && n3;
      }
      news = scope.count();
    }
    CHECK(ok);
    CHECK(news == 0);
  }
}

TEST_CASE("allocation: topic validation and matching allocate nothing") {
  const std::string long_topic = [] {
    std::string t;
    for (int i = 0; i < 2000; ++i) t += "level" + std::to_string(i) + "/";
    return t + "\xE2\x82\xAC";
  }();
  std::uint64_t news = 0;
  int matched = 0;
  bool valid = true;
  {
    allocation_scope scope;
    valid = valid && validate_topic_name(long_topic).has_value();
    valid = valid && validate_topic_filter("sport/+/player1/#").has_value();
    valid = valid && validate_topic_filter("$share/group/a/+").has_value();
    valid = valid && !validate_topic_filter("a/#/b").has_value();
    valid = valid && !validate_topic_name("a/+").has_value();
    valid = valid && is_valid_mqtt_utf8(long_topic);
    valid = valid && parse_shared_subscription("$share/g/x").has_value();
    matched += topic_matches_sub("sport/#", "sport/tennis/player1");
    matched += topic_matches_sub("+/+", "/finance");
    matched += topic_matches_sub("$share/g/a/+", "a/b");
    matched += topic_matches_sub("#", long_topic);
    matched += topic_matches_sub("level0/+/#", long_topic);
    matched += topic_matches_sub("#", "$SYS/x");  // no
    news = scope.count();
  }
  CHECK(valid);
  CHECK(matched == 5);
  CHECK(news == 0);
}

TEST_CASE("allocation: a split packet allocates at most once, then the buffer is reused") {
  counting_resource mem;
  std::uint64_t news = 0;
  const auto p1000 = publish_bytes(1000, qos::at_least_once, protocol_version::v5);
  const auto p500 = publish_bytes(500, qos::at_most_once, protocol_version::v5);
  const auto p999 = publish_bytes(999, qos::exactly_once, protocol_version::v5);
  decoder d({protocol_version::v5, sender::server}, &mem);

  REQUIRE(feed_split(d, p1000, 2));
  INFO("a ", p1000.size(), "-byte PUBLISH fed as two halves: ", mem.allocations(),
       " allocations, largest ", mem.largest(), " bytes");
  CHECK(mem.allocations() <= 1);
  const auto after_first = mem.allocations();

  bool ok = true;
  {
    allocation_scope scope;
    for (int i = 0; i < 50; ++i) {
      ok = ok && feed_split(d, p1000, 2);  // equal size
      ok = ok && feed_split(d, p500, 3);   // smaller
      ok = ok && feed_split(d, p999, 7);   // smaller, more pieces
      ok = ok && feed_split(d, p1000, 2);
    }
    news = scope.count();
  }
  CHECK(ok);
  CHECK(mem.allocations() == after_first);  // steady state: zero
  CHECK(news == 0);
  CHECK(mem.bad_deallocations() == 0);
}

TEST_CASE("allocation: steady state through the default resource makes no operator new calls") {
  const auto p = publish_bytes(4000, qos::at_most_once, protocol_version::v3_1_1);
  decoder d({protocol_version::v3_1_1, sender::server});  // global heap via new_delete_resource
  REQUIRE(feed_split(d, p, 2));
  REQUIRE(feed_split(d, p, 5));
  std::uint64_t news = 0;
  bool ok = true;
  {
    allocation_scope scope;
    for (int i = 0; i < 20; ++i) ok = ok && feed_split(d, p, 2) && feed_split(d, p, 9);
    news = scope.count();
  }
  CHECK(ok);
  CHECK(news == 0);
}

TEST_CASE("allocation: a packet fed one byte at a time grows its buffer a bounded number of times") {
  counting_resource mem;
  const auto p = publish_bytes(64 * 1024, qos::at_least_once, protocol_version::v5);
  decoder d({protocol_version::v5, sender::server}, &mem);
  REQUIRE(feed_split(d, p, p.size()));
  // Geometric growth at worst: about log2(64 KiB) steps.
  CHECK(mem.allocations() <= 20);
  const auto after = mem.allocations();
  REQUIRE(feed_split(d, p, p.size()));
  CHECK(mem.allocations() == after);
}

TEST_CASE("allocation: the body buffer never passes the Maximum Packet Size") {
  // Growing a pmr buffer means allocating the new block before freeing the old one, so while
  // it copies the decoder briefly holds both: the bound on memory in use is twice the limit;
  // no single block may pass the limit.
  for (std::uint32_t limit : {64u, 1000u, 4096u, 70'000u}) {
    INFO("maximum packet size ", limit);
    counting_resource mem(2 * limit);
    // The largest PUBLISH that fits: total size == limit.
    std::size_t payload = 0;
    std::vector<std::byte> bytes;
    for (std::size_t n = limit; n > 0; --n) {
      bytes = publish_bytes(n, qos::at_most_once, protocol_version::v3_1_1);
      if (bytes.size() <= limit) {
        payload = n;
        break;
      }
    }
    REQUIRE(payload > 0);
    decoder d({protocol_version::v3_1_1, sender::server, limit}, &mem);
    REQUIRE(feed_split(d, bytes, bytes.size()));  // one byte at a time
    REQUIRE(feed_split(d, bytes, 3));
    CHECK(mem.largest() <= limit);
    CHECK_FALSE(mem.limit_exceeded());
    // One byte more is refused from the header, with no growth.
    const auto allocations = mem.allocations();
    const auto over = publish_bytes(payload + 1, qos::at_most_once, protocol_version::v3_1_1);
    bytes_view in(over.data(), 5);
    auto r = d.next(in);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == decode_errc::packet_too_large);
    CHECK(mem.allocations() == allocations);
    CHECK(mem.largest() <= limit);
  }
}

TEST_CASE("allocation: buffer growth follows the bytes received, not the announced length") {
  // PUBLISH announcing 1 MiB (and, second, the largest Remaining Length), then only a trickle.
  for (const char* header : {"30 80 80 40", "30 ff ff ff 7f"}) {
    INFO("fixed header ", header);
    counting_resource mem;
    decoder d({protocol_version::v3_1_1, sender::server}, &mem);
    auto start = hex(header);
    const auto body = hex("00 03 61 2f 62  01 02 03 04 05");  // topic "a/b" + 5 payload bytes
    start.insert(start.end(), body.begin(), body.end());
    bytes_view in(start);
    auto r = d.next(in);
    REQUIRE(r);
    CHECK_FALSE(*r);
    CHECK(d.buffered() == start.size());
    // 10 body bytes must not cost 1 MiB (or 256 MiB).
    CHECK(mem.peak() < 256 * 1024);
    CHECK(mem.largest() < 256 * 1024);

    // More arrives: memory stays proportional to what was received.
    std::vector<std::byte> chunk(50'000, std::byte{0x55});
    std::size_t received = body.size();
    for (int i = 0; i < 4; ++i) {
      bytes_view c(chunk);
      auto r2 = d.next(c);
      REQUIRE(r2);
      REQUIRE_FALSE(*r2);
      received += chunk.size();
      INFO("after ", received, " body bytes");
      CHECK(mem.bytes_in_use() <= 2 * received + 64 * 1024);
    }
  }
}

TEST_CASE("allocation: a fault mid-packet keeps no memory past the decoder's life") {
  counting_resource mem;
  {
    decoder d({protocol_version::v5, sender::server}, &mem);
    // PUBLISH with a 3000-byte body whose topic holds '+': fed in two pieces.
    std::vector<std::byte> bytes = hex("30 b8 17 00 03 61 2b 62 00");
    bytes.resize(3003, std::byte{0x41});
    bytes_view a(bytes.data(), 100), b(bytes.data() + 100, bytes.size() - 100);
    REQUIRE(d.next(a));
    auto r = d.next(b);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == decode_errc::topic_name_invalid);
  }
  CHECK(mem.bytes_in_use() == 0);
  CHECK(mem.allocations() == mem.deallocations());
}
