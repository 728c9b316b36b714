// Placeholder: being written.
#include <cstdio>

#include "commands.hpp"

int tern::cli::bench_main(int, char**) {
  std::fputs("tern bench: not available in this build\n", stderr);
  return 2;
}
