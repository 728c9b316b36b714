// Packets to JSON and back. Writing follows the packet structs field by field; reading is the
// mirror image, with a small reader that names the offending field in every error and refuses
// keys it does not know, so a typo in hand-edited JSON is reported instead of silently dropped.
#include "packet_json.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include "hex_input.hpp"
#include "tern/encoder.hpp"
#include "tern/utf8.hpp"

namespace tern::cli {
namespace {

// --- writing -------------------------------------------------------------------------------------

json binary_to_json(bytes_view data) {
  json j = json::object();
  j["hex"] = format_hex(data);
  if (is_valid_mqtt_utf8(as_chars(data))) j["text"] = std::string(as_chars(data));
  return j;
}

// name() gives 0x00 one name; DISCONNECT and SUBACK call it something else.
std::string_view reason_name(reason_code c, packet_type on) noexcept {
  if (c == reason_code::success && on == packet_type::disconnect) return "normal_disconnection";
  if (c == reason_code::success && on == packet_type::suback) return "granted_qos_0";
  return name(c);
}

json reason_to_json(reason_code c, packet_type on) {
  json j = json::object();
  j["value"] = static_cast<unsigned>(c);
  j["name"] = reason_name(c, on);
  return j;
}

json property_to_json(const property& p) {
  json j = json::object();
  j["id"] = static_cast<unsigned>(p.id);
  j["name"] = name(p.id);
  switch (type_of(p.id)) {
    case property_type::byte:
    case property_type::two_byte_integer:
    case property_type::four_byte_integer:
    case property_type::variable_byte_integer: j["value"] = p.number; break;
    case property_type::utf8_string: j["value"] = p.text; break;
    case property_type::binary_data: j["value"] = binary_to_json(p.binary()); break;
    case property_type::utf8_string_pair:
      j["key"] = p.text;
      j["value"] = p.value;
      break;
  }
  return j;
}

json properties_to_json(const properties& props) {
  json list = json::array();
  for (const property p : props) list.push_back(property_to_json(p));
  return list;
}

void write_fields(json& j, const connect& c, protocol_version) {
  const bool v5 = has_properties(c.version);
  j["protocol_name"] = c.version == protocol_version::v3_1 ? "MQIsdp" : "MQTT";
  j["clean_start"] = c.clean_start;
  j["keep_alive"] = c.keep_alive;
  j["client_id"] = c.client_id;
  j["username"] = c.username ? json(*c.username) : json(nullptr);
  j["password"] = c.password ? binary_to_json(*c.password) : json(nullptr);
  if (c.will) {
    json will = json::object();
    will["topic"] = c.will->topic;
    will["qos"] = static_cast<unsigned>(c.will->q);
    will["retain"] = c.will->retain;
    if (v5) will["properties"] = properties_to_json(c.will->props);
    will["payload"] = binary_to_json(c.will->payload);
    j["will"] = std::move(will);
  } else {
    j["will"] = nullptr;
  }
  if (v5) j["properties"] = properties_to_json(c.props);
}

void write_fields(json& j, const connack& c, protocol_version v) {
  j["session_present"] = c.session_present;
  j["reason_code"] = reason_to_json(c.code, packet_type::connack);
  if (!has_properties(v)) {
    // The byte on the wire; reason_code holds its 5.0 equivalent.
    if (auto rc = to_v311_connack(c.code)) j["return_code"] = *rc;
    return;
  }
  j["properties"] = properties_to_json(c.props);
}

void write_fields(json& j, const publish& p, protocol_version v) {
  j["dup"] = p.dup;
  j["qos"] = static_cast<unsigned>(p.q);
  j["retain"] = p.retain;
  j["topic"] = p.topic;
  j["packet_id"] = p.q == qos::at_most_once ? json(nullptr) : json(p.packet_id);
  if (has_properties(v)) j["properties"] = properties_to_json(p.props);
  j["payload"] = binary_to_json(p.payload);
}

template <packet_type T>
void write_fields(json& j, const basic_ack<T>& a, protocol_version v) {
  j["packet_id"] = a.packet_id;
  if (!has_properties(v)) return;
  j["reason_code"] = reason_to_json(a.code, T);
  j["properties"] = properties_to_json(a.props);
}

void write_fields(json& j, const subscribe& s, protocol_version v) {
  const bool v5 = has_properties(v);
  j["packet_id"] = s.packet_id;
  if (v5) j["properties"] = properties_to_json(s.props);
  json list = json::array();
  for (const subscription sub : s.subscriptions) {
    json entry = json::object();
    entry["filter"] = sub.filter;
    entry["qos"] = static_cast<unsigned>(sub.options.max_qos);
    if (v5) {
      entry["no_local"] = sub.options.no_local;
      entry["retain_as_published"] = sub.options.retain_as_published;
      entry["retain_handling"] = static_cast<unsigned>(sub.options.retain);
    }
    list.push_back(std::move(entry));
  }
  j["subscriptions"] = std::move(list);
}

json codes_to_json(const reason_code_list& codes, packet_type on) {
  json list = json::array();
  for (const reason_code c : codes) list.push_back(reason_to_json(c, on));
  return list;
}

void write_fields(json& j, const suback& s, protocol_version v) {
  j["packet_id"] = s.packet_id;
  if (has_properties(v)) j["properties"] = properties_to_json(s.props);
  j["reason_codes"] = codes_to_json(s.codes, packet_type::suback);
}

void write_fields(json& j, const unsubscribe& u, protocol_version v) {
  j["packet_id"] = u.packet_id;
  if (has_properties(v)) j["properties"] = properties_to_json(u.props);
  json list = json::array();
  for (const std::string_view f : u.filters) list.push_back(f);
  j["filters"] = std::move(list);
}

void write_fields(json& j, const unsuback& u, protocol_version v) {
  j["packet_id"] = u.packet_id;
  if (!has_properties(v)) return;  // a 3.1.1 UNSUBACK has no payload
  j["properties"] = properties_to_json(u.props);
  j["reason_codes"] = codes_to_json(u.codes, packet_type::unsuback);
}

void write_fields(json&, const pingreq&, protocol_version) {}
void write_fields(json&, const pingresp&, protocol_version) {}

template <class P>
  requires std::is_same_v<P, disconnect> || std::is_same_v<P, auth>
void write_fields(json& j, const P& p, protocol_version v) {
  if (!has_properties(v)) return;
  j["reason_code"] = reason_to_json(p.code, P::type);
  j["properties"] = properties_to_json(p.props);
}

// --- reading -------------------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw json_packet_error(where.empty() ? what : where + ": " + what);
}

std::string describe_kind(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  return "an object";
}

// Reads one JSON object, remembering which keys it used, so that finish() can refuse the rest.
class object_reader {
 public:
  object_reader(const json& j, std::string path) : object_(j), path_(std::move(path)) {
    if (!j.is_object()) fail(path_, "expected an object, found " + describe_kind(j));
  }

  const std::string& path() const noexcept { return path_; }
  std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const json* find(std::string_view key) {
    used_.emplace_back(key);
    const auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }
  const json& require(std::string_view key) {
    const json* j = find(key);
    if (j == nullptr) fail(path_, "missing \"" + std::string(key) + "\"");
    return *j;
  }

  std::uint32_t number(std::string_view key, std::uint32_t max) {
    return read_number(require(key), path_of(key), max);
  }
  bool boolean(std::string_view key) {
    const json& j = require(key);
    if (!j.is_boolean()) fail(path_of(key), "expected true or false, found " + describe_kind(j));
    return j.get<bool>();
  }
  std::string_view text(std::string_view key, packet_storage& storage) {
    return read_text(require(key), path_of(key), storage);
  }

  // Keys that say again what the others say (names beside numbers, offsets) may be present.
  void finish(std::initializer_list<std::string_view> informational = {}) const {
    for (const auto& [key, value] : object_.items()) {
      (void)value;
      const bool known =
          std::find(used_.begin(), used_.end(), key) != used_.end() ||
          std::find(informational.begin(), informational.end(), key) != informational.end();
      if (!known) fail(path_, "unknown key \"" + key + "\"");
    }
  }

  static std::uint32_t read_number(const json& j, const std::string& where, std::uint32_t max) {
    if (!j.is_number_unsigned())
      fail(where, "expected an unsigned integer, found " + describe_kind(j));
    const auto n = j.get<std::uint64_t>();
    if (n > max) fail(where, std::to_string(n) + " is larger than " + std::to_string(max));
    return static_cast<std::uint32_t>(n);
  }
  static std::string_view read_text(const json& j, const std::string& where,
                                    packet_storage& storage) {
    if (!j.is_string()) fail(where, "expected a string, found " + describe_kind(j));
    return storage.keep(j.get<std::string>());
  }

 private:
  const json& object_;
  std::string path_;
  std::vector<std::string> used_;
};

std::string indexed(const std::string& path, std::string_view key, std::size_t i) {
  return (path.empty() ? std::string(key) : path + "." + std::string(key)) + "[" +
         std::to_string(i) + "]";
}

// {"hex": ...} (separators allowed), else {"text": ...}; a bare string is text.
bytes_view read_binary(const json& j, const std::string& where, packet_storage& storage) {
  if (j.is_string()) return as_bytes(storage.keep(j.get<std::string>()));
  object_reader r(j, where);
  bytes_view out;
  if (const json* h = r.find("hex")) {
    const std::string_view digits = object_reader::read_text(*h, r.path_of("hex"), storage);
    auto parsed = parse_hex(digits);
    if (!parsed) fail(r.path_of("hex"), parsed.error().message);
    out = as_bytes(storage.keep(std::string(as_chars(*parsed))));
    r.finish({"text"});
  } else if (const json* t = r.find("text")) {
    out = as_bytes(object_reader::read_text(*t, r.path_of("text"), storage));
    r.finish();
  } else {
    fail(where, "binary data needs \"hex\" or \"text\"");
  }
  return out;
}

std::optional<reason_code> reason_by_name(std::string_view s) {
  if (s == "normal_disconnection" || s == "granted_qos_0") return reason_code::success;
  for (unsigned i = 0; i < 256; ++i) {
    const auto c = static_cast<reason_code>(i);
    if (name(c) != "unknown" && name(c) == s) return c;
  }
  return std::nullopt;
}

// {"value": n} or {"name": "..."}; a bare number or name works too.
reason_code read_reason(const json& j, const std::string& where) {
  if (j.is_number()) return static_cast<reason_code>(object_reader::read_number(j, where, 255));
  if (j.is_string()) {
    if (auto c = reason_by_name(j.get<std::string>())) return *c;
    fail(where, "unknown reason code \"" + j.get<std::string>() + "\"");
  }
  object_reader r(j, where);
  if (const json* v = r.find("value")) {
    r.finish({"name"});
    return static_cast<reason_code>(object_reader::read_number(*v, r.path_of("value"), 255));
  }
  const json& n = r.require("name");
  r.finish();
  return read_reason(n, r.path_of("name"));
}

reason_code optional_reason(object_reader& r, reason_code absent) {
  const json* j = r.find("reason_code");
  return j ? read_reason(*j, r.path_of("reason_code")) : absent;
}

std::optional<property_id> property_by_name(std::string_view s) {
  for (unsigned i = 0; i < 256; ++i) {
    const auto id = static_cast<property_id>(i);
    if (is_known(id) && name(id) == s) return id;
  }
  return std::nullopt;
}

property read_property(const json& j, const std::string& where, packet_storage& storage) {
  object_reader r(j, where);
  const json* by_id = r.find("id");
  const json* by_name = r.find("name");
  std::optional<property_id> id;
  if (by_id) {
    id = static_cast<property_id>(object_reader::read_number(*by_id, r.path_of("id"), 255));
    if (!is_known(*id)) fail(r.path_of("id"), "no property has identifier " + by_id->dump());
  }
  if (by_name) {
    const std::string_view n = object_reader::read_text(*by_name, r.path_of("name"), storage);
    const auto named = property_by_name(n);
    if (!named) fail(r.path_of("name"), "no property is called \"" + std::string(n) + "\"");
    if (id && *id != *named) fail(where, "\"id\" and \"name\" name different properties");
    id = named;
  }
  if (!id) fail(where, "a property needs \"name\" or \"id\"");

  property p;
  p.id = *id;
  switch (type_of(*id)) {
    case property_type::byte: p.number = r.number("value", 0xFF); break;
    case property_type::two_byte_integer: p.number = r.number("value", 0xFFFF); break;
    case property_type::four_byte_integer: p.number = r.number("value", 0xFFFF'FFFF); break;
    case property_type::variable_byte_integer:
      p.number = r.number("value", max_variable_integer);
      break;
    case property_type::utf8_string: p.text = r.text("value", storage); break;
    case property_type::binary_data:
      p.text = as_chars(read_binary(r.require("value"), r.path_of("value"), storage));
      break;
    case property_type::utf8_string_pair:
      p.text = r.text("key", storage);
      p.value = r.text("value", storage);
      break;
  }
  r.finish();
  return p;
}

// "properties" may be left out: no properties.
properties read_properties(object_reader& r, packet_storage& storage) {
  const json* list = r.find("properties");
  if (list == nullptr) return {};
  const std::string where = r.path_of("properties");
  if (!list->is_array()) fail(where, "expected an array, found " + describe_kind(*list));
  std::vector<property> out;
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(read_property((*list)[i], indexed(r.path(), "properties", i), storage));
  return properties(storage.keep(std::move(out)));
}

const json& require_array(object_reader& r, std::string_view key) {
  const json& list = r.require(key);
  if (!list.is_array()) fail(r.path_of(key), "expected an array, found " + describe_kind(list));
  return list;
}

qos read_qos(object_reader& r, std::string_view key) { return static_cast<qos>(r.number(key, 2)); }

std::uint16_t read_packet_id(object_reader& r) {
  return static_cast<std::uint16_t>(r.number("packet_id", 0xFFFF));
}

void read_fields(object_reader& r, connect& c, packet_storage& storage) {
  c.clean_start = r.boolean("clean_start");
  c.keep_alive = static_cast<std::uint16_t>(r.number("keep_alive", 0xFFFF));
  c.client_id = r.text("client_id", storage);
  if (const json& u = r.require("username"); !u.is_null())
    c.username = object_reader::read_text(u, r.path_of("username"), storage);
  if (const json& p = r.require("password"); !p.is_null())
    c.password = read_binary(p, r.path_of("password"), storage);
  if (const json& w = r.require("will"); !w.is_null()) {
    object_reader wr(w, r.path_of("will"));
    will_message will;
    will.topic = wr.text("topic", storage);
    will.q = read_qos(wr, "qos");
    will.retain = wr.boolean("retain");
    will.props = read_properties(wr, storage);
    will.payload = read_binary(wr.require("payload"), wr.path_of("payload"), storage);
    wr.finish();
    c.will = will;
  }
  c.props = read_properties(r, storage);
}

void read_fields(object_reader& r, connack& c, packet_storage& storage) {
  c.session_present = r.boolean("session_present");
  c.code = optional_reason(r, reason_code::success);
  c.props = read_properties(r, storage);
}

void read_fields(object_reader& r, publish& p, packet_storage& storage) {
  p.dup = r.boolean("dup");
  p.q = read_qos(r, "qos");
  p.retain = r.boolean("retain");
  p.topic = r.text("topic", storage);
  if (const json& id = r.require("packet_id"); !id.is_null())
    p.packet_id = static_cast<std::uint16_t>(
        object_reader::read_number(id, r.path_of("packet_id"), 0xFFFF));
  p.props = read_properties(r, storage);
  p.payload = read_binary(r.require("payload"), r.path_of("payload"), storage);
}

template <packet_type T>
void read_fields(object_reader& r, basic_ack<T>& a, packet_storage& storage) {
  a.packet_id = read_packet_id(r);
  a.code = optional_reason(r, reason_code::success);
  a.props = read_properties(r, storage);
}

void read_fields(object_reader& r, subscribe& s, packet_storage& storage) {
  s.packet_id = read_packet_id(r);
  s.props = read_properties(r, storage);
  const json& list = require_array(r, "subscriptions");
  std::vector<subscription> subs;
  for (std::size_t i = 0; i < list.size(); ++i) {
    object_reader e(list[i], indexed(r.path(), "subscriptions", i));
    subscription sub;
    sub.filter = e.text("filter", storage);
    sub.options.max_qos = read_qos(e, "qos");
    // 5.0 options: absent means off, as they are before 5.0.
    if (e.find("no_local")) sub.options.no_local = e.boolean("no_local");
    if (e.find("retain_as_published"))
      sub.options.retain_as_published = e.boolean("retain_as_published");
    if (e.find("retain_handling"))
      sub.options.retain = static_cast<retain_handling>(e.number("retain_handling", 2));
    e.finish();
    subs.push_back(sub);
  }
  s.subscriptions = subscription_list(storage.keep(std::move(subs)));
}

reason_code_list read_codes(const json& list, const std::string& path, packet_storage& storage) {
  std::vector<reason_code> codes;
  for (std::size_t i = 0; i < list.size(); ++i)
    codes.push_back(read_reason(list[i], indexed(path, "reason_codes", i)));
  return reason_code_list(storage.keep(std::move(codes)));
}

void read_fields(object_reader& r, suback& s, packet_storage& storage) {
  s.packet_id = read_packet_id(r);
  s.props = read_properties(r, storage);
  s.codes = read_codes(require_array(r, "reason_codes"), r.path(), storage);
}

void read_fields(object_reader& r, unsubscribe& u, packet_storage& storage) {
  u.packet_id = read_packet_id(r);
  u.props = read_properties(r, storage);
  const json& list = require_array(r, "filters");
  std::vector<std::string_view> filters;
  for (std::size_t i = 0; i < list.size(); ++i)
    filters.push_back(object_reader::read_text(list[i], indexed(r.path(), "filters", i), storage));
  u.filters = topic_filter_list(storage.keep(std::move(filters)));
}

void read_fields(object_reader& r, unsuback& u, packet_storage& storage) {
  u.packet_id = read_packet_id(r);
  u.props = read_properties(r, storage);
  // A 3.1.1 UNSUBACK has no reason codes, so the list may be left out.
  if (const json* list = r.find("reason_codes")) {
    if (!list->is_array())
      fail(r.path_of("reason_codes"), "expected an array, found " + describe_kind(*list));
    u.codes = read_codes(*list, r.path(), storage);
  }
}

void read_fields(object_reader&, pingreq&, packet_storage&) {}
void read_fields(object_reader&, pingresp&, packet_storage&) {}

template <class P>
  requires std::is_same_v<P, disconnect> || std::is_same_v<P, auth>
void read_fields(object_reader& r, P& p, packet_storage& storage) {
  p.code = optional_reason(r, reason_code::success);
  p.props = read_properties(r, storage);
}

std::optional<packet_type> type_by_name(std::string_view s) {
  for (unsigned t = 1; t <= 15; ++t) {
    const std::string_view n = to_string(static_cast<packet_type>(t));
    const bool same = n.size() == s.size() &&
                      std::equal(n.begin(), n.end(), s.begin(), [](char a, char b) {
                        return a == std::toupper(static_cast<unsigned char>(b));
                      });
    if (same) return static_cast<packet_type>(t);
  }
  return std::nullopt;
}

protocol_version read_protocol(const json& j) {
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    if (s == "3.1") return protocol_version::v3_1;
    if (s == "3.1.1") return protocol_version::v3_1_1;
    if (s == "5.0" || s == "5") return protocol_version::v5;
    fail("protocol", "expected 3, 4 or 5, found \"" + s + "\"");
  }
  const auto level = object_reader::read_number(j, "protocol", 255);
  if (level < 3 || level > 5) fail("protocol", "expected 3, 4 or 5, found " + j.dump());
  return static_cast<protocol_version>(level);
}

// The default-constructed alternative of the variant for `t` (index t - 1).
template <std::size_t... I>
packet make_packet(packet_type t, std::index_sequence<I...>) {
  packet p;
  const std::size_t index = static_cast<std::size_t>(t) - 1;
  ((I == index ? (void)p.emplace<I>() : (void)0), ...);
  return p;
}

}  // namespace

json packet_to_json(const packet& p, protocol_version version, std::uint64_t offset,
                    std::uint32_t size) {
  json j = json::object();
  j["offset"] = offset;
  j["size"] = size;
  j["type"] = to_string(type_of(p));
  const auto* c = std::get_if<connect>(&p);
  j["protocol"] = static_cast<unsigned>(c ? c->version : version);
  std::visit([&j, version](const auto& kind) { write_fields(j, kind, version); }, p);
  return j;
}

json decode_error_to_json(const decode_error& e, std::uint64_t packet_offset) {
  json j = json::object();
  j["offset"] = packet_offset;
  j["error"] = name(e.code);
  j["message"] = to_string(e.code);
  j["error_offset"] = packet_offset + e.offset;
  j["offset_in_packet"] = e.offset;
  const reason_code rc = to_reason_code(e.code);
  json reason = json::object();
  reason["value"] = static_cast<unsigned>(rc);
  reason["name"] = name(rc);
  j["reason_code"] = std::move(reason);
  return j;
}

json incomplete_to_json(std::uint64_t packet_offset, std::size_t available,
                        std::optional<std::uint32_t> packet_size) {
  json j = json::object();
  j["offset"] = packet_offset;
  j["error"] = "incomplete";
  j["message"] = packet_size ? "the input ends inside a packet"
                             : "the input ends inside a fixed header";
  j["available"] = available;
  j["size"] = packet_size ? json(*packet_size) : json(nullptr);
  j["missing"] = packet_size ? json(*packet_size - available) : json(nullptr);
  return j;
}

json_packet packet_from_json(const json& object, packet_storage& storage) {
  object_reader r(object, "");
  const json& type_json = r.require("type");
  if (!type_json.is_string())
    fail("type", "expected a packet type such as \"PUBLISH\", found " + describe_kind(type_json));
  const auto type = type_by_name(type_json.get<std::string>());
  if (!type) fail("type", "no packet type is called \"" + type_json.get<std::string>() + "\"");

  json_packet out{make_packet(*type, std::make_index_sequence<std::variant_size_v<packet>>{}),
                  read_protocol(r.require("protocol"))};
  if (auto* c = std::get_if<connect>(&out.pkt)) c->version = out.version;
  std::visit([&r, &storage](auto& kind) { read_fields(r, kind, storage); }, out.pkt);
  r.finish({"offset", "size", "protocol_name", "return_code"});
  return out;
}

std::vector<std::byte> encode_json_packet(const json& object) {
  packet_storage storage;
  const json_packet p = packet_from_json(object, storage);
  auto size = measure(p.pkt, p.version);
  if (!size) throw json_packet_error("the encoder refuses the packet: " +
                                     std::string(to_string(size.error())));
  std::vector<std::byte> bytes(size->total);
  write(p.pkt, p.version, *size, bytes.data());
  return bytes;
}

}  // namespace tern::cli
