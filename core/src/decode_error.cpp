#include "tern/decode_error.hpp"

namespace tern {

namespace {
struct entry {
  std::string_view name;
  std::string_view text;
  reason_code code;
};

entry describe(decode_errc e) noexcept {
  using rc = reason_code;
  switch (e) {
    case decode_errc::reserved_packet_type:
      return {"reserved_packet_type", "reserved or unknown packet type", rc::malformed_packet};
    case decode_errc::unexpected_packet:
      return {"unexpected_packet", "a packet this sender must not send", rc::protocol_error};
    case decode_errc::invalid_fixed_header_flags:
      return {"invalid_fixed_header_flags", "reserved fixed header flags are wrong",
              rc::malformed_packet};
    case decode_errc::invalid_qos:
      return {"invalid_qos", "QoS 3 is not a valid QoS", rc::malformed_packet};
    case decode_errc::dup_on_qos0:
      return {"dup_on_qos0", "DUP flag set on a QoS 0 PUBLISH", rc::malformed_packet};
    case decode_errc::variable_integer_too_long:
      return {"variable_integer_too_long", "variable byte integer longer than 4 bytes",
              rc::malformed_packet};
    case decode_errc::non_minimal_variable_integer:
      return {"non_minimal_variable_integer",
              "variable byte integer not encoded in the fewest bytes", rc::malformed_packet};
    case decode_errc::packet_too_large:
      return {"packet_too_large", "packet larger than the maximum packet size",
              rc::packet_too_large};
    case decode_errc::truncated:
      return {"truncated", "a field runs past the end of the packet", rc::malformed_packet};
    case decode_errc::trailing_bytes:
      return {"trailing_bytes", "bytes left over after the last field", rc::malformed_packet};
    case decode_errc::invalid_utf8:
      return {"invalid_utf8", "string is not well-formed UTF-8", rc::malformed_packet};
    case decode_errc::utf8_null_character:
      return {"utf8_null_character", "string contains U+0000", rc::malformed_packet};
    case decode_errc::invalid_protocol_name:
      return {"invalid_protocol_name", "CONNECT protocol name is not MQTT (or MQIsdp for 3.1)",
              rc::unsupported_protocol_version};
    case decode_errc::unsupported_protocol_version:
      return {"unsupported_protocol_version", "CONNECT protocol level is not 3, 4 or 5",
              rc::unsupported_protocol_version};
    case decode_errc::invalid_connect_flags:
      return {"invalid_connect_flags", "CONNECT flags are inconsistent or reserved bit set",
              rc::malformed_packet};
    case decode_errc::invalid_connack_flags:
      return {"invalid_connack_flags", "CONNACK reserved flags are set", rc::malformed_packet};
    case decode_errc::session_present_on_failure:
      return {"session_present_on_failure", "Session Present set on a refused connection",
              rc::protocol_error};
    case decode_errc::invalid_reason_code:
      return {"invalid_reason_code", "reason code not valid for this packet",
              rc::malformed_packet};
    case decode_errc::zero_packet_id:
      return {"zero_packet_id", "packet identifier 0", rc::protocol_error};
    case decode_errc::topic_name_invalid:
      return {"topic_name_invalid", "topic name is empty or contains a wildcard",
              rc::topic_name_invalid};
    case decode_errc::missing_topic_name:
      return {"missing_topic_name", "empty topic name without a topic alias",
              rc::protocol_error};
    case decode_errc::topic_alias_zero:
      return {"topic_alias_zero", "topic alias 0", rc::topic_alias_invalid};
    case decode_errc::topic_filter_invalid:
      return {"topic_filter_invalid", "invalid topic filter", rc::topic_filter_invalid};
    case decode_errc::empty_list:
      return {"empty_list", "the packet has no entries", rc::protocol_error};
    case decode_errc::invalid_subscription_options:
      return {"invalid_subscription_options", "reserved subscription option bits set",
              rc::malformed_packet};
    case decode_errc::invalid_retain_handling:
      return {"invalid_retain_handling", "retain handling 3", rc::protocol_error};
    case decode_errc::no_local_on_shared_subscription:
      return {"no_local_on_shared_subscription", "No Local on a shared subscription",
              rc::protocol_error};
    case decode_errc::unknown_property:
      return {"unknown_property", "unknown property identifier", rc::malformed_packet};
    case decode_errc::property_not_allowed:
      return {"property_not_allowed", "property not allowed on this packet",
              rc::malformed_packet};
    case decode_errc::duplicate_property:
      return {"duplicate_property", "property appears more than once", rc::protocol_error};
    case decode_errc::invalid_property_value:
      return {"invalid_property_value", "property value not allowed", rc::protocol_error};
    case decode_errc::authentication_data_without_method:
      return {"authentication_data_without_method",
              "authentication data without an authentication method", rc::protocol_error};
  }
  return {"unknown", "unknown decode error", rc::malformed_packet};
}
}  // namespace

reason_code to_reason_code(decode_errc e) noexcept { return describe(e).code; }
std::string_view to_string(decode_errc e) noexcept { return describe(e).text; }
std::string_view name(decode_errc e) noexcept { return describe(e).name; }

}  // namespace tern
