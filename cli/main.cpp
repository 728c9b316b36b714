// `tern <command> [options]`: dispatches to the subcommand, which parses the rest.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"

namespace {

constexpr const char* usage =
    "usage: tern <command> [options]\n"
    "\n"
    "commands:\n"
    "  pub     publish messages (options of mosquitto_pub)\n"
    "  sub     subscribe and print messages (options of mosquitto_sub)\n"
    "  decode  decode MQTT bytes (hex, binary file or stdin) and print every packet\n"
    "  bench   load-test a broker with publisher and subscriber connections\n"
    "\n"
    "`tern <command> --help` describes a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "help") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("tern %s\n", TERN_VERSION);
    return 0;
  }
  using entry = int (*)(int, char**);
  entry run = nullptr;
  if (command == "pub") run = tern::cli::pub_main;
  else if (command == "sub") run = tern::cli::sub_main;
  else if (command == "decode") run = tern::cli::decode_main;
  else if (command == "bench") run = tern::cli::bench_main;
  if (run == nullptr) {
    std::fprintf(stderr, "tern: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
  }
  // The subcommand sees "tern <command>" as its program name, then its own arguments.
  std::string name = std::string("tern ") + argv[1];
  std::vector<char*> args;
  args.push_back(name.data());
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  return run(static_cast<int>(args.size() - 1), args.data());
}
