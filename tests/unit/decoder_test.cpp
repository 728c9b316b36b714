// tern::decoder, decode_frame and decode_packet: incremental decoding must not depend on how the
// bytes are split, must not copy a packet it holds whole, must check the size limit from the
// fixed header before buffering a body, and must stay failed after a fault until reset().
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/counting_resource.hpp"
#include "support/hex.hpp"
#include "support/random_packets.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"

namespace {

using namespace tern;
using tern::test::counting_resource;
using tern::test::describe;
using tern::test::hex;
using tern::test::packet_generator;
using tern::test::packet_store;
using tern::test::try_encode;

// Packets encoded back to back, with where each one ends.
struct stream {
  protocol_version version{};
  std::vector<packet> packets;
  std::vector<std::byte> bytes;
  std::vector<std::size_t> ends;
};

stream build(protocol_version v, std::vector<packet> packets) {
  stream s{v, std::move(packets), {}, {}};
  for (const auto& p : s.packets) {
    auto b = try_encode(p, v);
    REQUIRE_MESSAGE(b, "cannot encode sample ", describe(p, v));
    s.bytes.insert(s.bytes.end(), b->begin(), b->end());
    s.ends.push_back(s.bytes.size());
  }
  return s;
}

// One packet of every kind the version has (two CONNECTs: with and without a Will), plus a few
// random ones, from a fixed seed.
std::vector<packet> every_kind(protocol_version v, packet_store& store, std::uint64_t seed) {
  packet_generator gen(seed, store);
  std::vector<packet> out;
  const unsigned last = v == protocol_version::v5 ? 15 : 14;
  for (unsigned t = 1; t <= last; ++t) out.push_back(gen.make(static_cast<packet_type>(t), v));
  connect c;
  c.version = v;
  c.client_id = "tern";
  c.will = will_message{"last/will", as_bytes("gone"), qos::exactly_once, true, {}};
  out.push_back(c);
  for (int i = 0; i < 8; ++i) {
    packet p = gen.make_any(v);
    if (type_of(p) != packet_type::connect) out.push_back(p);
  }
  return out;
}

// Feeds `s` to `d` cut at `cuts` (sorted positions inside the stream); every packet must come
// out equal to the one encoded, in order, as soon as its last byte arrives. Returns "" or the
// first problem.
std::string feed(decoder& d, const stream& s, const std::vector<std::size_t>& cuts) {
  const std::uint64_t base = d.stream_offset();
  std::size_t decoded = 0;
  std::size_t start = 0;
  for (std::size_t k = 0; k <= cuts.size(); ++k) {
    const std::size_t end = k < cuts.size() ? cuts[k] : s.bytes.size();
    bytes_view in(s.bytes.data() + start, end - start);
    while (!in.empty()) {
      auto r = d.next(in);
      if (!r)
        return "error " + std::string(name(r.error().code)) + " at offset " +
               std::to_string(r.error().offset) + " of the packet at " +
               std::to_string(d.packet_offset() - base);
      if (!*r) {
        if (!in.empty()) return "std::nullopt returned with input left";
        break;
      }
      if (decoded == s.packets.size()) return "more packets than were encoded";
      if (!(**r == s.packets[decoded]))
        return "packet " + std::to_string(decoded) + " differs:\n  got      " +
               describe(**r, s.version) + "\n  expected " +
               describe(s.packets[decoded], s.version);
      const std::size_t begin = decoded ? s.ends[decoded - 1] : 0;
      if (d.stream_offset() - base != s.ends[decoded] || d.packet_offset() - base != begin)
        return "packet " + std::to_string(decoded) + ": stream_offset " +
               std::to_string(d.stream_offset() - base) + " packet_offset " +
               std::to_string(d.packet_offset() - base) + ", expected " +
               std::to_string(s.ends[decoded]) + " and " + std::to_string(begin);
      if (in.size() != end - s.ends[decoded])
        return "next() consumed bytes past the end of its packet";
      ++decoded;
    }
    start = end;
  }
  if (decoded != s.packets.size())
    return "only " + std::to_string(decoded) + " of " + std::to_string(s.packets.size()) +
           " packets decoded";
  if (d.buffered() != 0) return "bytes left buffered at the end";
  if (d.stream_offset() - base != s.bytes.size()) return "stream_offset() != bytes fed";
  return {};
}

std::string feed_fresh(const stream& s, const std::vector<std::size_t>& cuts,
                       std::pmr::memory_resource* memory = std::pmr::get_default_resource()) {
  decoder d({s.version, sender::any}, memory);
  return feed(d, s, cuts);
}

std::vector<std::size_t> every_byte(std::size_t n) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

std::vector<std::size_t> random_cuts(std::mt19937& rng, std::size_t n, std::size_t max_chunk) {
  std::vector<std::size_t> cuts;
  std::uniform_int_distribution<std::size_t> chunk(1, max_chunk);
  for (std::size_t at = chunk(rng); at < n; at += chunk(rng)) cuts.push_back(at);
  return cuts;
}

void check_split_equivalence(const stream& s, bool every_two_way) {
  INFO("stream of ", s.packets.size(), " packets, ", s.bytes.size(), " bytes, MQTT ",
       to_string(s.version));
  {
    INFO("fed whole");
    CHECK(feed_fresh(s, {}) == "");
  }
  {
    INFO("fed one byte at a time");
    CHECK(feed_fresh(s, every_byte(s.bytes.size())) == "");
  }
  // Two-way splits: every position, or every position near a packet boundary plus a stride.
  std::vector<std::size_t> positions;
  for (std::size_t i = 1; i < s.bytes.size(); ++i) {
    bool near = every_two_way || i % 509 == 0;
    for (std::size_t e : s.ends) near = near || (i + 8 > e && i < e + 8);
    if (near) positions.push_back(i);
  }
  for (std::size_t at : positions) {
    const auto problem = feed_fresh(s, {at});
    if (!problem.empty()) {
      INFO("split in two at byte ", at);
      CHECK(problem == "");
      break;
    }
  }
  std::mt19937 rng(20240611);
  for (int i = 0; i < 120; ++i) {
    const std::size_t max_chunk = i % 3 == 0 ? 7 : i % 3 == 1 ? 300 : 20000;
    const auto cuts = random_cuts(rng, s.bytes.size(), max_chunk);
    const auto problem = feed_fresh(s, cuts);
    if (!problem.empty()) {
      INFO("random split ", i, " (std::mt19937 seed 20240611), ", cuts.size() + 1, " chunks");
      CHECK(problem == "");
      break;
    }
  }
}

publish big_publish(packet_store& store, std::size_t payload_size, qos q) {
  std::string payload(payload_size, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + 7);
  publish p;
  p.topic = "big/payload";
  p.payload = store.keep_bytes(std::move(payload));
  p.q = q;
  p.packet_id = q == qos::at_most_once ? 0 : 4242;
  return p;
}

bool points_into(const void* p, const std::vector<std::byte>& buf) {
  const auto* b = static_cast<const std::byte*>(p);
  return b >= buf.data() && b < buf.data() + buf.size();
}

}  // namespace

TEST_CASE("decoder: every kind, MQTT 3.1.1, any split gives the same packets") {
  packet_store store;
  const auto s = build(protocol_version::v3_1_1, every_kind(protocol_version::v3_1_1, store, 11));
  check_split_equivalence(s, true);
}

TEST_CASE("decoder: every kind, MQTT 5.0, any split gives the same packets") {
  packet_store store;
  const auto s = build(protocol_version::v5, every_kind(protocol_version::v5, store, 12));
  check_split_equivalence(s, true);
}

TEST_CASE("decoder: ~70 KiB packets (3-byte Remaining Length) in any split") {
  for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    packet_store store;
    std::vector<packet> ps;
    connack ack;
    ps.push_back(ack);
    ps.push_back(big_publish(store, 70 * 1024, qos::at_most_once));
    puback pa;
    pa.packet_id = 1;
    ps.push_back(pa);
    publish two = big_publish(store, 71'000, qos::exactly_once);
    const property props[] = {property::user("size", "big"),
                              property::integer(property_id::message_expiry_interval, 30)};
    if (v == protocol_version::v5) two.props = props;
    ps.push_back(two);
    ps.push_back(pingresp{});
    const auto s = build(v, std::move(ps));
    // 1 type byte + 3 length bytes ahead of the first big body.
    auto f = decode_frame(bytes_view(s.bytes).subspan(s.ends[0]), {v, sender::any});
    REQUIRE(f);
    REQUIRE(*f);
    CHECK((**f).header_size == 4);
    check_split_equivalence(s, false);
  }
}

TEST_CASE("decoder: a 2 MiB packet (4-byte Remaining Length) in random splits") {
  packet_store store;
  const auto s = build(protocol_version::v5,
                       {pingresp{}, big_publish(store, 2 * 1024 * 1024 + 3, qos::at_least_once),
                        pingresp{}});
  auto f = decode_frame(bytes_view(s.bytes).subspan(2), {protocol_version::v5, sender::any});
  REQUIRE(f);
  REQUIRE(*f);
  CHECK((**f).header_size == 5);
  CHECK(feed_fresh(s, {}) == "");
  std::mt19937 rng(7);
  for (int i = 0; i < 6; ++i) CHECK(feed_fresh(s, random_cuts(rng, s.bytes.size(), 70'000)) == "");
  CHECK(feed_fresh(s, {1, 2, 3, 4, 5, 6, 7, 8, s.bytes.size() - 3}) == "");
}

TEST_CASE("decoder: random packet streams in random splits") {
  for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
    for (std::uint64_t seed = 100; seed < 130; ++seed) {
      INFO("generator seed ", seed);
      packet_store store;
      packet_generator gen(seed, store);
      std::vector<packet> ps;
      for (int i = 0; i < 12; ++i) ps.push_back(gen.make_any(v));
      // A CONNECT in the middle of a client-side stream is fine for sender::any; keep its
      // version equal to the stream's so a version switch cannot matter.
      const auto s = build(v, std::move(ps));
      std::mt19937 rng(static_cast<std::uint32_t>(seed));
      CHECK(feed_fresh(s, {}) == "");
      CHECK(feed_fresh(s, random_cuts(rng, s.bytes.size(), 5)) == "");
      CHECK(feed_fresh(s, random_cuts(rng, s.bytes.size(), 200)) == "");
    }
  }
}

TEST_CASE("decoder: packets held whole in the input are not copied (zero-copy)") {
  packet_store store;
  std::vector<packet> ps;
  const property props[] = {property::user("k", "v"),
                            property::string(property_id::content_type, "bytes")};
  publish with_props = big_publish(store, 100, qos::at_most_once);
  with_props.props = props;
  ps.push_back(with_props);
  ps.push_back(big_publish(store, 70'000, qos::at_least_once));
  ps.push_back(pingresp{});
  ps.push_back(big_publish(store, 3, qos::exactly_once));
  const auto s = build(protocol_version::v5, std::move(ps));

  decoder d({protocol_version::v5, sender::server});
  bytes_view in(s.bytes);
  int publishes = 0;
  while (!in.empty()) {
    auto r = d.next(in);
    REQUIRE(r);
    REQUIRE(*r);
    if (auto* p = std::get_if<publish>(&**r)) {
      ++publishes;
      CHECK(points_into(p->payload.data(), s.bytes));
      CHECK(points_into(p->topic.data(), s.bytes));
      if (publishes == 1) {
        CHECK(p->props.is_wire());
        CHECK(points_into(p->props.wire().data(), s.bytes));
        CHECK(p->props.size() == 2);
      }
    }
  }
  CHECK(publishes == 3);

  // decode_packet too.
  std::size_t consumed = 0;
  auto r = decode_packet(s.bytes, {protocol_version::v5, sender::server}, consumed);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(consumed == s.ends[0]);
  CHECK(points_into(std::get<publish>(**r).payload.data(), s.bytes));

  // A packet completed from a split input is in the decoder's buffer, not the caller's.
  decoder d2({protocol_version::v5, sender::server});
  std::vector<std::byte> first(s.bytes.begin(), s.bytes.begin() + 10);
  std::vector<std::byte> rest(s.bytes.begin() + 10, s.bytes.begin() + s.ends[0]);
  bytes_view a(first), b(rest);
  REQUIRE(d2.next(a));
  auto r2 = d2.next(b);
  REQUIRE(r2);
  REQUIRE(*r2);
  const auto& p2 = std::get<publish>(**r2);
  CHECK_FALSE(points_into(p2.payload.data(), rest));
  CHECK(**r2 == s.packets[0]);
}

TEST_CASE("decoder: Maximum Packet Size is checked from the fixed header, before the body") {
  counting_resource mem;
  // 0x30, Remaining Length 1000: a 1003-byte PUBLISH against a limit of 100.
  for (const auto& header : {hex("30 e8 07"), hex("30 ff ff ff 7f"), hex("32 80 80 01")}) {
    INFO("header ", tern::test::to_hex(header));
    decoder d({protocol_version::v5, sender::server, 100}, &mem);
    bytes_view in(header);
    auto r = d.next(in);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == decode_errc::packet_too_large);
    CHECK(to_reason_code(r.error().code) == reason_code::packet_too_large);
    CHECK(d.failed());
    CHECK(mem.allocations() == 0);

    // Byte by byte: the error comes with the last length byte, still nothing allocated.
    decoder d1({protocol_version::v5, sender::server, 100}, &mem);
    for (std::size_t i = 0; i < header.size(); ++i) {
      bytes_view one(&header[i], 1);
      auto r1 = d1.next(one);
      if (i + 1 < header.size()) {
        REQUIRE(r1);
        CHECK_FALSE(*r1);
      } else {
        REQUIRE_FALSE(r1);
        CHECK(r1.error().code == decode_errc::packet_too_large);
      }
    }
    CHECK(mem.allocations() == 0);

    auto f = decode_frame(header, {protocol_version::v5, sender::server, 100});
    REQUIRE_FALSE(f);
    CHECK(f.error().code == decode_errc::packet_too_large);
  }
}

TEST_CASE("decoder: the limit counts the whole packet, fixed header included") {
  // PUBLISH "a" with 5 payload bytes: 2 + 3 + 5 = 10 bytes.
  const auto bytes = hex("30 08 00 01 61 00 01 02 03 04");
  for (std::uint32_t limit : {10u, 11u, 1000u}) {
    decoder d({protocol_version::v3_1_1, sender::server, limit});
    bytes_view in(bytes);
    auto r = d.next(in);
    INFO("limit ", limit);
    REQUIRE(r);
    CHECK(*r);
  }
  decoder d({protocol_version::v3_1_1, sender::server, 9});
  bytes_view in(bytes);
  auto r = d.next(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == decode_errc::packet_too_large);
  std::size_t consumed = 0;
  auto r2 = decode_packet(bytes, {protocol_version::v3_1_1, sender::server, 9}, consumed);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == decode_errc::packet_too_large);
}

TEST_CASE("decode_frame: incomplete headers ask for more, complete ones report sizes") {
  const decoder_options o{protocol_version::v5, sender::any};
  for (const auto& partial : {hex(""), hex("30"), hex("30 80"), hex("30 ff ff"), hex("30 ff ff ff")}) {
    auto f = decode_frame(partial, o);
    REQUIRE(f);
    CHECK_FALSE(*f);
  }
  struct {
    const char* bytes;
    packet_type type;
    std::uint8_t flags;
    std::uint8_t header_size;
    std::uint32_t remaining;
  } const cases[] = {
      {"d0 00", packet_type::pingresp, 0, 2, 0},
      {"3b 7f", packet_type::publish, 0xb, 2, 127},
      {"62 80 01", packet_type::pubrel, 2, 3, 128},
      {"30 ff 7f", packet_type::publish, 0, 3, 16'383},
      {"30 80 80 01", packet_type::publish, 0, 4, 16'384},
      {"30 ff ff 7f", packet_type::publish, 0, 4, 2'097'151},
      {"30 80 80 80 01", packet_type::publish, 0, 5, 2'097'152},
      {"30 ff ff ff 7f", packet_type::publish, 0, 5, 268'435'455},
  };
  for (const auto& c : cases) {
    INFO(c.bytes);
    auto f = decode_frame(hex(c.bytes), o);
    REQUIRE(f);
    REQUIRE(*f);
    CHECK((**f).type == c.type);
    CHECK((**f).flags == c.flags);
    CHECK((**f).header_size == c.header_size);
    CHECK((**f).remaining_length == c.remaining);
    CHECK((**f).size() == c.header_size + c.remaining);
  }
  // decode_packet wants the whole body.
  std::size_t consumed = 99;
  auto r = decode_packet(hex("30 05 00 01 61"), o, consumed);
  REQUIRE(r);
  CHECK_FALSE(*r);
}

TEST_CASE("decoder: a failure is sticky until reset()") {
  counting_resource mem;
  decoder d({protocol_version::v5, sender::server}, &mem);
  auto bad = hex("d0 00  00 00");  // PINGRESP, then packet type 0
  bytes_view in(bad);
  auto r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  auto e = d.next(in);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == decode_errc::reserved_packet_type);
  CHECK(e.error().offset == 0);
  CHECK(d.failed());
  CHECK(d.packet_offset() == 2);

  // Valid bytes do not revive it: the same error again, whatever is fed.
  const auto good = hex("d0 00");
  for (int i = 0; i < 3; ++i) {
    bytes_view g(good);
    auto again = d.next(g);
    REQUIRE_FALSE(again);
    CHECK(again.error() == e.error());
    CHECK(d.failed());
  }
  bytes_view empty;
  auto again = d.next(empty);
  REQUIRE_FALSE(again);
  CHECK(again.error() == e.error());

  d.reset();
  CHECK_FALSE(d.failed());
  CHECK(d.stream_offset() == 0);
  CHECK(d.buffered() == 0);
  bytes_view g(good);
  auto ok = d.next(g);
  REQUIRE(ok);
  REQUIRE(*ok);
  CHECK(std::holds_alternative<pingresp>(**ok));
  CHECK(d.stream_offset() == 2);
}

TEST_CASE("decoder: reset() forgets a partial packet") {
  decoder d({protocol_version::v3_1_1, sender::server});
  auto part = hex("30 08 00 01 61");  // 5 of 10 bytes
  bytes_view in(part);
  auto r = d.next(in);
  REQUIRE(r);
  CHECK_FALSE(*r);
  CHECK(d.buffered() == 5);
  d.reset();
  CHECK(d.buffered() == 0);
  auto whole = hex("40 02 00 07");
  bytes_view w(whole);
  auto r2 = d.next(w);
  REQUIRE(r2);
  REQUIRE(*r2);
  REQUIRE(std::holds_alternative<puback>(**r2));
  CHECK(std::get<puback>(**r2).packet_id == 7);
}

TEST_CASE("decoder: packet_offset() and stream_offset() across packets and splits") {
  decoder d({protocol_version::v3_1_1, sender::server});
  // PINGRESP (2), PUBACK (4), PUBLISH (10), then PUBREL with bad flags 0x60 (must be 0x62).
  auto bytes = hex("d0 00  40 02 00 01  30 08 00 01 61 00 01 02 03 04  60 02 00 01");
  bytes_view none;
  auto nothing = d.next(none);  // no input: nothing happens
  REQUIRE(nothing);
  CHECK_FALSE(*nothing);
  CHECK(d.stream_offset() == 0);
  bytes_view in(bytes.data(), 2);
  REQUIRE(d.next(in));
  CHECK(d.packet_offset() == 0);
  CHECK(d.stream_offset() == 2);
  none = {};
  nothing = d.next(none);
  REQUIRE(nothing);
  CHECK_FALSE(*nothing);
  CHECK(d.stream_offset() == 2);
  CHECK(d.buffered() == 0);
  in = bytes_view(bytes.data() + 2, 5);  // the PUBACK and one byte of the PUBLISH
  auto r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(d.packet_offset() == 2);
  CHECK(d.stream_offset() == 6);
  CHECK(in.size() == 1);
  r = d.next(in);
  REQUIRE(r);
  CHECK_FALSE(*r);
  CHECK(d.packet_offset() == 6);
  CHECK(d.stream_offset() == 7);
  CHECK(d.buffered() == 1);
  in = bytes_view(bytes.data() + 7, bytes.size() - 7);
  r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(d.packet_offset() == 6);
  CHECK(d.stream_offset() == 16);
  CHECK(d.buffered() == 0);
  auto e = d.next(in);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == decode_errc::invalid_fixed_header_flags);
  CHECK(e.error().offset == 0);
  CHECK(d.packet_offset() == 16);
}

TEST_CASE("decoder: set_version() and set_maximum_packet_size()") {
  // PUBLISH "a": in 3.1.1 the payload is 00 78 79; in 5.0 00 is an empty Property Length.
  const auto bytes = hex("30 06 00 01 61 00 78 79");
  decoder d({protocol_version::v3_1_1, sender::server});
  CHECK(d.options().version == protocol_version::v3_1_1);
  bytes_view in(bytes);
  auto r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(std::get<publish>(**r).payload.size() == 3);

  d.set_version(protocol_version::v5);
  CHECK(d.options().version == protocol_version::v5);
  in = bytes_view(bytes);
  r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(as_chars(std::get<publish>(**r).payload) == "xy");

  // AUTH exists only in 5.0.
  const auto auth_bytes = hex("f0 00");
  in = bytes_view(auth_bytes);
  r = d.next(in);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(std::holds_alternative<auth>(**r));
  d.set_version(protocol_version::v3_1_1);
  in = bytes_view(auth_bytes);
  r = d.next(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == decode_errc::reserved_packet_type);

  decoder m({protocol_version::v5, sender::server});
  m.set_maximum_packet_size(7);
  CHECK(m.options().maximum_packet_size == 7);
  in = bytes_view(bytes);
  r = m.next(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == decode_errc::packet_too_large);
  m.reset();
  m.set_maximum_packet_size(8);
  in = bytes_view(bytes);
  r = m.next(in);
  REQUIRE(r);
  CHECK(*r);
}

TEST_CASE("decoder: a server-side decoder switches to the CONNECT's version") {
  packet_store store;
  for (const auto& versions : {std::pair{protocol_version::v5, protocol_version::v3_1_1},
                               std::pair{protocol_version::v3_1_1, protocol_version::v5},
                               std::pair{protocol_version::v5, protocol_version::v3_1}}) {
    const protocol_version from = versions.first;
    const protocol_version to = versions.second;
    INFO("decoder starts at ", to_string(from), ", client speaks ", to_string(to));
    connect c;
    c.version = to;
    c.client_id = "srv-test";
    const property cprops[] = {property::integer(property_id::receive_maximum, 10)};
    if (to == protocol_version::v5) c.props = cprops;
    publish p;
    p.topic = "x/y";
    p.payload = as_bytes("abc");
    p.q = qos::at_least_once;
    p.packet_id = 9;
    const property pprops[] = {property::user("u", "v")};
    if (to == protocol_version::v5) p.props = pprops;
    const auto stream_version = to == protocol_version::v3_1 ? protocol_version::v3_1_1 : to;
    auto cb = try_encode(c, to);
    auto pb = try_encode(p, stream_version);
    REQUIRE(cb);
    REQUIRE(pb);
    std::vector<std::byte> all = *cb;
    all.insert(all.end(), pb->begin(), pb->end());

    for (bool split : {false, true}) {
      decoder d({from, sender::client});
      bytes_view in(all.data(), split ? cb->size() - 1 : all.size());
      auto r = d.next(in);
      if (split) {
        REQUIRE(r);
        CHECK_FALSE(*r);
        in = bytes_view(all.data() + cb->size() - 1, all.size() - cb->size() + 1);
        r = d.next(in);
      }
      REQUIRE(r);
      REQUIRE(*r);
      CHECK(**r == packet(c));
      CHECK(d.options().version == to);
      auto r2 = d.next(in);
      REQUIRE(r2);
      REQUIRE(*r2);
      CHECK(**r2 == packet(p));
    }
  }
  // And it takes only what a client sends.
  decoder d({protocol_version::v5, sender::client});
  auto connack_bytes = hex("20 03 00 00 00");
  bytes_view in(connack_bytes);
  auto r = d.next(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == decode_errc::unexpected_packet);
  decoder cl({protocol_version::v5, sender::server});
  auto connect_bytes = *try_encode(connect{}, protocol_version::v5);
  in = bytes_view(connect_bytes);
  r = cl.next(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == decode_errc::unexpected_packet);
}

TEST_CASE("decoder: moving a decoder mid-packet keeps its state") {
  packet_store store;
  counting_resource mem;
  const auto s = build(protocol_version::v5,
                       {big_publish(store, 5000, qos::at_least_once), pingresp{}});
  const std::size_t cut = 1234;
  decoder a({protocol_version::v5, sender::server, 100'000}, &mem);
  bytes_view in(s.bytes.data(), cut);
  auto r = a.next(in);
  REQUIRE(r);
  REQUIRE_FALSE(*r);
  CHECK(a.buffered() == cut);

  SUBCASE("move construction") {
    decoder b(std::move(a));
    CHECK(b.buffered() == cut);
    CHECK(b.stream_offset() == cut);
    CHECK(b.options().maximum_packet_size == 100'000);
    bytes_view rest(s.bytes.data() + cut, s.bytes.size() - cut);
    auto r2 = b.next(rest);
    REQUIRE(r2);
    REQUIRE(*r2);
    CHECK(**r2 == s.packets[0]);
    auto r3 = b.next(rest);
    REQUIRE(r3);
    REQUIRE(*r3);
    CHECK(std::holds_alternative<pingresp>(**r3));
  }
  SUBCASE("move assignment over a decoder holding its own partial packet") {
    decoder b({protocol_version::v3_1_1, sender::server}, &mem);
    auto other = hex("30 7f 00 01 61");
    bytes_view o(other);
    REQUIRE(b.next(o));
    b = std::move(a);
    CHECK(b.buffered() == cut);
    CHECK(b.options().version == protocol_version::v5);
    bytes_view rest(s.bytes.data() + cut, s.bytes.size() - cut);
    auto r2 = b.next(rest);
    REQUIRE(r2);
    REQUIRE(*r2);
    CHECK(**r2 == s.packets[0]);
  }
  // Whatever the moves did, every block went back.
  CHECK(mem.bytes_in_use() == 0);
  CHECK(mem.allocations() == mem.deallocations());
  CHECK(mem.bad_deallocations() == 0);
}

TEST_CASE("decoder: shrink() returns the body buffer; the destructor frees everything") {
  packet_store store;
  counting_resource mem;
  const auto s = build(protocol_version::v3_1_1, {big_publish(store, 3000, qos::at_most_once)});
  {
    decoder d({protocol_version::v3_1_1, sender::server}, &mem);
    CHECK(feed(d, s, {100}) == "");
    CHECK(mem.bytes_in_use() > 0);  // the buffer is kept for the next split packet
    const auto before = mem.allocations();
    CHECK(feed(d, s, {100}) == "");
    CHECK(mem.allocations() == before);  // reused, not reallocated
    d.shrink();
    CHECK(mem.bytes_in_use() == 0);
    CHECK(feed(d, s, {100}) == "");  // still works after shrinking
    CHECK(mem.allocations() > before);
    CHECK(mem.bytes_in_use() > 0);
  }
  CHECK(mem.bytes_in_use() == 0);
  CHECK(mem.allocations() == mem.deallocations());
  CHECK(mem.bad_deallocations() == 0);
}
