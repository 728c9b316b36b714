# ctest / meson test `source_lists`: cmake -DSOURCE_DIR=<repo> -P TernCheckSourceLists.cmake
#
# Both build systems list their sources explicitly. This fails when a file exists on disk but one
# of the two build descriptions does not mention it (the usual way a new test silently never runs).

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "SOURCE_DIR is not set")
endif()

set(problems "")

# check(<glob relative to SOURCE_DIR> <prefix to strip> <how it is named> <build files...>)
function(check pattern strip)
  file(GLOB files RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/${pattern}")
  foreach(build_file IN LISTS ARGN)
    file(READ "${SOURCE_DIR}/${build_file}" text)
    foreach(file IN LISTS files)
      string(REPLACE "${strip}" "" name "${file}")
      string(FIND "${text}" "${name}" at)
      if(at EQUAL -1)
        list(APPEND problems "${file} is not listed in ${build_file}")
      endif()
    endforeach()
  endforeach()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()

check("core/include/tern/*.hpp" "core/include/" core/CMakeLists.txt core/meson.build)
check("core/src/*.cpp" "core/" core/CMakeLists.txt core/meson.build)
check("core/src/*.hpp" "core/" core/CMakeLists.txt core/meson.build)
check("tests/unit/*.cpp" "tests/" tests/CMakeLists.txt tests/meson.build)
check("adapters/include/tern/*.hpp" "adapters/include/" adapters/CMakeLists.txt adapters/meson.build)
check("adapters/include/tern/net/*.hpp" "adapters/include/" adapters/CMakeLists.txt adapters/meson.build)
check("adapters/net/*.cpp" "adapters/" adapters/CMakeLists.txt adapters/meson.build)
check("adapters/client/*.cpp" "adapters/" adapters/CMakeLists.txt adapters/meson.build)
check("tests/adapters/*.cpp" "tests/" tests/CMakeLists.txt tests/meson.build)
check("tests/integration/*.cpp" "tests/" tests/CMakeLists.txt tests/meson.build)
check("cli/*.cpp" "cli/" cli/CMakeLists.txt cli/meson.build)
check("cli/*.hpp" "cli/" cli/CMakeLists.txt cli/meson.build)
check("tests/cli/*.cpp" "tests/" tests/CMakeLists.txt tests/meson.build)
check("tests/cli/*.sh" "tests/" tests/CMakeLists.txt tests/meson.build)
check("examples/*.cpp" "examples/" examples/CMakeLists.txt examples/meson.build)

if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "source lists out of date:\n  ${text}")
endif()
message(STATUS "source lists: CMake and meson name every source file")
