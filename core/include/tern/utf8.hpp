// UTF-8 Encoded Strings as MQTT defines them [MQTT 1.5.4]: well-formed UTF-8 (no overlong forms,
// no surrogates U+D800..U+DFFF, nothing past U+10FFFF) and no U+0000 [MQTT-1.5.4-1, -2].
// Control characters and non-characters are allowed: the spec only says SHOULD NOT.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

enum class utf8_status : std::uint8_t {
  ok,
  invalid,         // ill-formed sequence, overlong form, surrogate, or past U+10FFFF
  null_character,  // U+0000
};

utf8_status validate_mqtt_utf8(std::string_view s) noexcept;

inline bool is_valid_mqtt_utf8(std::string_view s) noexcept {
  return validate_mqtt_utf8(s) == utf8_status::ok;
}

}  // namespace tern
