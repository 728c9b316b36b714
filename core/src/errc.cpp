#include "tern/errc.hpp"

namespace tern {

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::buffer_too_small: return "the output buffer is too small for the packet";
    case errc::packet_too_large: return "the packet would be larger than MQTT allows";
    case errc::string_too_long: return "a string or binary field is longer than 65,535 bytes";
    case errc::invalid_utf8: return "text is not well-formed UTF-8 or contains U+0000";
    case errc::invalid_topic_name: return "invalid topic name";
    case errc::invalid_topic_filter: return "invalid topic filter";
    case errc::invalid_packet_id: return "packet identifier 0 where one is required";
    case errc::invalid_qos: return "QoS must be 0, 1 or 2";
    case errc::empty_list: return "the packet needs at least one entry";
    case errc::property_not_allowed: return "property not allowed on this packet";
    case errc::properties_need_v5: return "properties exist only in MQTT 5.0";
    case errc::duplicate_property: return "property may appear only once";
    case errc::invalid_property_value: return "property value out of range or forbidden";
    case errc::invalid_reason_code: return "reason code not valid for this packet or version";
    case errc::unsupported_by_version: return "not available in this MQTT version";
    case errc::invalid_subscription_options: return "invalid subscription options";
    case errc::invalid_connect: return "inconsistent CONNECT fields";
    case errc::invalid_state: return "not possible in the session's current state";
    case errc::queue_full: return "the queue of pending messages is full";
    case errc::would_block: return "too many unwritten bytes; write before sending more";
    case errc::not_connected: return "not connected";
    case errc::qos_not_supported: return "QoS above the server's Maximum QoS";
    case errc::retain_not_supported: return "the server does not support retained messages";
    case errc::wildcard_subscriptions_not_supported:
      return "the server does not support wildcard subscriptions";
    case errc::shared_subscriptions_not_supported:
      return "the server does not support shared subscriptions";
    case errc::subscription_identifiers_not_supported:
      return "the server does not support subscription identifiers";
    case errc::packet_ids_exhausted: return "all packet identifiers are in use";
    case errc::unknown_message: return "no such message awaits acknowledgement";
    case errc::invalid_state_data: return "not a saved session state";
  }
  return "unknown error";
}

}  // namespace tern
