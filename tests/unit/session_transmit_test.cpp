// The output side of the API: poll_transmit() slices (small packets coalesced, stored messages
// as views), partial writes at any byte, a QoS 0 message reported sent only once written, the
// drain order of session.hpp (the application may publish while draining events), and the
// session's states and names.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>

#include "support/counting_resource.hpp"
#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config tx_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

std::size_t slice_count(const tern::session& s, std::span<bytes_view> slices) {
  return s.poll_transmit(slices);
}
}  // namespace

TEST_CASE("transmit: small packets share a slice; a stored message is a view of its own") {
  const v version = each_version();
  session_peer p(tx_config(version));
  (void)p.connect_with();
  p.blocked = true;
  for (int i = 0; i < 3; ++i) (void)p.publish("t", "small");
  std::array<bytes_view, 8> slices{};
  CHECK(slice_count(p.s, slices) == 1);
  CHECK(slices[0].size() == p.s.transmit_size());
  const std::string big(100'000, 'B');
  (void)p.publish("t", big, qos::at_least_once);
  (void)p.publish("t", "after");
  const std::size_t n = slice_count(p.s, slices);
  REQUIRE(n == 3);
  CHECK(slices[1].size() > big.size());  // the whole stored PUBLISH, not copied into a run
  CHECK(slices[0].size() + slices[1].size() + slices[2].size() == p.s.transmit_size());
  // Fewer slots than slices: the front of the stream.
  std::array<bytes_view, 1> one{};
  CHECK(p.s.poll_transmit(one) == 1);
  CHECK(one[0].data() == slices[0].data());
  p.unblock();
  for (int i = 0; i < 3; ++i) (void)p.expect<tern::publish>();
  CHECK(p.expect<tern::publish>()->payload.size() == big.size());
  (void)p.expect<tern::publish>();
}

TEST_CASE("transmit: with a topic alias the payload still goes out as a view") {
  session_peer p(tx_config(v::v5));
  const std::array<property, 1> props{property::integer(property_id::topic_alias_maximum, 5)};
  tern::connack ack;
  ack.props = props;
  (void)p.connect_with(ack);
  p.blocked = true;
  const std::string big(50'000, 'B');
  (void)p.publish("some/topic", big, qos::at_least_once);
  std::array<bytes_view, 8> slices{};
  REQUIRE(slice_count(p.s, slices) == 2);  // rebuilt header, then the stored payload
  CHECK(slices[1].size() == big.size());
  p.unblock();
  const auto m = p.expect<tern::publish>();
  CHECK(m->props.number(property_id::topic_alias) == 1u);
  CHECK(m->payload.size() == big.size());
}

TEST_CASE("transmit: partial writes of any size give the same stream") {
  const v version = each_version();
  for (const std::size_t chunk :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{1000}}) {
    CAPTURE(chunk);
    session_peer p(tx_config(version));
    p.write_chunk = chunk;
    (void)p.connect_with();
    const message_id id = p.publish("a/b", "zero");
    (void)p.publish("a/b", std::string(300, 'x'), qos::at_least_once);
    (void)p.publish("c", "two", qos::exactly_once);
    const std::array<subscription, 1> subs{subscription{"s/#", {qos::at_least_once}}};
    (void)p.subscribe(subs);
    CHECK(str(p.expect<tern::publish>()->topic) == "a/b");
    CHECK(p.expect<tern::publish>()->payload.size() == 300);
    CHECK(p.expect<tern::publish>()->q == qos::exactly_once);
    (void)p.expect<tern::subscribe>();
    p.expect_nothing();
    CHECK(p.partial_bytes() == 0);
    CHECK(p.expect_event<ev_completed>().id == id);
  }
}

TEST_CASE("transmit: a QoS 0 message is reported sent when its last byte is written") {
  const v version = each_version();
  session_peer p(tx_config(version));
  (void)p.connect_with();
  p.blocked = true;
  const message_id id = p.publish("t", "0123456789");
  const std::size_t size = p.s.transmit_size();
  std::array<bytes_view, 4> slices{};
  (void)p.s.poll_transmit(slices);
  p.s.commit_transmit(size - 1, p.now);
  p.pump();
  p.expect_no_event();
  p.s.commit_transmit(1, p.now);
  p.pump();
  const auto done = p.expect_event<ev_completed>();
  CHECK(done.id == id);
  CHECK(done.outcome == publish_outcome::sent);
  CHECK(done.q == qos::at_most_once);
  CHECK(p.s.transmit_size() == 0);
  // Claiming more than was offered changes nothing more.
  p.s.commit_transmit(100, p.now);
  CHECK(p.s.transmit_size() == 0);
}

TEST_CASE(
    "transmit: what the application publishes while draining events joins the same "
    "write") {
  const v version = each_version();
  session_peer p(tx_config(version));
  int published = 0;
  p.on_event = [&](session_peer& peer, const owned_event& e) {
    if (std::holds_alternative<ev_connected>(e) || std::holds_alternative<ev_message>(e)) {
      (void)peer.s.publish(make_publish("reply", "x", qos::at_least_once), peer.now);
      ++published;
    }
  };
  p.start();
  (void)p.expect<tern::connect>();
  const std::size_t before = p.commits();
  std::vector<std::byte> both = encoded(tern::connack{}, version);
  const auto msg = encoded(make_publish("in", "x"), version);
  both.insert(both.end(), msg.begin(), msg.end());
  p.reply_bytes(both);
  CHECK(published == 2);
  CHECK(p.commits() == before + 1);  // one coalesced write for both replies
  (void)p.expect<tern::publish>();
  (void)p.expect<tern::publish>();
}

TEST_CASE("transmit: the states a session goes through") {
  const v version = each_version();
  session_peer p(tx_config(version));
  p.opening = open_mode::manual;
  CHECK(p.s.state() == session_state::idle);
  CHECK(to_string(p.s.state()) == "idle");
  p.start();
  CHECK(p.s.state() == session_state::opening);
  CHECK(p.actions().back().k == peer_action::kind::open);
  p.opened();
  CHECK(p.s.state() == session_state::connecting);
  (void)p.expect<tern::connect>();
  p.reply(tern::connack{});
  CHECK(p.s.state() == session_state::connected);
  CHECK(p.s.is_connected());
  p.auto_close = false;
  p.blocked = true;
  REQUIRE(p.s.disconnect(p.now).has_value());
  CHECK(p.s.state() == session_state::disconnecting);
  p.unblock();
  CHECK(p.actions().back().k == peer_action::kind::close);
  p.close();
  CHECK(p.s.state() == session_state::idle);
  CHECK(to_string(session_state::waiting) == "waiting");
  CHECK(to_string(disconnect_cause::keep_alive_timeout) == "keep-alive timeout");
  CHECK(to_string(publish_outcome::session_lost) == "session lost");
  CHECK(to_string(log_level::warning) == "warning");
}

TEST_CASE("transmit: a moved session carries on") {
  const v version = each_version();
  session_config c = tx_config(version);
  tern::session a(c);
  const time_point now = epoch;
  REQUIRE(a.connect(now).has_value());
  REQUIRE(a.poll_action().has_value());
  a.handle_transport_opened(now);
  tern::session b(std::move(a));
  CHECK(b.state() == session_state::connecting);
  CHECK(b.transmit_size() > 0);  // the CONNECT
  tern::session d(c);
  d = std::move(b);
  CHECK(d.state() == session_state::connecting);
  d.handle_bytes(encoded(tern::connack{}, version), now);
  CHECK(d.is_connected());
}

TEST_CASE("transmit: slices stay valid and unchanged until the commit, whatever happens") {
  const v version = each_version();
  tern::test::counting_resource r;
  session_config c = test_config(version);
  c.keep_alive = 0s;
  c.max_inflight = 1000;
  {
    session_peer p(c, &r);
    (void)p.connect_with();
    p.blocked = true;  // the test writes by hand from here
    (void)p.s.publish(make_publish("t", "first"), p.now);
    std::array<bytes_view, 16> slices{};
    std::size_t n = p.s.poll_transmit(slices);
    REQUIRE(n != 0);
    // What an asynchronous write is sending while the application goes on.
    std::vector<std::vector<std::byte>> copies;
    for (std::size_t i = 0; i < n; ++i) copies.emplace_back(slices[i].begin(), slices[i].end());
    const std::string payload(700, 'x');
    for (int i = 0; i < 300; ++i) {  // grows the transmit buffer well past its first capacity
      REQUIRE(p.s.publish(make_publish("t", payload, i % 2 ? qos::at_least_once : qos::at_most_once),
                          p.now));
      if (i % 50 == 0) {  // input handled meanwhile: its PUBACK joins the transmit buffer
        tern::publish in = make_publish("in", "m", qos::at_least_once);
        in.packet_id = static_cast<std::uint16_t>(i + 1);
        p.reply(in);
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(std::equal(slices[i].begin(), slices[i].end(), copies[i].begin(), copies[i].end()));
    }
    // The whole stream, written from the old slices first, decodes to every packet in order.
    std::size_t first = 0;
    for (std::size_t i = 0; i < n; ++i) first += slices[i].size();
    std::vector<std::byte> stream;
    for (std::size_t i = 0; i < n; ++i) stream.insert(stream.end(), slices[i].begin(), slices[i].end());
    p.s.commit_transmit(first, p.now);
    while (p.s.transmit_size() != 0) {
      n = p.s.poll_transmit(slices);
      std::size_t written = 0;
      for (std::size_t i = 0; i < n; ++i) {
        stream.insert(stream.end(), slices[i].begin(), slices[i].end());
        written += slices[i].size();
      }
      p.s.commit_transmit(written, p.now);
    }
    decoder d({version, sender::client});
    bytes_view in(stream);
    std::size_t publishes = 0;
    while (!in.empty()) {
      const auto next = d.next(in);
      REQUIRE(next.has_value());
      if (!*next) break;
      if (std::holds_alternative<tern::publish>(**next)) ++publishes;
    }
    CHECK(in.empty());
    CHECK(publishes == 301);
  }
  CHECK(r.bytes_in_use() == 0);
}
