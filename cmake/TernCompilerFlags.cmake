# Compiler flags shared by every Tern target.
#
# Warnings are per target (tern_set_warnings) so that a project embedding Tern with
# add_subdirectory() does not inherit them. Sanitizer and libFuzzer instrumentation are directory
# wide: every object in one binary must agree on them.

if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
  message(WARNING "Tern is only tested with g++ and clang++; "
                  "flags for ${CMAKE_CXX_COMPILER_ID} are left at their defaults")
endif()

set(TERN_WARNING_FLAGS
    -Wall
    -Wextra
    -Wpedantic
    -Wshadow
    -Wnon-virtual-dtor
    -Woverloaded-virtual
    -Wimplicit-fallthrough
    -Wformat=2
    -Wcast-qual
    -Wundef)

# tern_set_warnings(<target>): Tern's warning set (+ -Werror when TERN_WERROR) on one target.
function(tern_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
    target_compile_options(${target} PRIVATE ${TERN_WARNING_FLAGS})
    if(TERN_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# Flags the core itself is built with; public headers must also compile with them.
set(TERN_CORE_FLAGS -fno-exceptions -fno-rtti)

# TERN_INSTRUMENT_FLAGS: what a program linking an instrumented libtern_core also needs
# (the install_consumer test passes them to its consumer builds).
set(TERN_INSTRUMENT_FLAGS "")

if(TERN_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
    message(FATAL_ERROR "TERN_SANITIZE needs g++ or clang++")
  endif()
  list(APPEND TERN_INSTRUMENT_FLAGS -fsanitize=${TERN_SANITIZE} -fno-sanitize-recover=all
       -fno-omit-frame-pointer)
endif()

if(TERN_LIBFUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TERN_LIBFUZZER=ON needs clang++ (configure with "
                        "-DCMAKE_CXX_COMPILER=clang++, or use the `fuzz` preset)")
  endif()
  if(NOT TERN_BUILD_FUZZERS)
    message(WARNING "TERN_LIBFUZZER=ON has no effect while TERN_BUILD_FUZZERS=OFF")
  endif()
  # Coverage instrumentation everywhere (the library is what is being fuzzed); only the fuzz
  # targets themselves link libFuzzer's main() with -fsanitize=fuzzer (see fuzz/CMakeLists.txt).
  list(APPEND TERN_INSTRUMENT_FLAGS -fsanitize=fuzzer-no-link)
endif()

if(TERN_INSTRUMENT_FLAGS)
  add_compile_options(${TERN_INSTRUMENT_FLAGS})
  add_link_options(${TERN_INSTRUMENT_FLAGS})
endif()
