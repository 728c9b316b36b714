// The format string is parsed once into pieces (literal text, %-parameters with their flags,
// width and precision, @-time fields); each message is then rendered piece by piece.
#include "message_format.hpp"

#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "connect_options.hpp"
#include "json_output.hpp"
#include "tern/client.hpp"

namespace tern::cli {

namespace {

constexpr std::string_view parameters = "%ACDEFIjJlmPpqRrStUxX";
// Parameters whose values are numbers: the 0 flag pads them with zeros.
constexpr std::string_view numeric = "AEFlmSxX";

std::string_view payload_text(const publish& m) { return as_chars(m.payload); }

// Width (minimum, padded with blanks or zeros, right-aligned unless '-') and precision
// (maximum length of text values).
void pad(std::string& out, std::string_view value, std::size_t width, bool left, bool zeros) {
  if (value.size() >= width) {
    out += value;
    return;
  }
  const std::size_t fill = width - value.size();
  if (left) {
    out += value;
    out.append(fill, ' ');
  } else {
    out.append(fill, zeros ? '0' : ' ');
    out += value;
  }
}

std::string hex(std::string_view bytes, bool upper) {
  static constexpr char lower_digits[] = "0123456789abcdef";
  static constexpr char upper_digits[] = "0123456789ABCDEF";
  const char* digits = upper ? upper_digits : lower_digits;
  std::string s;
  s.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    s += digits[c >> 4];
    s += digits[c & 0xF];
  }
  return s;
}

std::tm local_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  return tm;
}

// std::put_time rather than strftime: the format is the user's, not a literal.
std::string strftime_text(const std::tm& tm, const char* format) {
  std::ostringstream out;
  out << std::put_time(&tm, format);
  return out.str();
}

long nanoseconds_of_second(std::chrono::system_clock::time_point t) {
  const auto since = t.time_since_epoch();
  return static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               since - std::chrono::duration_cast<std::chrono::seconds>(since))
                               .count());
}

// The "tst" of %j: ISO 8601 local time with microseconds and the UTC offset.
std::string json_timestamp(std::chrono::system_clock::time_point t) {
  const std::tm tm = local_time(t);
  char micro[32];
  std::snprintf(micro, sizeof micro, ".%06ld", nanoseconds_of_second(t) / 1000);
  return strftime_text(tm, "%Y-%m-%dT%H:%M:%S") + micro + strftime_text(tm, "%z");
}

std::string_view name_for_json(property_id id) {
  switch (id) {
    case property_id::content_type: return "content-type";
    case property_id::response_topic: return "response-topic";
    case property_id::correlation_data: return "correlation-data";
    case property_id::payload_format_indicator: return "payload-format-indicator";
    case property_id::message_expiry_interval: return "message-expiry-interval";
    case property_id::topic_alias: return "topic-alias";
    case property_id::subscription_identifier: return "subscription-identifier";
    default: return "unknown";
  }
}

// %j / %J: the message as a JSON object. `payload` is the payload as a value (a string for %j,
// parsed JSON for %J).
json::value message_json(const publish& m, std::chrono::system_clock::time_point received,
                         json::value payload) {
  json::value doc = json::value::object();
  doc.add("tst", json::value::string(json_timestamp(received)));
  doc.add("topic", json::value::string(m.topic));
  doc.add("qos", json::value::number(static_cast<int>(m.q)));
  doc.add("retain", json::value::number(m.retain ? 1 : 0));
  doc.add("payloadlen", json::value::number(static_cast<double>(m.payload.size())));
  if (m.q != qos::at_most_once) doc.add("mid", json::value::number(m.packet_id));
  if (!m.props.empty()) {
    json::value props = json::value::object();
    json::value* user = nullptr;  // one "user-properties" object, where the first one was
    for (const property p : m.props) {
      switch (p.id) {
        case property_id::user_property:
          if (user == nullptr) user = &props.add("user-properties", json::value::object());
          user->add(p.text, json::value::string(p.value));
          break;
        case property_id::content_type:
        case property_id::response_topic:
        case property_id::correlation_data:
          props.add(name_for_json(p.id), json::value::string(p.text));
          break;
        case property_id::payload_format_indicator:
        case property_id::message_expiry_interval:
        case property_id::topic_alias:
        case property_id::subscription_identifier:
          props.add(name_for_json(p.id), json::value::number(p.number));
          break;
        default: break;
      }
    }
    doc.add("properties", std::move(props));
  }
  doc.add("payload", m.payload.empty() ? json::value::null() : std::move(payload));
  return doc;
}

}  // namespace

message_formatter::message_formatter(output_options options) : options_(std::move(options)) {
  if (!options_.format) return;
  const std::string& f = *options_.format;
  std::string text;
  auto flush_text = [&] {
    if (text.empty()) return;
    piece p;
    p.text = std::move(text);
    pieces_.push_back(std::move(p));
    text.clear();
  };
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '\\') {
      if (++i >= f.size()) throw usage_error("Incomplete escape specifier.");
      switch (f[i]) {
        case '\\': text += '\\'; break;
        case '0': text += '\0'; break;
        case 'a': text += '\a'; break;
        case 'e': text += '\033'; break;
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case 'v': text += '\v'; break;
        default: throw usage_error(std::string("Invalid escape specifier '") + f[i] + "'.");
      }
    } else if (c == '@') {
      if (++i >= f.size()) throw usage_error("Incomplete format specifier.");
      if (f[i] == '@') {
        text += '@';
        continue;
      }
      flush_text();
      piece p;
      p.what = piece::kind::time;
      p.conversion = f[i];
      pieces_.push_back(std::move(p));
    } else if (c == '%') {
      piece p;
      p.what = piece::kind::parameter;
      ++i;
      for (; i < f.size() && (f[i] == '-' || f[i] == '0'); ++i) {
        if (f[i] == '-') p.left_align = true;
        else p.zero_pad = true;
      }
      for (; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i)
        p.width = p.width * 10 + static_cast<std::size_t>(f[i] - '0');
      if (i < f.size() && f[i] == '.') {
        std::size_t precision = 0;
        for (++i; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i)
          precision = precision * 10 + static_cast<std::size_t>(f[i] - '0');
        p.precision = precision;
      }
      if (i >= f.size()) throw usage_error("Incomplete format specifier.");
      if (parameters.find(f[i]) == std::string_view::npos)
        throw usage_error(std::string("Invalid format specifier '") + f[i] + "'.");
      if (f[i] == '%') {
        text += '%';
        continue;
      }
      p.conversion = f[i];
      if (p.left_align || numeric.find(p.conversion) == std::string_view::npos) p.zero_pad = false;
      flush_text();
      pieces_.push_back(std::move(p));
    } else {
      text += c;
    }
  }
  flush_text();
}

void message_formatter::format(std::string& out, const publish& message,
                               std::chrono::system_clock::time_point received,
                               std::string& errors) const {
  if (options_.format) {
    for (const piece& p : pieces_) {
      if (p.what == piece::kind::text) out += p.text;
      else render(out, p, message, received, errors);
    }
  } else if (options_.verbose) {
    out += message.topic;
    out += ' ';
    // An empty payload is shown as "(null)" so the line still has two fields.
    if (message.payload.empty()) out += "(null)";
    else out += payload_text(message);
  } else {
    out += payload_text(message);
  }
  if (!options_.no_end_of_line) out += '\n';
}

void message_formatter::render(std::string& out, const piece& p, const publish& m,
                               std::chrono::system_clock::time_point received,
                               std::string& errors) const {
  if (p.what == piece::kind::time) {
    if (p.conversion == 'N') {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%09ld", nanoseconds_of_second(received));
      out += buf;
      return;
    }
    const char spec[3] = {'%', p.conversion, '\0'};
    out += strftime_text(local_time(received), spec);
    return;
  }
  auto text = [&](std::string_view v) {
    if (p.precision && v.size() > *p.precision) v = v.substr(0, *p.precision);
    pad(out, v, p.width, p.left_align, false);
  };
  auto number = [&](std::uint64_t v) {
    pad(out, std::to_string(v), p.width, p.left_align, p.zero_pad);
  };
  auto optional_text = [&](property_id id) {
    if (auto v = m.props.text(id)) text(*v);
  };
  auto optional_number = [&](property_id id) {
    if (auto v = m.props.number(id)) number(*v);
  };
  switch (p.conversion) {
    case 'A': optional_number(property_id::topic_alias); break;
    case 'C': optional_text(property_id::content_type); break;
    case 'D':
      if (auto v = m.props.text(property_id::correlation_data)) out += *v;
      break;
    case 'E': optional_number(property_id::message_expiry_interval); break;
    case 'F': optional_number(property_id::payload_format_indicator); break;
    case 'I': text(strftime_text(local_time(received), "%Y-%m-%dT%H:%M:%S%z")); break;
    case 'j':
    case 'J': {
      json::value payload = json::value::string(payload_text(m));
      if (p.conversion == 'J' && !m.payload.empty()) {
        auto parsed = json::parse(payload_text(m));
        if (!parsed) {
          errors += "Error: Message payload is not valid JSON on topic ";
          errors += m.topic;
          errors += ".\n";
          break;
        }
        payload = std::move(*parsed);
      }
      message_json(m, received, std::move(payload)).write(out, options_.pretty);
      break;
    }
    case 'l': number(m.payload.size()); break;
    case 'm': number(m.packet_id); break;
    case 'P': {
      bool first = true;
      for (const property q : m.props) {
        if (q.id != property_id::user_property) continue;
        if (!first) out += ' ';
        first = false;
        out += q.text;
        out += ':';
        out += q.value;
      }
      break;
    }
    case 'p': pad(out, payload_text(m), p.width, p.left_align, false); break;
    case 'q': out += std::to_string(static_cast<int>(m.q)); break;
    case 'R': optional_text(property_id::response_topic); break;
    case 'r': out += m.retain ? '1' : '0'; break;
    case 'S': optional_number(property_id::subscription_identifier); break;
    case 't': text(m.topic); break;
    case 'U': {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%lld.%09ld",
                    static_cast<long long>(std::chrono::system_clock::to_time_t(received)),
                    nanoseconds_of_second(received));
      out += buf;
      break;
    }
    case 'x': pad(out, hex(payload_text(m), false), p.width, p.left_align, p.zero_pad); break;
    case 'X': pad(out, hex(payload_text(m), true), p.width, p.left_align, p.zero_pad); break;
    default: break;
  }
}

}  // namespace tern::cli
