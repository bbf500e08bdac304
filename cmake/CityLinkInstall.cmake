# Installation of the SDK (component `sdk`) and the host tools (component `host`), the CMake
# package and citylink.pc, and the CPack .deb packages `citylink-sdk` and `citylink`.
# Included at the end of the top-level CMakeLists.txt; the header, .proto and `citylink`
# install() rules sit beside their targets (sdk/, host/apps/).
#
#   cmake --install build --prefix DIR          # everything
#   cmake --install build --prefix DIR --component sdk
#   cd build && cpack -G DEB                    # citylink-sdk_*.deb, citylink_*.deb
include(CMakePackageConfigHelpers)

set(_cl_cmake_build ${CMAKE_CURRENT_BINARY_DIR}/cmake-package)

# CityLink::sdk (headers) as an exported target.
install(EXPORT CityLinkTargets NAMESPACE CityLink:: DESTINATION ${CITYLINK_INSTALL_CMAKEDIR} COMPONENT sdk)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/CityLinkConfig.cmake.in ${_cl_cmake_build}/CityLinkConfig.cmake
  INSTALL_DESTINATION ${CITYLINK_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CITYLINK_INSTALL_PROTODIR)
# find_package(CityLink 1) accepts any 1.x SDK at least as new as asked for.
write_basic_package_version_file(${_cl_cmake_build}/CityLinkConfigVersion.cmake
  VERSION ${CITYLINK_SDK_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
    ${_cl_cmake_build}/CityLinkConfig.cmake
    ${_cl_cmake_build}/CityLinkConfigVersion.cmake
    ${CMAKE_CURRENT_LIST_DIR}/CityLinkPlugin.cmake
    ${CMAKE_CURRENT_LIST_DIR}/CityLinkSchema.cmake
    ${CMAKE_CURRENT_LIST_DIR}/citylink_lite_proto.cmake
    ${CMAKE_CURRENT_LIST_DIR}/citylink_plugin.map
  DESTINATION ${CITYLINK_INSTALL_CMAKEDIR} COMPONENT sdk)

# citylink.pc, relocatable: its prefix is computed from where the file lies.
file(RELATIVE_PATH CITYLINK_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" CITYLINK_PC_PREFIX_FROM_PCDIR "${CITYLINK_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/citylink.pc.in ${_cl_cmake_build}/citylink.pc @ONLY)
install(FILES ${_cl_cmake_build}/citylink.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)

# --- CPack: two Debian packages --------------------------------------------------------
set(CPACK_PACKAGE_NAME citylink)
set(CPACK_PACKAGE_VENDOR "CityLink")
set(CPACK_PACKAGE_CONTACT "CityLink maintainers <citylink@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL sdk host)
if(CITYLINK_PYTHON AND TARGET citylink_python)
  list(APPEND CPACK_COMPONENTS_ALL python)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_SDK_PACKAGE_NAME citylink-sdk)
set(CPACK_DEBIAN_SDK_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS "cmake (>= 3.22), protobuf-compiler, libprotobuf-dev")
set(CPACK_DEBIAN_SDK_PACKAGE_SUGGESTS "protobuf-c-compiler, libprotobuf-c-dev, citylink")
set(CPACK_COMPONENT_SDK_DESCRIPTION
  "CityLink plugin SDK ${CITYLINK_SDK_VERSION}: C ABI, C++17 helper, wire schema, CMake package and citylink.pc")
set(CPACK_DEBIAN_HOST_PACKAGE_NAME citylink)
set(CPACK_DEBIAN_HOST_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_HOST_PACKAGE_SHLIBDEPS ON)
set(CPACK_COMPONENT_HOST_DESCRIPTION "CityLink host runtime and the `citylink` command (run, plugin inspect/verify, audit)")
set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-citylink)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "citylink (= ${PROJECT_VERSION}), python3, python3-protobuf, python3-zmq")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
  "CityLink for Python: import citylink (a host in the script, Python plugins, inspect/verify, CURVE client)")
include(CPack)
