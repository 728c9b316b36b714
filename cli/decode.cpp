// Placeholder: being written.
#include <cstdio>

#include "commands.hpp"

int tern::cli::decode_main(int, char**) {
  std::fputs("tern decode: not available in this build\n", stderr);
  return 2;
}
