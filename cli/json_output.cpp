// A small JSON reader and writer. The reader exists for %J, which embeds a JSON payload as a
// value: it is parsed and written again in the chosen layout, the way mosquitto_sub does.
#include "json_output.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tern::cli::json {

value value::boolean(bool b) {
  value v(kind::boolean);
  v.boolean_ = b;
  return v;
}

value value::number(double n) {
  value v(kind::number);
  v.number_ = n;
  return v;
}

value value::string(std::string_view s) {
  value v(kind::string);
  v.text_ = std::string(s);
  return v;
}

value& value::push(value v) {
  items_.push_back(std::move(v));
  return items_.back();
}

value& value::add(std::string_view key, value v) {
  keys_.emplace_back(key);
  items_.push_back(std::move(v));
  return items_.back();
}

void value::write(std::string& out, bool pretty) const { write(out, pretty, 0); }

namespace {

// Integers print as integers; other numbers with the shortest of 15 or 17 significant digits
// that reads back as the same double.
void write_number(std::string& out, double n) {
  if (!std::isfinite(n)) {
    out += "null";
    return;
  }
  char buf[32];
  if (std::fabs(n) < 1e15 && n == std::floor(n)) {
    std::snprintf(buf, sizeof buf, "%.0f", n == 0 ? 0.0 : n);
  } else {
    std::snprintf(buf, sizeof buf, "%1.15g", n);
    if (std::strtod(buf, nullptr) != n) std::snprintf(buf, sizeof buf, "%1.17g", n);
  }
  out += buf;
}

void indent(std::string& out, int depth) { out.append(static_cast<std::size_t>(depth), '\t'); }

}  // namespace

void write_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// The pretty layout: every object level indents its members by one more tab, a member's value
// follows its key after a tab, and arrays stay on one line (", " between elements) while still
// counting as a level for objects nested in them.
void value::write(std::string& out, bool pretty, int depth) const {
  switch (kind_) {
    case kind::null: out += "null"; break;
    case kind::boolean: out += boolean_ ? "true" : "false"; break;
    case kind::number: write_number(out, number_); break;
    case kind::string: write_string(out, text_); break;
    case kind::array:
      out += '[';
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (i != 0) out += pretty ? ", " : ",";
        items_[i].write(out, pretty, depth + 1);
      }
      out += ']';
      break;
    case kind::object:
      out += '{';
      if (pretty) out += '\n';
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (pretty) indent(out, depth + 1);
        write_string(out, keys_[i]);
        out += pretty ? ":\t" : ":";
        items_[i].write(out, pretty, depth + 1);
        if (i + 1 != items_.size()) out += ',';
        if (pretty) out += '\n';
      }
      if (pretty) indent(out, depth);
      out += '}';
      break;
  }
}

// ---- reading ----------------------------------------------------------------------------

namespace {

class reader {
 public:
  explicit reader(std::string_view text) : s_(text) {}

  std::optional<value> document() {
    auto v = any(0);
    skip_space();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  static constexpr int max_depth = 512;  // deeper nesting is refused, not a stack overflow

  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<value> any(int depth) {
    if (depth > max_depth) return std::nullopt;
    skip_space();
    if (pos_ >= s_.size()) return std::nullopt;
    switch (s_[pos_]) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': {
        auto s = string();
        if (!s) return std::nullopt;
        return value::string(*s);
      }
      case 't': return literal("true") ? std::optional(value::boolean(true)) : std::nullopt;
      case 'f': return literal("false") ? std::optional(value::boolean(false)) : std::nullopt;
      case 'n': return literal("null") ? std::optional(value::null()) : std::nullopt;
      default: return number();
    }
  }

  std::optional<value> object(int depth) {
    ++pos_;
    value v = value::object();
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return v;
    }
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
      auto key = string();
      if (!key) return std::nullopt;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ':') return std::nullopt;
      ++pos_;
      auto member = any(depth + 1);
      if (!member) return std::nullopt;
      v.add(*key, std::move(*member));
      skip_space();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      if (s_[pos_] != ',') return std::nullopt;
      ++pos_;
    }
  }

  std::optional<value> array(int depth) {
    ++pos_;
    value v = value::array();
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return v;
    }
    for (;;) {
      auto element = any(depth + 1);
      if (!element) return std::nullopt;
      v.push(std::move(*element));
      skip_space();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      if (s_[pos_] != ',') return std::nullopt;
      ++pos_;
    }
  }

  std::optional<value> number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    const bool leading_zero = pos_ < s_.size() && s_[pos_] == '0';
    const std::size_t int_digits = digits();
    if (int_digits == 0 || (leading_zero && int_digits > 1)) return std::nullopt;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return std::nullopt;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return std::nullopt;
    }
    const std::string text(s_.substr(start, pos_ - start));
    return value::number(std::strtod(text.c_str(), nullptr));
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<std::uint32_t> hex4() {
    if (pos_ + 4 > s_.size()) return std::nullopt;
    std::uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return std::nullopt;
    }
    return cp;
  }

  std::optional<std::string> string() {
    ++pos_;  // the opening quote
    std::string out;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      switch (s_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return std::nullopt;
          // A high surrogate followed by \u and a low one is one code point.
          if (*cp >= 0xD800 && *cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            auto low = hex4();
            if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
          }
          append_utf8(out, *cp);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<value> parse(std::string_view text) { return reader(text).document(); }

}  // namespace tern::cli::json
