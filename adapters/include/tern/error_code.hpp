// The core's errc as std::error_code values, for the adapters' APIs. (The core itself has no
// <system_error>: its errors are plain enums.)
#pragma once

#include <system_error>

#include "tern/errc.hpp"
#include "tern/reason_code.hpp"

namespace tern {

const std::error_category& core_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), core_category()};
}

// A broker's verdict as an error: a refused CONNACK, a failed SUBACK entry, a PUBACK with a
// failure code. reason_code::success (0) converts to "no error".
const std::error_category& reason_category() noexcept;

inline std::error_code make_error_code(reason_code c) noexcept {
  return {static_cast<int>(c), reason_category()};
}

}  // namespace tern

template <>
struct std::is_error_code_enum<tern::errc> : std::true_type {};

template <>
struct std::is_error_code_enum<tern::reason_code> : std::true_type {};
