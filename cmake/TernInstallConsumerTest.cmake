# ctest `install_consumer`, run as: cmake -D... -P TernInstallConsumerTest.cmake
#
# Installs the Tern build tree BUILD_DIR into WORK_DIR/prefix, then builds CONSUMER_DIR (a tiny
# user project) against it twice: with find_package(tern) and with `pkg-config --cflags --libs
# tern`. Both programs must run and exit 0. With ADAPTERS=ON the same goes for a client program
# (tern::client, and `pkg-config tern-client`), and with ASIO=ON for an Asio program (tern::asio,
# and `pkg-config tern-asio`). FLAGS carries sanitizer/coverage flags the installed
# library was built with (a consumer must link their runtimes too).

foreach(var BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR CXX)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_consumer: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
run("install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

# 1. find_package(tern) + tern::core. CMAKE_FIND_USE_*: only the fresh prefix may satisfy it.
run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/cmake-build"
    -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    "-DCMAKE_CXX_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
run("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/cmake-build")
run("run consumer (cmake)" "${WORK_DIR}/cmake-build/consumer")
if(ADAPTERS)
  if(NOT EXISTS "${WORK_DIR}/cmake-build/client_consumer")
    message(FATAL_ERROR "install_consumer: the installed package has no tern::client")
  endif()
  run("run client consumer (cmake)" "${WORK_DIR}/cmake-build/client_consumer")
endif()
if(ASIO)
  if(NOT EXISTS "${WORK_DIR}/cmake-build/asio_consumer")
    message(FATAL_ERROR "install_consumer: the installed package has no tern::asio")
  endif()
  run("run asio consumer (cmake)" "${WORK_DIR}/cmake-build/asio_consumer")
endif()

# 2. pkg-config, the way a Makefile user would.
if(NOT PKG_CONFIG)
  message(WARNING "install_consumer: pkg-config not found, skipping the pkg-config check")
  return()
endif()
file(GLOB_RECURSE pc_files "${prefix}/*/tern.pc")
if(NOT pc_files)
  message(FATAL_ERROR "install_consumer: no tern.pc under ${prefix}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs tern
                OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install_consumer: pkg-config --cflags --libs tern failed (${rc})")
endif()
message(STATUS "pkg-config --cflags --libs tern: ${pc_flags}")
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(extra_flags UNIX_COMMAND "${FLAGS}")
run("compile consumer (pkg-config)" "${CXX}" -std=c++20 ${extra_flags}
    "${CONSUMER_DIR}/main.cpp" ${pc_flags} -o "${WORK_DIR}/consumer-pc")
run("run consumer (pkg-config)" "${WORK_DIR}/consumer-pc")

if(ADAPTERS)
  execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs tern-client
                  OUTPUT_VARIABLE pc_client_flags OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: pkg-config --cflags --libs tern-client failed (${rc})")
  endif()
  message(STATUS "pkg-config --cflags --libs tern-client: ${pc_client_flags}")
  separate_arguments(pc_client_flags UNIX_COMMAND "${pc_client_flags}")
  run("compile client consumer (pkg-config)" "${CXX}" -std=c++20 ${extra_flags}
      "${CONSUMER_DIR}/client_main.cpp" ${pc_client_flags} -o "${WORK_DIR}/client-consumer-pc")
  run("run client consumer (pkg-config)" "${WORK_DIR}/client-consumer-pc")
endif()

if(ASIO)
  execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs tern-asio
                  OUTPUT_VARIABLE pc_asio_flags OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: pkg-config --cflags --libs tern-asio failed (${rc})")
  endif()
  message(STATUS "pkg-config --cflags --libs tern-asio: ${pc_asio_flags}")
  separate_arguments(pc_asio_flags UNIX_COMMAND "${pc_asio_flags}")
  set(asio_extra_flags ${extra_flags})
  if(CXX MATCHES "clang" AND FLAGS MATCHES "undefined")  # llvm#49689, see the consumer's CMake
    list(APPEND asio_extra_flags -fno-sanitize=function)
  endif()
  run("compile asio consumer (pkg-config)" "${CXX}" -std=c++20 ${asio_extra_flags}
      "${CONSUMER_DIR}/asio_main.cpp" ${pc_asio_flags} -o "${WORK_DIR}/asio-consumer-pc")
  run("run asio consumer (pkg-config)" "${WORK_DIR}/asio-consumer-pc")
endif()
