// Links against an installed Tern; exits 0 when the library answers as expected.
#include <tern/topic.hpp>

#include <cstdio>

int main() {
  if (!tern::is_valid_topic_name("a/b") || tern::is_valid_topic_name("a/+")) {
    std::puts("install_consumer: unexpected answer from tern::is_valid_topic_name");
    return 1;
  }
  std::puts("install_consumer: ok");
  return 0;
}
