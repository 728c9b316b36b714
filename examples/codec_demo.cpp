// A tour of the Tern codec: encode a CONNECT, a PUBLISH with MQTT 5 properties and a
// SUBSCRIBE, show their bytes, feed them back through the stream decoder one byte at a time,
// and show how a malformed packet is rejected with its reason and MQTT 5 reason code.
#include <fmt/core.h>

#include <array>
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "tern/tern.hpp"

namespace {

std::string hex(tern::bytes_view b) {
  std::string s;
  for (std::byte x : b) s += fmt::format("{:02x} ", static_cast<unsigned>(x));
  if (!s.empty()) s.pop_back();
  return s;
}

void print_properties(const tern::properties& props) {
  for (const tern::property p : props) {
    switch (tern::type_of(p.id)) {
      case tern::property_type::utf8_string:
        fmt::print("      {} = \"{}\"\n", tern::name(p.id), p.text);
        break;
      case tern::property_type::binary_data:
        fmt::print("      {} = [{}]\n", tern::name(p.id), hex(p.binary()));
        break;
      case tern::property_type::utf8_string_pair:
        fmt::print("      {} = \"{}\": \"{}\"\n", tern::name(p.id), p.text, p.value);
        break;
      default: fmt::print("      {} = {}\n", tern::name(p.id), p.number); break;
    }
  }
}

void print_packet(const tern::packet& pkt) {
  fmt::print("  {}", tern::to_string(tern::type_of(pkt)));
  if (const auto* c = std::get_if<tern::connect>(&pkt)) {
    fmt::print(" MQTT {} client_id=\"{}\" keep_alive={} clean_start={}\n",
               tern::to_string(c->version), c->client_id, c->keep_alive, c->clean_start);
    if (c->username) fmt::print("    username=\"{}\" (password {})\n", *c->username,
                                c->password ? "present" : "absent");
    if (c->will)
      fmt::print("    will topic=\"{}\" qos={} retain={} payload=\"{}\"\n", c->will->topic,
                 static_cast<int>(c->will->q), c->will->retain, tern::as_chars(c->will->payload));
    print_properties(c->props);
  } else if (const auto* p = std::get_if<tern::publish>(&pkt)) {
    fmt::print(" topic=\"{}\" qos={} retain={} dup={} packet_id={} payload=\"{}\"\n", p->topic,
               static_cast<int>(p->q), p->retain, p->dup, p->packet_id,
               tern::as_chars(p->payload));
    print_properties(p->props);
  } else if (const auto* s = std::get_if<tern::subscribe>(&pkt)) {
    fmt::print(" packet_id={}\n", s->packet_id);
    for (const tern::subscription e : s->subscriptions)
      fmt::print("    filter=\"{}\" max_qos={} no_local={} retain_handling={}\n", e.filter,
                 static_cast<int>(e.options.max_qos), e.options.no_local,
                 static_cast<int>(e.options.retain));
    print_properties(s->props);
  } else {
    fmt::print("\n");
  }
}

}  // namespace

int main() {
  using namespace tern;
  constexpr auto v5 = protocol_version::v5;

  const std::array connect_props = {
      property::integer(property_id::session_expiry_interval, 3600),
      property::integer(property_id::receive_maximum, 100),
      property::user("app", "codec-demo"),
  };
  connect hello;
  hello.client_id = "tern-demo";
  hello.keep_alive = 30;
  hello.username = "alice";
  hello.password = as_bytes("secret");
  hello.will = will_message{"demo/status", as_bytes("offline"), qos::at_least_once, true, {}};
  hello.props = connect_props;

  const std::array publish_props = {
      property::integer(property_id::message_expiry_interval, 60),
      property::string(property_id::content_type, "text/plain"),
      property::user("trace", "42"),
  };
  publish msg;
  msg.topic = "sensors/kitchen/temperature";
  msg.payload = as_bytes("21.5");
  msg.q = qos::exactly_once;
  msg.packet_id = 1;
  msg.props = publish_props;

  const std::array filters = {
      subscription{"sensors/+/temperature", {qos::at_least_once}},
      subscription{"$share/workers/jobs/#", {qos::exactly_once}},
  };
  subscribe sub;
  sub.packet_id = 2;
  sub.subscriptions = filters;

  fmt::print("== Encoding (MQTT 5.0)\n");
  std::vector<std::byte> stream;
  for (const packet& p : {packet{hello}, packet{msg}, packet{sub}}) {
    auto size = measure(p, v5);
    if (!size) {
      fmt::print("cannot encode: {}\n", to_string(size.error()));
      return 1;
    }
    std::vector<std::byte> bytes(size->total);
    write(p, v5, *size, bytes.data());
    fmt::print("  {:<10} {:>3} bytes: {}\n", to_string(type_of(p)), bytes.size(), hex(bytes));
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  }

  fmt::print("\n== Decoding the stream one byte at a time (as a broker would read it)\n");
  decoder reader({v5, sender::client});
  int decoded = 0;
  for (std::byte b : stream) {
    bytes_view in{&b, 1};
    auto r = reader.next(in);
    if (!r) {
      fmt::print("decode error: {}\n", to_string(r.error().code));
      return 1;
    }
    if (*r) {
      print_packet(**r);
      ++decoded;
    }
  }

  fmt::print("\n== Rejecting a malformed packet\n");
  // A QoS 0 PUBLISH whose topic length claims 200 bytes but the packet has 5 (CVE-2019-17210).
  const std::array<std::byte, 7> bad = {std::byte{0x30}, std::byte{0x05}, std::byte{0x00},
                                        std::byte{0xC8}, std::byte{'a'},  std::byte{'/'},
                                        std::byte{'b'}};
  std::size_t used = 0;
  auto r = decode_packet(bad, {v5, sender::server}, used);
  if (r) {
    fmt::print("unexpectedly accepted\n");
    return 1;
  }
  fmt::print("  bytes: {}\n  error: {} at byte {} -> reason code 0x{:02X} ({})\n", hex(bad),
             to_string(r.error().code), r.error().offset,
             static_cast<unsigned>(to_reason_code(r.error().code)),
             describe(to_reason_code(r.error().code), packet_type::disconnect));

  fmt::print("\n== Topic matching\n");
  for (auto [filter, topic] : {std::pair{"sensors/+/temperature", "sensors/kitchen/temperature"},
                               std::pair{"sport/#", "sport"},
                               std::pair{"#", "$SYS/broker/uptime"},
                               std::pair{"$share/g/a/+", "a/b"}})
    fmt::print("  {:<24} {:<30} {}\n", filter, topic,
               topic_matches_sub(filter, topic) ? "matches" : "no match");

  return decoded == 3 ? 0 : 1;
}
