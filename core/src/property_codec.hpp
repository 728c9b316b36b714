// Private: reading, validating and writing Property lists [MQTT 2.2.2].
#pragma once

#include <cstdint>
#include <optional>

#include "tern/errc.hpp"
#include "tern/properties.hpp"
#include "tern/result.hpp"
#include "wire.hpp"

namespace tern::detail {

// Reads a Property Length and the properties after it, checking identifiers, placement,
// repetition, wire types and values for `where`; `out` views the validated bytes.
// `forbidden`, when given, is a property this sender may not use here although the packet
// kind allows it (a client's PUBLISH with a Subscription Identifier [MQTT-3.3.4-6]).
bool read_properties(reader& r, property_scope where, properties& out,
                     std::optional<property_id> forbidden = std::nullopt) noexcept;

// Reads one property from bytes read_properties() validated, advancing `p`.
property read_validated_property(const std::byte*& p) noexcept;

// Checks `props` for `where` and returns their encoded size (the Property Length value).
result<std::uint32_t, errc> measure_properties(const properties& props,
                                               property_scope where) noexcept;

// Writes the Property Length (`length`, from measure_properties) and the properties.
void write_properties(writer& w, const properties& props, std::uint32_t length) noexcept;

}  // namespace tern::detail
