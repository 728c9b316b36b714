// Topic names, topic filters and matching [MQTT 4.7], with paho's topic_matches_sub semantics:
// '+' matches one level (an empty one too), '#' matches the parent and everything below, and a
// topic starting with '$' is not matched by a filter starting with a wildcard [MQTT-4.7.2-1].
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tern/result.hpp"

namespace tern {

enum class topic_error : std::uint8_t {
  empty = 1,             // zero length [MQTT-4.7.3-1]
  too_long,              // more than 65,535 bytes
  invalid_utf8,          // ill-formed UTF-8 or a surrogate
  null_character,        // U+0000 [MQTT-4.7.3-2]
  wildcard_in_name,      // '+' or '#' in a topic name [MQTT-4.7.1-1]
  misplaced_wildcard,    // '#' not last or not alone in its level, '+' not alone in its level
  invalid_shared_subscription,  // "$share/" with an empty or wildcard share name, or no filter
};

std::string_view to_string(topic_error e) noexcept;

// A topic a message is published to.
result<void, topic_error> validate_topic_name(std::string_view topic) noexcept;
// A filter to subscribe with. With `shared_subscriptions` (5.0), "$share/{name}/{filter}" must
// have a non-empty share name without '/', '+' or '#', and a valid filter [MQTT-4.8.2-1, -2].
result<void, topic_error> validate_topic_filter(std::string_view filter,
                                                bool shared_subscriptions = true) noexcept;

inline bool is_valid_topic_name(std::string_view topic) noexcept {
  return validate_topic_name(topic).has_value();
}
inline bool is_valid_topic_filter(std::string_view filter) noexcept {
  return validate_topic_filter(filter).has_value();
}

bool has_wildcard(std::string_view s) noexcept;

struct shared_subscription {
  std::string_view share_name;
  std::string_view filter;
};
// Splits "$share/{name}/{filter}"; std::nullopt when `filter` is not a shared subscription.
// Does not validate: see validate_topic_filter.
std::optional<shared_subscription> parse_shared_subscription(std::string_view filter) noexcept;

// Whether a message published to `topic` matches subscription `filter`. A shared subscription
// matches what its inner filter matches. Invalid filters and topic names match nothing.
bool topic_matches_sub(std::string_view filter, std::string_view topic) noexcept;

}  // namespace tern
