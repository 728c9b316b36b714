// JSON as `tern sub -F %j / %J` prints it: the layout mosquitto_sub produces (compact, or
// --pretty with tab indentation), so scripts written against mosquitto_sub read the same text.
// Objects keep their members in order and may repeat a key (User Properties can).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::cli::json {

class value {
 public:
  enum class kind { null, boolean, number, string, array, object };

  static value null() { return value(kind::null); }
  static value boolean(bool b);
  static value number(double n);
  static value string(std::string_view s);
  static value array() { return value(kind::array); }
  static value object() { return value(kind::object); }

  // Appends an element (arrays) or a member (objects); returns the added value.
  value& push(value v);
  value& add(std::string_view key, value v);

  // Writes the value; `pretty` is mosquitto_sub's --pretty layout.
  void write(std::string& out, bool pretty) const;

 private:
  explicit value(kind k) : kind_(k) {}
  void write(std::string& out, bool pretty, int depth) const;

  kind kind_;
  bool boolean_ = false;
  double number_ = 0;
  std::string text_;
  std::vector<std::string> keys_;  // objects: one per item
  std::vector<value> items_;
};

// Parses a complete JSON text (RFC 8259; whitespace around it is allowed). std::nullopt when
// the text is not valid JSON.
std::optional<value> parse(std::string_view text);

// Appends `s` as a quoted JSON string, escaping only what JSON requires (bytes that are not
// UTF-8 are passed through as they are, as mosquitto_sub does).
void write_string(std::string& out, std::string_view s);

}  // namespace tern::cli::json
