// fuzz_roundtrip: "the encoder only emits what the decoder accepts".
//
// The input drives a small reader (below) that builds one packet struct: kind, version, fields
// and properties, invalid choices included (QoS 3, wildcards in topic names, ill-formed UTF-8,
// reason codes of other packets, properties on the wrong packet or out of range, 5.0 options in
// 3.1.1, strings of 65,535 and 65,536 bytes, ...). Then:
//  * measure() may refuse with an errc: fine, but encode() must refuse with the same errc.
//  * if it accepts: write() into an exact-size buffer; decode_packet (sender::any, no size
//    limit) must accept all of it and return a packet equal to the struct; the decoded packet
//    satisfies the decoder's invariants; encoding it again gives identical bytes; and the
//    incremental decoder fed the bytes in three pieces returns the same packet.
// No normalisation is needed: the encoder refuses what it could not carry (a Packet Identifier
// on QoS 0, a reason code before 5.0, ...), so whatever it accepts must come back unchanged.
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

using namespace tern;

// Reads choices from the fuzz input; past the end every read returns 0 (the default choice).
class reader {
 public:
  reader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  bool flag() { return byte() & 1; }
  std::uint16_t u16() {  // big-endian; two statements fix the order of the reads
    const unsigned high = byte();
    return static_cast<std::uint16_t>(high << 8 | byte());
  }
  std::uint32_t u32() {
    const std::uint32_t high = u16();
    return high << 16 | u16();
  }
  // Up to `max` bytes taken from the input as they are.
  std::string_view raw(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(byte() % (max + 1), n_);
    const std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    n_ -= n;
    return s;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

// Stable storage for what the generated packet views.
struct arena {
  std::deque<std::string> strings;
  std::deque<std::vector<property>> props;
  std::deque<std::vector<subscription>> subs;
  std::deque<std::vector<std::string_view>> filters;
  std::deque<std::vector<reason_code>> codes;
  std::string_view keep(std::string s) { return strings.emplace_back(std::move(s)); }
};

constexpr std::string_view k_topic_tokens[] = {"a", "b", "/", "+", "#", "$share/", "$SYS", "g",
                                               "sport", "", "\xC3\xA9", "x/y"};

std::string_view gen_string(reader& r, arena& a) {
  switch (r.byte() % 8) {
    case 0:
    case 1:
    case 2: return r.raw(40);
    case 3: {  // printable ASCII made from input bytes
      std::string s(r.raw(40));
      for (char& c : s) c = static_cast<char>('!' + static_cast<unsigned char>(c) % 94);
      return a.keep(std::move(s));
    }
    case 4:
    case 5: {  // topic-like
      std::string s;
      for (unsigned n = r.byte() % 6; n > 0; --n) s += k_topic_tokens[r.byte() % 12];
      return a.keep(std::move(s));
    }
    case 6: {  // at and past the two-byte length limit
      const std::size_t n = max_string_size + (r.flag() ? 1 : 0);
      return a.keep(std::string(n, 'L'));
    }
    default: return {};
  }
}

bytes_view gen_bytes(reader& r, arena& a) { return as_bytes(gen_string(r, a)); }

std::uint32_t gen_number(reader& r) {
  static constexpr std::uint32_t special[] = {0,          1,          2,       255,
                                              256,        65'535,     65'536,  max_variable_integer,
                                              max_variable_integer + 1, 0xFFFF'FFFF};
  switch (r.byte() % 4) {
    case 0: return r.byte() % 3;
    case 1: return special[r.byte() % 10];
    case 2: return r.u16();
    default: return r.u32();
  }
}

constexpr property_id k_ids[] = {
    property_id::payload_format_indicator, property_id::message_expiry_interval,
    property_id::content_type, property_id::response_topic, property_id::correlation_data,
    property_id::subscription_identifier, property_id::session_expiry_interval,
    property_id::assigned_client_identifier, property_id::server_keep_alive,
    property_id::authentication_method, property_id::authentication_data,
    property_id::request_problem_information, property_id::will_delay_interval,
    property_id::request_response_information, property_id::response_information,
    property_id::server_reference, property_id::reason_string, property_id::receive_maximum,
    property_id::topic_alias_maximum, property_id::topic_alias, property_id::maximum_qos,
    property_id::retain_available, property_id::user_property, property_id::maximum_packet_size,
    property_id::wildcard_subscription_available,
    property_id::subscription_identifier_available, property_id::shared_subscription_available};

// Properties of the right wire shape for their identifier (or anything, for an unknown one).
properties gen_props(reader& r, arena& a) {
  const unsigned n = r.byte() % 8;
  if (n >= 5) return {};  // most packets carry none
  auto& list = a.props.emplace_back();
  for (unsigned i = 0; i < n; ++i) {
    const std::uint8_t pick = r.byte();
    const auto id = pick < 240 ? k_ids[pick % std::size(k_ids)] : static_cast<property_id>(r.byte());
    property p{id, 0, {}, {}};
    if (!is_known(id)) {
      p.number = gen_number(r);
      p.text = gen_string(r, a);
    } else {
      switch (type_of(id)) {
        case property_type::byte:
        case property_type::two_byte_integer:
        case property_type::four_byte_integer:
        case property_type::variable_byte_integer: p.number = gen_number(r); break;
        case property_type::utf8_string:
        case property_type::binary_data: p.text = gen_string(r, a); break;
        case property_type::utf8_string_pair:
          p.text = gen_string(r, a);
          p.value = gen_string(r, a);
          break;
      }
    }
    list.push_back(p);
  }
  return properties(std::span<const property>(list));
}

constexpr reason_code k_codes[] = {
    reason_code::success, reason_code::granted_qos_1, reason_code::granted_qos_2,
    reason_code::disconnect_with_will_message, reason_code::no_matching_subscribers,
    reason_code::no_subscription_existed, reason_code::continue_authentication,
    reason_code::re_authenticate, reason_code::unspecified_error, reason_code::malformed_packet,
    reason_code::protocol_error, reason_code::implementation_specific_error,
    reason_code::unsupported_protocol_version, reason_code::client_identifier_not_valid,
    reason_code::bad_user_name_or_password, reason_code::not_authorized,
    reason_code::topic_filter_invalid, reason_code::topic_name_invalid,
    reason_code::packet_identifier_in_use, reason_code::packet_identifier_not_found,
    reason_code::packet_too_large, reason_code::quota_exceeded, reason_code::server_moved,
    reason_code::wildcard_subscriptions_not_supported};

reason_code gen_code(reader& r) {
  const std::uint8_t b = r.byte();
  if (b < 128) return reason_code::success;
  if (b < 240) return k_codes[b % std::size(k_codes)];
  return static_cast<reason_code>(r.byte());
}

qos gen_qos(reader& r) { return static_cast<qos>(r.byte() % 4); }

std::uint16_t gen_packet_id(reader& r) {
  const std::uint8_t b = r.byte();
  return b < 8 ? static_cast<std::uint16_t>(b) : r.u16();
}

protocol_version gen_version(reader& r) {
  const std::uint8_t b = r.byte();
  if (b >= 250) return static_cast<protocol_version>(b - 250);  // 0..5: some invalid
  return static_cast<protocol_version>(3 + b % 3);
}

packet gen_packet(reader& r, arena& a, protocol_version& version) {
  const unsigned kind = 1 + r.byte() % 15;
  version = gen_version(r);
  switch (static_cast<packet_type>(kind)) {
    case packet_type::connect: {
      connect c;
      c.version = gen_version(r);
      c.clean_start = r.flag();
      c.keep_alive = r.u16();
      c.client_id = gen_string(r, a);
      const std::uint8_t f = r.byte();
      if (f & 1) c.username = gen_string(r, a);
      if (f & 2) c.password = gen_bytes(r, a);
      if (f & 4) {
        will_message w;
        w.topic = gen_string(r, a);
        w.payload = gen_bytes(r, a);
        w.q = gen_qos(r);
        w.retain = r.flag();
        w.props = gen_props(r, a);
        c.will = w;
      }
      c.props = gen_props(r, a);
      version = c.version;
      return c;
    }
    case packet_type::connack: {
      connack c;
      c.session_present = r.flag();
      c.code = gen_code(r);
      c.props = gen_props(r, a);
      return c;
    }
    case packet_type::publish: {
      publish p;
      p.topic = gen_string(r, a);
      p.payload = gen_bytes(r, a);
      const std::uint8_t f = r.byte();
      p.q = static_cast<qos>(f & 3);
      p.retain = f & 4;
      p.dup = f & 8;
      p.packet_id = gen_packet_id(r);
      p.props = gen_props(r, a);
      return p;
    }
    case packet_type::subscribe: {
      subscribe s;
      s.packet_id = gen_packet_id(r);
      auto& list = a.subs.emplace_back();
      for (unsigned n = r.byte() % 6; n > 0; --n) {
        subscription sub{gen_string(r, a), {}};
        const std::uint8_t o = r.byte();
        sub.options.max_qos = static_cast<qos>(o & 3);
        sub.options.no_local = o & 4;
        sub.options.retain_as_published = o & 8;
        sub.options.retain = static_cast<retain_handling>((o >> 4) & 3);
        list.push_back(sub);
      }
      s.subscriptions = subscription_list(std::span<const subscription>(list));
      s.props = gen_props(r, a);
      return s;
    }
    case packet_type::unsubscribe: {
      unsubscribe u;
      u.packet_id = gen_packet_id(r);
      auto& list = a.filters.emplace_back();
      for (unsigned n = r.byte() % 6; n > 0; --n) list.push_back(gen_string(r, a));
      u.filters = topic_filter_list(std::span<const std::string_view>(list));
      u.props = gen_props(r, a);
      return u;
    }
    case packet_type::suback:
    case packet_type::unsuback: {
      const std::uint16_t id = gen_packet_id(r);
      auto& list = a.codes.emplace_back();
      for (unsigned n = r.byte() % 6; n > 0; --n) list.push_back(gen_code(r));
      const reason_code_list codes{std::span<const reason_code>(list)};
      const properties props = gen_props(r, a);
      if (kind == static_cast<unsigned>(packet_type::suback)) return suback{id, codes, props};
      return unsuback{id, codes, props};
    }
    case packet_type::pingreq: return pingreq{};
    case packet_type::pingresp: return pingresp{};
    case packet_type::disconnect: {
      const reason_code c = gen_code(r);
      return disconnect{c, gen_props(r, a)};
    }
    case packet_type::auth: {
      const reason_code c = gen_code(r);
      return auth{c, gen_props(r, a)};
    }
    default: {  // the four acks
      const std::uint16_t id = gen_packet_id(r);
      const reason_code c = gen_code(r);
      const properties props = gen_props(r, a);
      switch (static_cast<packet_type>(kind)) {
        case packet_type::puback: return puback{id, c, props};
        case packet_type::pubrec: return pubrec{id, c, props};
        case packet_type::pubrel: return pubrel{id, c, props};
        default: return pubcomp{id, c, props};
      }
    }
  }
}

void report(const packet& p, protocol_version v, bytes_view bytes, const char* what) {
  std::fprintf(stderr, "%s: %.*s, version %u\n", what,
               static_cast<int>(to_string(type_of(p)).size()), to_string(type_of(p)).data(),
               static_cast<unsigned>(v));
  tern::fuzz::print_hex("encoded", bytes);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader r(data, size);
  arena a;
  protocol_version version{};
  const packet p = gen_packet(r, a, version);
  const std::uint8_t cut = r.byte();

  const auto m = measure(p, version);
  if (!m) {
    std::vector<std::byte> out(64);
    const auto e = encode(p, version, mutable_bytes(out));
    TERN_FUZZ_CHECK(!e && e.error() == m.error());
    return 0;
  }
  TERN_FUZZ_CHECK(m->total >= 2 && m->total <= max_packet_size_limit);

  // Exact-size buffer: ASan reports a write past the measured size.
  auto buf = std::make_unique<std::byte[]>(m->total);
  write(p, version, *m, buf.get());
  const bytes_view bytes(buf.get(), m->total);

  const packet& expected = p;

  const decoder_options opts{version, sender::any, max_packet_size_limit};
  std::size_t consumed = 0;
  const auto d = decode_packet(bytes, opts, consumed);
  if (!d) {
    std::fprintf(stderr, "decoder rejects: %.*s at offset %u\n",
                 static_cast<int>(name(d.error().code).size()), name(d.error().code).data(),
                 d.error().offset);
    report(p, version, bytes, "the encoder emitted what the decoder rejects");
  }
  if (!*d || consumed != m->total) report(p, version, bytes, "decoded size differs");
  const packet& back = **d;
  if (!(back == expected)) report(p, version, bytes, "decoded packet differs from the input");
  tern::fuzz::touch(back);
  tern::fuzz::check_decoded(back, version, sender::any);

  std::vector<std::byte> again(m->total);
  const auto n = encode(back, version, mutable_bytes(again));
  if (!n || *n != m->total || !equal_bytes(bytes_view(again), bytes))
    report(p, version, bytes, "re-encoding the decoded packet gives other bytes");

  // The incremental decoder, three pieces, each in its own exact-size allocation.
  tern::fuzz::counting_resource memory;
  {
    decoder dec(opts, &memory);
    const std::size_t c1 = cut % (m->total + 1);
    const std::size_t c2 = c1 + (m->total - c1) / 2;
    const std::size_t bounds[4] = {0, c1, c2, m->total};
    std::size_t found = 0;
    for (int i = 0; i < 3; ++i) {
      const std::size_t len = bounds[i + 1] - bounds[i];
      auto piece = std::make_unique<std::byte[]>(len);
      if (len) std::memcpy(piece.get(), buf.get() + bounds[i], len);
      bytes_view in(piece.get(), len);
      for (;;) {
        const auto got = dec.next(in);
        if (!got) report(p, version, bytes, "the incremental decoder rejects it");
        if (!*got) break;
        if (!(**got == expected)) report(p, version, bytes, "the incremental decoder differs");
        ++found;
      }
    }
    if (found != 1) report(p, version, bytes, "the incremental decoder found no packet");
  }
  TERN_FUZZ_CHECK(memory.in_use() == 0);
  return 0;
}
