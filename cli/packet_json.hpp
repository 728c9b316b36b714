// The JSON form of MQTT packets (docs/cli-decode.md is its schema): every field and every
// property of a decoded packet, and back from JSON to a packet and its bytes, so that the form
// is complete — decoding a canonical packet, writing its JSON and encoding that JSON gives the
// same bytes.
//
// Binary data (payloads, passwords, Correlation and Authentication Data) is an object
// {"hex": "...", "text": "..."}: "hex" always, "text" too when the bytes are MQTT UTF-8, so a
// person reads text payloads while a tool still gets the exact bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "tern/decode_error.hpp"
#include "tern/packets.hpp"
#include "tern/protocol.hpp"

namespace tern::cli {

// Objects keep the order keys were written in, so "offset" and "type" lead every line.
using json = nlohmann::ordered_json;

// `p` as decoded from a stream of `version`, found at `offset` in the input and `size` bytes
// long. A CONNECT reports its own protocol level.
json packet_to_json(const packet& p, protocol_version version, std::uint64_t offset,
                    std::uint32_t size);

// A malformed packet starting at `packet_offset` in the input: {"error": "<name>", ...}.
json decode_error_to_json(const decode_error& e, std::uint64_t packet_offset);

// The input ended inside a packet that starts at `packet_offset`, with `available` of its bytes
// present; `packet_size` is known once the fixed header is complete.
json incomplete_to_json(std::uint64_t packet_offset, std::size_t available,
                        std::optional<std::uint32_t> packet_size);

// JSON that is not a packet, or a packet the encoder refuses. The message names the field,
// e.g. "properties[2].value: expected an unsigned integer".
class json_packet_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a packet built from JSON points into; it must outlive the packet.
class packet_storage {
 public:
  std::string_view keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  template <class T>
  std::span<const T> keep(std::vector<T> v) {
    if constexpr (std::is_same_v<T, property>) return props_.emplace_back(std::move(v));
    else if constexpr (std::is_same_v<T, subscription>) return subs_.emplace_back(std::move(v));
    else if constexpr (std::is_same_v<T, std::string_view>)
      return filters_.emplace_back(std::move(v));
    else {
      static_assert(std::is_same_v<T, reason_code>);
      return codes_.emplace_back(std::move(v));
    }
  }

 private:
  // Deques never move their elements, so earlier views stay valid as more are kept.
  std::deque<std::string> strings_;
  std::deque<std::vector<property>> props_;
  std::deque<std::vector<subscription>> subs_;
  std::deque<std::vector<std::string_view>> filters_;
  std::deque<std::vector<reason_code>> codes_;
};

struct json_packet {
  packet pkt;
  protocol_version version{};  // the "protocol" the object names
};

// Reads the object packet_to_json writes. Informational keys ("offset", "size", names next to
// numbers, "text" next to "hex") are not needed; any other unknown key is an error. Throws
// json_packet_error.
json_packet packet_from_json(const json& object, packet_storage& storage);

// packet_from_json, then the encoder. Throws json_packet_error.
std::vector<std::byte> encode_json_packet(const json& object);

}  // namespace tern::cli
