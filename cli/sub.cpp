// Placeholder: being written.
#include <cstdio>

#include "commands.hpp"

int tern::cli::sub_main(int, char**) {
  std::fputs("tern sub: not available in this build\n", stderr);
  return 2;
}
