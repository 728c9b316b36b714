// How `tern sub` prints a received message, as mosquitto_sub does: the payload alone, -v
// "topic payload", or an -F format string with %-parameters (%t topic, %p payload, %j JSON,
// ...), @-time fields passed to strftime and \-escapes. -N leaves out the end of line that is
// otherwise written after each message; --pretty lays %j / %J out on several lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/packets.hpp"

namespace tern::cli {

struct output_options {
  std::optional<std::string> format;  // -F (overrides -v)
  bool verbose = false;               // -v
  bool no_end_of_line = false;        // -N
  bool pretty = false;                // --pretty
};

class message_formatter {
 public:
  // Checks the whole format string; throws usage_error naming the offending specifier.
  explicit message_formatter(output_options options);

  // Appends the text for one message received at `received`. Problems that belong to one
  // message (a %J payload that is not JSON) are appended to `errors`, one line each.
  void format(std::string& out, const publish& message,
              std::chrono::system_clock::time_point received, std::string& errors) const;

 private:
  // One piece of a parsed format string.
  struct piece {
    enum class kind { text, parameter, time } what = kind::text;
    std::string text;     // literal text (escapes already resolved)
    char conversion = 0;  // 't', 'p', ... or the strftime character for time
    bool left_align = false;
    bool zero_pad = false;
    std::size_t width = 0;
    std::optional<std::size_t> precision;
  };

  void render(std::string& out, const piece& p, const publish& message,
              std::chrono::system_clock::time_point received, std::string& errors) const;

  output_options options_;
  std::vector<piece> pieces_;
};

}  // namespace tern::cli
