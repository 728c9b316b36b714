#include "packet_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <type_traits>
#include <variant>

#include "hex_input.hpp"
#include "tern/utf8.hpp"

namespace tern::cli {
namespace {

// Quoted, with C escapes for quotes, backslashes and control characters; UTF-8 stays as is.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
  }
  return out + "\"";
}

// Binary data is shown as text when it is UTF-8 without control characters other than line
// breaks and tabs; anything else (0x01 0x02, say) reads better as hex.
bool reads_as_text(std::string_view s) noexcept {
  const bool controls = std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n' && c != '\r' && c != '\t') || u == 0x7f;
  });
  return !controls && is_valid_mqtt_utf8(s);
}

std::string byte_count(std::size_t n) { return fmt::format("{} byte{}", n, n == 1 ? "" : "s"); }

std::string binary(bytes_view data) {
  const bytes_view shown = data.first(std::min(data.size(), text_binary_limit));
  std::string out = byte_count(data.size());
  if (data.empty()) return out;
  // Cut text on a character boundary: drop continuation bytes at the cut.
  std::size_t text_end = shown.size();
  if (shown.size() < data.size())
    while (text_end > 0 && (static_cast<unsigned>(data[text_end]) & 0xC0u) == 0x80u) --text_end;
  if (reads_as_text(as_chars(data))) out += " " + quoted(as_chars(shown.first(text_end)));
  else out += " hex " + format_hex(shown, " ");
  if (const std::size_t rest = data.size() - shown.size(); rest != 0)
    out += fmt::format(" ... ({} more byte{})", rest, rest == 1 ? "" : "s");
  return out;
}

std::string_view reason_name(reason_code c, packet_type on) {
  if (c == reason_code::success && on == packet_type::disconnect) return "normal_disconnection";
  if (c == reason_code::success && on == packet_type::suback) return "granted_qos_0";
  return name(c);
}

std::string reason(reason_code c, packet_type on) {
  return fmt::format("0x{:02x} {} ({})", static_cast<unsigned>(c), reason_name(c, on),
                     describe(c, on));
}

std::string_view retain_handling_name(retain_handling r) {
  switch (r) {
    case retain_handling::send_on_subscribe: return "send_on_subscribe";
    case retain_handling::send_if_new_subscription: return "send_if_new_subscription";
    case retain_handling::do_not_send: return "do_not_send";
  }
  return "reserved";
}

// Appends "  key: value" lines at the current depth.
class text_writer {
 public:
  void line(std::string_view key, std::string_view value) {
    out_.append(2 * depth_, ' ');
    out_ += key;
    out_ += ':';
    if (!value.empty()) {
      out_ += ' ';
      out_ += value;
    }
    out_ += '\n';
  }
  void flag(std::string_view key, bool b) { line(key, b ? "true" : "false"); }
  void field(std::string_view key, unsigned n) { line(key, std::to_string(n)); }

  void properties_of(const properties& props) {
    if (props.empty()) {
      line("properties", "none");
      return;
    }
    line("properties", "");
    ++depth_;
    for (const property p : props) {
      const std::string key =
          fmt::format("{} (0x{:02x})", name(p.id), static_cast<unsigned>(p.id));
      switch (type_of(p.id)) {
        case property_type::utf8_string: line(key, quoted(p.text)); break;
        case property_type::binary_data: line(key, binary(p.binary())); break;
        case property_type::utf8_string_pair:
          line(key, quoted(p.text) + " = " + quoted(p.value));
          break;
        default: line(key, std::to_string(p.number)); break;
      }
    }
    --depth_;
  }

  void nest(std::string_view key) {
    line(key, "");
    ++depth_;
  }
  void unnest() { --depth_; }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::size_t depth_ = 1;
};

void write_fields(text_writer& w, const connect& c, protocol_version) {
  const bool v5 = has_properties(c.version);
  w.line("protocol_name", c.version == protocol_version::v3_1 ? "MQIsdp" : "MQTT");
  w.flag("clean_start", c.clean_start);
  w.line("keep_alive", fmt::format("{} s", c.keep_alive));
  w.line("client_id", quoted(c.client_id));
  w.line("username", c.username ? quoted(*c.username) : "none");
  w.line("password", c.password ? binary(*c.password) : "none");
  if (c.will) {
    w.nest("will");
    w.line("topic", quoted(c.will->topic));
    w.field("qos", static_cast<unsigned>(c.will->q));
    w.flag("retain", c.will->retain);
    if (v5) w.properties_of(c.will->props);
    w.line("payload", binary(c.will->payload));
    w.unnest();
  } else {
    w.line("will", "none");
  }
  if (v5) w.properties_of(c.props);
}

void write_fields(text_writer& w, const connack& c, protocol_version v) {
  w.flag("session_present", c.session_present);
  if (!has_properties(v)) {
    const auto rc = to_v311_connack(c.code);
    w.line("return_code", fmt::format("{} = 5.0 reason code {}", rc ? *rc : 0xFF,
                                      reason(c.code, packet_type::connack)));
    return;
  }
  w.line("reason_code", reason(c.code, packet_type::connack));
  w.properties_of(c.props);
}

void write_fields(text_writer& w, const publish& p, protocol_version v) {
  w.flag("dup", p.dup);
  w.field("qos", static_cast<unsigned>(p.q));
  w.flag("retain", p.retain);
  w.line("topic", quoted(p.topic));
  if (p.q != qos::at_most_once) w.field("packet_id", p.packet_id);
  if (has_properties(v)) w.properties_of(p.props);
  w.line("payload", binary(p.payload));
}

template <packet_type T>
void write_fields(text_writer& w, const basic_ack<T>& a, protocol_version v) {
  w.field("packet_id", a.packet_id);
  if (!has_properties(v)) return;
  w.line("reason_code", reason(a.code, T));
  w.properties_of(a.props);
}

void write_fields(text_writer& w, const subscribe& s, protocol_version v) {
  const bool v5 = has_properties(v);
  w.field("packet_id", s.packet_id);
  if (v5) w.properties_of(s.props);
  w.nest("subscriptions");
  for (const subscription sub : s.subscriptions) {
    std::string options = fmt::format("qos {}", static_cast<unsigned>(sub.options.max_qos));
    if (v5)
      options += fmt::format(", no_local {}, retain_as_published {}, retain_handling {} ({})",
                             sub.options.no_local, sub.options.retain_as_published,
                             static_cast<unsigned>(sub.options.retain),
                             retain_handling_name(sub.options.retain));
    w.line(quoted(sub.filter), options);
  }
  w.unnest();
}

void write_codes(text_writer& w, const reason_code_list& codes, packet_type on) {
  w.nest("reason_codes");
  std::size_t i = 0;
  for (const reason_code c : codes) w.line(fmt::format("[{}]", i++), reason(c, on));
  w.unnest();
}

void write_fields(text_writer& w, const suback& s, protocol_version v) {
  w.field("packet_id", s.packet_id);
  if (has_properties(v)) w.properties_of(s.props);
  write_codes(w, s.codes, packet_type::suback);
}

void write_fields(text_writer& w, const unsubscribe& u, protocol_version v) {
  w.field("packet_id", u.packet_id);
  if (has_properties(v)) w.properties_of(u.props);
  w.nest("filters");
  std::size_t i = 0;
  for (const std::string_view f : u.filters) w.line(fmt::format("[{}]", i++), quoted(f));
  w.unnest();
}

void write_fields(text_writer& w, const unsuback& u, protocol_version v) {
  w.field("packet_id", u.packet_id);
  if (!has_properties(v)) return;
  w.properties_of(u.props);
  write_codes(w, u.codes, packet_type::unsuback);
}

void write_fields(text_writer&, const pingreq&, protocol_version) {}
void write_fields(text_writer&, const pingresp&, protocol_version) {}

template <class P>
  requires std::is_same_v<P, disconnect> || std::is_same_v<P, auth>
void write_fields(text_writer& w, const P& p, protocol_version v) {
  if (!has_properties(v)) return;
  w.line("reason_code", reason(p.code, P::type));
  w.properties_of(p.props);
}

}  // namespace

std::string packet_to_text(const packet& p, protocol_version version, std::uint64_t offset,
                           std::uint32_t size) {
  const auto* c = std::get_if<connect>(&p);
  const protocol_version shown = c ? c->version : version;
  text_writer w;
  std::string heading = fmt::format("offset {}: {} ({}, MQTT {})\n", offset,
                                    to_string(type_of(p)), byte_count(size), to_string(shown));
  std::visit([&w, version](const auto& kind) { write_fields(w, kind, version); }, p);
  return heading + w.take();
}

std::string decode_error_to_text(const decode_error& e, std::uint64_t packet_offset) {
  const reason_code rc = to_reason_code(e.code);
  return fmt::format(
      "offset {}: malformed packet: {} at offset {} (byte {} of the packet): {}; "
      "MQTT 5 reason code 0x{:02x} {} ({})",
      packet_offset, name(e.code), packet_offset + e.offset, e.offset, to_string(e.code),
      static_cast<unsigned>(rc), name(rc), describe(rc, packet_type::disconnect));
}

std::string incomplete_to_text(std::uint64_t packet_offset, std::size_t available,
                               std::optional<std::uint32_t> packet_size) {
  if (!packet_size)
    return fmt::format("offset {}: incomplete packet: the input ends inside its fixed header "
                       "({} present)",
                       packet_offset, byte_count(available));
  return fmt::format("offset {}: incomplete packet: {} of its {} bytes present, {} more needed",
                     packet_offset, available, *packet_size,
                     *packet_size - available);
}

}  // namespace tern::cli
