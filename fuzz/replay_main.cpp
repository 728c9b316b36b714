// main() for a fuzz target built without libFuzzer (g++, or clang without -fsanitize=fuzzer):
// replays files and directories of inputs through LLVMFuzzerTestOneInput, so the seed corpora
// and every past finding run as regression tests under ctest.
//
//   fuzz_decode_v5 fuzz/corpus/fuzz_decode_v5 crash-1234...
//
// A directory contributes its regular files in name order (not recursive). A check that fails
// aborts, as it does under libFuzzer; the file being replayed is printed first when
// TERN_REPLAY_VERBOSE is set in the environment.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool replay(const std::filesystem::path& file, bool verbose) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (verbose) std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
  // An exact-size heap copy, as libFuzzer gives, so a read past the input is an ASan report.
  auto* copy = new std::uint8_t[bytes.size()];
  std::copy(bytes.begin(), bytes.end(), copy);
  LLVMFuzzerTestOneInput(copy, bytes.size());
  delete[] copy;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool verbose = std::getenv("TERN_REPLAY_VERBOSE") != nullptr;
  std::size_t count = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", argv[i], ec.message().c_str());
        ok = false;
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) count += replay(f, verbose) ? 1 : 0;
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      count += replay(arg, verbose) ? 1 : 0;
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      ok = false;
    }
  }
  std::printf("replayed %zu inputs\n", count);
  return ok ? 0 : 1;
}
