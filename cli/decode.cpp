// `tern decode`: MQTT bytes in (hex arguments, a hex or binary file, or stdin), every packet out,
// as text or as JSON Lines, with the offset of each packet in the input.
//
// The whole input is read first and handed to one streaming decoder, so the decoded views point
// into the input and the offsets are the decoder's own. The decoder stops at the first fault (an
// MQTT stream cannot resynchronise), so the output is every packet before it, then the fault.
// Exit codes: 0 every byte decoded; 1 a malformed or cut-off packet; 2 a usage or input error.
// docs/cli-decode.md describes the options and the JSON schema.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "commands.hpp"
#include "hex_input.hpp"
#include "packet_json.hpp"
#include "packet_text.hpp"
#include "tern/decoder.hpp"

namespace tern::cli {
namespace {

enum class input_kind { guess, hex, binary };

struct decode_settings {
  std::vector<std::string> hex_arguments;
  std::string file;  // empty: stdin (unless hex arguments were given)
  input_kind kind = input_kind::guess;
  std::string protocol;  // empty: 5.0 until a CONNECT says otherwise
  std::string direction = "any";
  std::uint32_t maximum_packet_size = max_packet_size_limit;
  bool json_lines = false;
};

// A usage or input problem: reported as "tern decode: <message>", exit code 2.
struct input_error {
  std::string message;
};

protocol_version parse_protocol(const std::string& s) {
  if (s == "3" || s == "3.1") return protocol_version::v3_1;
  if (s == "4" || s == "3.1.1") return protocol_version::v3_1_1;
  return protocol_version::v5;
}

sender parse_direction(const std::string& s) {
  if (s == "client") return sender::client;
  if (s == "server") return sender::server;
  return sender::any;
}

std::optional<std::string> read_stream(std::istream& in) {
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::nullopt;
  return data;
}

// The input's bytes: hex text is parsed, binary taken as it is.
std::variant<std::vector<std::byte>, input_error> read_input(const decode_settings& s) {
  if (!s.hex_arguments.empty()) {
    std::vector<std::byte> all;
    for (std::size_t i = 0; i < s.hex_arguments.size(); ++i) {
      const std::string& argument = s.hex_arguments[i];
      auto bytes = parse_hex(argument);
      if (!bytes) {
        const hex_error& e = bytes.error();
        const std::string where = e.line > 1 ? fmt::format("line {} column {}", e.line, e.column)
                                             : fmt::format("column {}", e.column);
        std::error_code ignored;
        const bool names_file = std::filesystem::exists(argument, ignored);
        return input_error{fmt::format("hex argument {} ('{}'), {}: {}{}", i + 1, argument, where,
                                       e.message,
                                       names_file ? " (to read that file, use --file)" : "")};
      }
      all.insert(all.end(), bytes->begin(), bytes->end());
    }
    return all;
  }

  const bool from_stdin = s.file.empty() || s.file == "-";
  std::optional<std::string> data;
  if (from_stdin) {
    data = read_stream(std::cin);
  } else {
    std::ifstream file(s.file, std::ios::binary);
    if (!file)
      return input_error{fmt::format("--file: cannot open '{}': {}", s.file,
                                     std::strerror(errno))};
    data = read_stream(file);
  }
  const std::string source = from_stdin ? "stdin" : "--file '" + s.file + "'";
  if (!data) return input_error{source + ": read error"};

  const bytes_view raw = as_bytes(*data);
  const bool hex =
      s.kind == input_kind::hex || (s.kind == input_kind::guess && looks_like_text(raw));
  if (!hex) return std::vector<std::byte>(raw.begin(), raw.end());
  auto bytes = parse_hex(*data);
  if (!bytes)
    return input_error{fmt::format("{}: line {} column {}: {}{}", source, bytes.error().line,
                                   bytes.error().column, bytes.error().message,
                                   s.kind == input_kind::guess
                                       ? " (the input is text, so it is read as hex; --binary "
                                         "reads it as bytes)"
                                       : "")};
  return std::move(*bytes);
}

void emit(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

int decode_bytes(const std::vector<std::byte>& data, const decode_settings& s) {
  decoder_options options;
  options.version = s.protocol.empty() ? protocol_version::v5 : parse_protocol(s.protocol);
  options.from = parse_direction(s.direction);
  options.maximum_packet_size = s.maximum_packet_size;
  decoder d(options);

  bytes_view in(data);
  for (;;) {
    // The version this packet is decoded with; a CONNECT carries its own.
    const protocol_version version = d.options().version;
    auto r = d.next(in);
    if (!r) {
      if (s.json_lines) {
        emit(decode_error_to_json(r.error(), d.packet_offset()).dump() + "\n");
      } else {
        std::fflush(stdout);
        std::fprintf(stderr, "tern decode: %s\n",
                     decode_error_to_text(r.error(), d.packet_offset()).c_str());
      }
      return 1;
    }
    if (!*r) break;  // the input is used up
    const packet& p = **r;
    const std::uint64_t offset = d.packet_offset();
    const auto size = static_cast<std::uint32_t>(d.stream_offset() - offset);
    emit(s.json_lines ? packet_to_json(p, version, offset, size).dump() + "\n"
                      : packet_to_text(p, version, offset, size));
    // The packets after a CONNECT follow its protocol level, as they do on a real connection.
    if (const auto* c = std::get_if<connect>(&p)) d.set_version(c->version);
  }

  if (d.buffered() == 0) return 0;
  const std::uint64_t offset = d.packet_offset();
  const std::size_t available = data.size() - offset;
  std::optional<std::uint32_t> size;
  if (auto f = decode_frame(bytes_view(data).subspan(offset), d.options()); f && *f)
    size = (**f).size();
  if (s.json_lines) {
    emit(incomplete_to_json(offset, available, size).dump() + "\n");
  } else {
    std::fflush(stdout);
    std::fprintf(stderr, "tern decode: %s\n", incomplete_to_text(offset, available, size).c_str());
  }
  return 1;
}

}  // namespace

int decode_main(int argc, char** argv) {
  CLI::App app{
      "Decode MQTT bytes and print every packet with its offset in the input.\n"
      "Input: hex arguments, --file (hex text or binary, guessed unless --hex or --binary), "
      "or stdin.\n"
      "Exit status: 0 all decoded, 1 malformed or incomplete packet, 2 usage or input error.",
      argv[0]};
  decode_settings s;
  app.add_option("hex", s.hex_arguments,
                 "Bytes as hex, e.g. 'c0 00' or 0xc0,0x00; each argument holds whole bytes");
  app.add_option("-f,--file", s.file, "Read this file ('-' is stdin)")->type_name("PATH");
  bool force_hex = false;
  bool force_binary = false;
  auto* hex_flag = app.add_flag("--hex", force_hex, "Read the file or stdin as hex text");
  auto* binary_flag = app.add_flag("--binary", force_binary, "Read the file or stdin as raw bytes");
  hex_flag->excludes(binary_flag);
  app.add_option("-p,--protocol", s.protocol,
                 "Protocol level of the packets before any CONNECT: 3 (3.1), 4 (3.1.1) or "
                 "5 (5.0); default 5. A CONNECT sets the level of the packets after it")
      ->check(CLI::IsMember({"3", "4", "5", "3.1", "3.1.1", "5.0"}));
  app.add_option("-d,--direction", s.direction,
                 "Who sent the bytes: client, server, or any (default: accept every packet "
                 "kind)")
      ->check(CLI::IsMember({"client", "server", "any"}));
  app.add_option("--max-packet-size", s.maximum_packet_size,
                 "Refuse packets larger than this many bytes (default: no limit but MQTT's)")
      ->check(CLI::Range(std::uint32_t{2}, max_packet_size_limit));
  app.add_flag("--json", s.json_lines,
               "One JSON object per packet and per error, one per line (docs/cli-decode.md)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (force_hex) s.kind = input_kind::hex;
  if (force_binary) s.kind = input_kind::binary;

  const auto usage = [](const std::string& message) {
    std::fprintf(stderr, "tern decode: %s\nRun with --help for more information.\n",
                 message.c_str());
    return 2;
  };
  if (!s.hex_arguments.empty() && !s.file.empty())
    return usage("give hex arguments or --file, not both");
  if (!s.hex_arguments.empty() && s.kind == input_kind::binary)
    return usage("--binary: hex arguments are always hex; use --file for binary input");
  if (s.hex_arguments.empty() && (s.file.empty() || s.file == "-") && isatty(STDIN_FILENO))
    return usage("no input: give hex arguments, --file, or pipe the bytes to stdin");

  auto input = read_input(s);
  if (auto* e = std::get_if<input_error>(&input)) {
    std::fprintf(stderr, "tern decode: %s\n", e->message.c_str());
    return 2;
  }
  try {
    return decode_bytes(std::get<std::vector<std::byte>>(input), s);
  } catch (const std::exception& e) {  // out of memory, or a JSON string that is not UTF-8
    std::fflush(stdout);
    std::fprintf(stderr, "tern decode: %s\n", e.what());
    return 2;
  }
}

}  // namespace tern::cli
