// Protocol errors from the peer at every stage [MQTT 4.13]: malformed bytes or a protocol
// violation close the connection — in 5.0 after a DISCONNECT with the mapped reason code, in
// 3.1.1 by just closing — and the disconnected event carries the cause, the code and the
// decode_error. Nothing the broker sends after the fault is acted on.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config error_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

// The connection ended for `code` (and decode fault `fault`, when one is given).
void check_closed_for(session_peer& p, v version, reason_code code,
                      std::optional<decode_errc> fault, bool retried = true) {
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::protocol_error);
  CHECK(d.code == code);
  CHECK(d.error.has_value() == fault.has_value());
  if (fault && d.error) CHECK(d.error->code == *fault);
  CHECK(d.reconnect_at.has_value() == retried);  // a faulty broker may recover: retry
  if (version == v::v5) {
    const auto sent = p.expect<tern::disconnect>();
    CHECK(sent->code == code);
  }
  p.expect_nothing();
  CHECK(p.actions().back().k == peer_action::kind::close);
  CHECK(p.s.state() == (retried ? session_state::waiting : session_state::idle));
}

struct malformed {
  const char* what;
  const char* bytes;
  reason_code code;
  decode_errc fault;
  bool v5_only = false;
};

// Faults after CONNACK. Fixtures are valid in both versions unless marked.
const malformed connected_faults[] = {
    {"reserved packet type 0", "00 00", reason_code::malformed_packet,
     decode_errc::reserved_packet_type},
    {"PUBLISH with QoS 3", "36 03 00 01 74", reason_code::malformed_packet,
     decode_errc::invalid_qos},
    {"DUP on QoS 0", "38 03 00 01 74", reason_code::malformed_packet, decode_errc::dup_on_qos0},
    {"PUBREL with reserved flags 0000", "60 02 00 01", reason_code::malformed_packet,
     decode_errc::invalid_fixed_header_flags},
    {"a topic running past the packet", "30 03 00 05 74", reason_code::malformed_packet,
     decode_errc::truncated},
    {"a Remaining Length of five bytes", "30 ff ff ff ff 01", reason_code::malformed_packet,
     decode_errc::variable_integer_too_long},
    {"invalid UTF-8 in the topic", "30 04 00 02 c3 28", reason_code::malformed_packet,
     decode_errc::invalid_utf8},
    {"a wildcard in a PUBLISH topic", "30 04 00 02 61 23", reason_code::topic_name_invalid,
     decode_errc::topic_name_invalid},
    {"packet identifier 0 on QoS 1", "32 05 00 01 74 00 00", reason_code::protocol_error,
     decode_errc::zero_packet_id},
    {"a SUBSCRIBE from the server", "82 06 00 01 00 01 61 00", reason_code::protocol_error,
     decode_errc::unexpected_packet},
    {"an unknown property", "30 06 00 01 74 02 7f 00", reason_code::malformed_packet,
     decode_errc::unknown_property, true},
    {"a property repeated", "30 0a 00 01 74 06 01 00 01 01 00 00", reason_code::protocol_error,
     decode_errc::duplicate_property, true},
};
}  // namespace

TEST_CASE("protocol errors: malformed packets after CONNACK [MQTT 4.13.1]") {
  const v version = each_version();
  for (const malformed& m : connected_faults) {
    if (m.v5_only && version != v::v5) continue;
    CAPTURE(m.what);
    session_peer p(error_config(version));
    (void)p.connect_with();
    p.raw(m.bytes);
    check_closed_for(p, version, m.code, m.fault);
    p.expect_no_event();
  }
}

TEST_CASE("protocol errors: the same fault fed byte by byte and through receive_buffer") {
  const v version = each_version();
  const feed_mode f = each_feed();
  session_peer p(error_config(version));
  p.feed = f;
  (void)p.connect_with();
  p.raw("32 05 00 01 74 00 00  // QoS 1 PUBLISH with packet identifier 0");
  check_closed_for(p, version, reason_code::protocol_error, decode_errc::zero_packet_id);
}

TEST_CASE("protocol errors: the decode_error names the offending byte") {
  session_peer p(error_config(v::v5));
  (void)p.connect_with();
  p.raw(R"(
    30 07        // PUBLISH QoS 0
    00 02 61 62  // topic "ab"
    02           // property length 2
    01 05        // Payload Format Indicator 5 (only 0 and 1 exist)
  )");
  const auto d = p.expect_event<ev_disconnected>();
  REQUIRE(d.error);
  CHECK(d.error->code == decode_errc::invalid_property_value);
  CHECK(d.error->offset == 7);
  CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
}

TEST_CASE("protocol errors: while waiting for CONNACK") {
  const v version = each_version();
  SUBCASE("CONNACK with reserved flags") {
    session_peer p(error_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.raw("20 02 02 00  // CONNACK, reserved flag bit 1 set");
    check_closed_for(p, version, reason_code::malformed_packet, decode_errc::invalid_connack_flags,
                     false);  // a first attempt is not retried by default
  }
  SUBCASE("CONNACK truncated") {
    session_peer p(error_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.raw("20 01 00  // CONNACK with one byte of body");
    check_closed_for(p, version, reason_code::malformed_packet, decode_errc::truncated, false);
  }
  SUBCASE("a refusal with Session Present [MQTT-3.2.2-6]") {
    session_peer p(error_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.raw(version == v::v5 ? "20 03 01 87 00" : "20 02 01 05");
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    REQUIRE(d.error);
    CHECK(d.error->code == decode_errc::session_present_on_failure);
  }
}

TEST_CASE("protocol errors: 3.1.1 servers never send DISCONNECT or AUTH") {
  session_peer p(error_config(v::v3_1_1));
  (void)p.connect_with();
  SUBCASE("DISCONNECT") {
    p.raw("e0 00");
    check_closed_for(p, v::v3_1_1, reason_code::protocol_error, decode_errc::unexpected_packet);
  }
  SUBCASE("AUTH") {
    p.raw("f0 00");
    check_closed_for(p, v::v3_1_1, reason_code::malformed_packet,
                     decode_errc::reserved_packet_type);
  }
}

TEST_CASE("protocol errors: in the middle of a QoS 2 exchange") {
  const v version = each_version();
  session_peer p(error_config(version));
  (void)p.connect_with();
  (void)p.publish("t", "x", qos::exactly_once);
  const auto pub = p.expect<tern::publish>();
  tern::pubrec rec;
  rec.packet_id = pub->packet_id;
  p.reply(rec);
  (void)p.expect<tern::pubrel>();
  p.raw("70 01 00  // PUBCOMP cut short");
  check_closed_for(p, version, reason_code::malformed_packet, decode_errc::truncated);
  // The message survives for the next connection.
  CHECK(p.s.inflight() == 1);
  tern::connack resumed;
  resumed.session_present = true;
  (void)p.reconnect_with(resumed);
  CHECK(p.expect<tern::pubrel>()->packet_id == pub->packet_id);
}

TEST_CASE("protocol errors: packets before the fault count, packets after it do not") {
  const v version = each_version();
  session_peer p(error_config(version));
  p.blocked = false;
  (void)p.connect_with();
  tern::publish good = make_publish("t", "before", qos::at_least_once);
  good.packet_id = 1;
  std::vector<std::byte> bytes = encoded(good, version);
  const auto bad = hex("00 00  // reserved type");
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  good.packet_id = 2;
  const auto after = encoded(good, version);
  bytes.insert(bytes.end(), after.begin(), after.end());
  p.reply_bytes(bytes);
  CHECK(p.expect_event<ev_message>().packet_id == 1);
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.error->code == decode_errc::reserved_packet_type);
  p.expect_no_event();
  // The PUBACK for the first may or may not go out before the close (at least once: the
  // broker redelivers it); nothing answers the third.
  if (p.next_type() == packet_type::puback) CHECK(p.expect<tern::puback>()->packet_id == 1);
  if (version == v::v5) (void)p.expect<tern::disconnect>();
  p.expect_nothing();
}

TEST_CASE("protocol errors: bytes arriving before the close completes are ignored") {
  const v version = each_version();
  session_peer p(error_config(version));
  (void)p.connect_with();
  p.blocked = true;  // the DISCONNECT (5.0) cannot be written yet
  p.auto_close = false;
  p.raw("32 05 00 01 74 00 00  // packet identifier 0");
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
  tern::publish later = make_publish("t", "later", qos::at_least_once);
  later.packet_id = 5;
  p.reply(later);
  p.reply(tern::pingresp{});
  p.raw("00 00  // and more garbage");
  p.expect_no_event();  // not delivered, no second report
  p.unblock();
  if (version == v::v5) (void)p.expect<tern::disconnect>();
  p.expect_nothing();  // no PUBACK
}

TEST_CASE("protocol errors: violations that decode fine") {
  const v version = each_version();
  SUBCASE("PINGRESP before CONNACK") {
    session_peer p(error_config(version));
    p.start();
    (void)p.expect<tern::connect>();
    p.reply(tern::pingresp{});
    check_closed_for(p, version, reason_code::protocol_error, std::nullopt, false);
  }
  SUBCASE("AUTH with a Re-authenticate code from the server") {
    if (version == v::v5) {
      session_peer p(error_config(version));
      (void)p.connect_with();
      const std::array<property, 1> props{
          property::string(property_id::authentication_method, "M")};
      p.reply(tern::auth{reason_code::re_authenticate, props});
      check_closed_for(p, version, reason_code::protocol_error, std::nullopt);
    }
  }
}
