// Placeholder: being written.
#include <cstdio>

#include "commands.hpp"

int tern::cli::pub_main(int, char**) {
  std::fputs("tern pub: not available in this build\n", stderr);
  return 2;
}
