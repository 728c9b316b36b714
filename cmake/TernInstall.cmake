# Install rules: headers, the libraries, CMake package files (find_package(tern) → tern::core,
# tern::net / tern::client when the adapters are built, tern::asio when Asio was found too) and
# relocatable pkg-config files (tern.pc; tern-client.pc with the adapters; tern-asio.pc).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TERN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tern"
    CACHE STRING "Where ternConfig.cmake is installed, relative to the prefix")
set(TERN_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where tern.pc is installed, relative to the prefix")

set(_tern_install_targets tern_core)
set(TERN_WITH_ADAPTERS OFF)
if(TARGET tern_net AND TARGET tern_client)
  list(APPEND _tern_install_targets tern_net tern_client)
  set(TERN_WITH_ADAPTERS ON)
endif()
set(TERN_WITH_ASIO OFF)
if(TERN_WITH_ADAPTERS AND TARGET tern_asio)
  list(APPEND _tern_install_targets tern_asio)
  set(TERN_WITH_ASIO ON)
endif()
install(TARGETS ${_tern_install_targets}
  EXPORT ternTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT ternTargets
  NAMESPACE tern::
  FILE ternTargets.cmake
  DESTINATION ${TERN_INSTALL_CMAKEDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/ternConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ternConfig.cmake
  INSTALL_DESTINATION ${TERN_INSTALL_CMAKEDIR})
# 0.x: a minor release may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/ternConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ternConfig.cmake ${PROJECT_BINARY_DIR}/ternConfigVersion.cmake
        DESTINATION ${TERN_INSTALL_CMAKEDIR})

# pkg-config: paths relative to ${pcfiledir}, so the tree works wherever it is installed to
# (cmake --install --prefix chooses the prefix after configuration).
function(_tern_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${TERN_INSTALL_PKGCONFIGDIR}")
  set(TERN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _tern_pc_up "/prefix/${TERN_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _tern_pc_up "${_tern_pc_up}")
  set(TERN_PC_PREFIX "\${pcfiledir}/${_tern_pc_up}")
endif()
_tern_pc_path(TERN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
_tern_pc_path(TERN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/tern.pc.in ${PROJECT_BINARY_DIR}/tern.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tern.pc DESTINATION ${TERN_INSTALL_PKGCONFIGDIR})

if(TERN_WITH_ADAPTERS)
  # Static libraries carry no record of what they need: their users link it themselves.
  # (Debian's wslay has no pkg-config file, hence -lwslay.)
  if(BUILD_SHARED_LIBS)
    set(TERN_PC_OPENSSL_PUBLIC "")
    set(TERN_PC_OPENSSL_PRIVATE "openssl")
    set(TERN_PC_CLIENT_LIBS "")
    set(TERN_PC_CLIENT_PRIVATE_LIBS "-lwslay -pthread")
  else()
    set(TERN_PC_OPENSSL_PUBLIC ", openssl")
    set(TERN_PC_OPENSSL_PRIVATE "")
    set(TERN_PC_CLIENT_LIBS "-lwslay -pthread")
    set(TERN_PC_CLIENT_PRIVATE_LIBS "")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tern-client.pc.in ${PROJECT_BINARY_DIR}/tern-client.pc
                 @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/tern-client.pc DESTINATION ${TERN_INSTALL_PKGCONFIGDIR})
  if(TERN_WITH_ASIO)
    configure_file(${PROJECT_SOURCE_DIR}/cmake/tern-asio.pc.in ${PROJECT_BINARY_DIR}/tern-asio.pc
                   @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/tern-asio.pc DESTINATION ${TERN_INSTALL_PKGCONFIGDIR})
  endif()
endif()
