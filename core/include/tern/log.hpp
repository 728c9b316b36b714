// A logging hook. The core formats a message only when the hook is installed and the level is
// enabled, and never logs credentials, authentication data or payloads.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

enum class log_level : std::uint8_t { debug, info, notice, warning, error };

std::string_view to_string(log_level l) noexcept;

struct log_sink {
  // Called synchronously from within the core call that produced the message; `message` is
  // valid only during the call.
  void (*write)(void* context, log_level level, std::string_view message) = nullptr;
  void* context = nullptr;
  log_level min_level = log_level::info;

  bool enabled(log_level l) const noexcept { return write != nullptr && l >= min_level; }
};

}  // namespace tern
