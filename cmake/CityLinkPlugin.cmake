# citylink_add_plugin(<name> SOURCES <files...>
#                     [LIBRARIES <libs...>]
#                     [LANGUAGE CXX|C]
#                     [OUTPUT_DIRECTORY <dir>]
#                     [OUTPUT_NAME <file stem>])
#
# Builds a CityLink plugin library the way every vendor must: hidden visibility, and a
# linker version script so the only exported symbol is `citylink_entry`. The plugin gets
# the SDK headers and its own private copy of the wire schema; it never links against the
# host.
#
#  LANGUAGE CXX (default): C++17; the schema is protobuf-lite C++ code (CityLink::schema_lite,
#                          `#include <citylink/v1/camera.pb.h>`), linked with libprotobuf-lite.
#  LANGUAGE C:             C99; the schema is protobuf-c code (CityLink::schema_c,
#                          `#include <citylink/v1/camera.pb-c.h>`), linked with libprotobuf-c.
#                          No C++ runtime is linked.
#  OUTPUT_DIRECTORY:       where <name>.so is written (default: CMake's usual place).
#  OUTPUT_NAME:            the file stem (default: <name>).
#
# The same function serves this source tree and the installed package
# (find_package(CityLink 1 REQUIRED)); the schema library is generated the first time a
# plugin of that language asks for it, from CITYLINK_PROTO_DIR (in-tree: sdk/proto;
# installed: <prefix>/share/citylink/proto), in the caller's own build.
set(CITYLINK_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

# The schema library for `language`, created on first use; its name is put in `out_var`.
function(_citylink_schema_target out_var language)
  if(language STREQUAL "C")
    set(target citylink_schema_c)
    set(alias CityLink::schema_c)
    set(flavour C)
  else()
    set(target citylink_schema_lite)
    set(alias CityLink::schema_lite)
    set(flavour LITE)
  endif()
  if(NOT TARGET ${alias})
    if(NOT CITYLINK_PROTO_DIR OR NOT CITYLINK_PROTOS)
      message(FATAL_ERROR "citylink_add_plugin: CITYLINK_PROTO_DIR/CITYLINK_PROTOS are not set; "
                          "call find_package(CityLink 1 REQUIRED) first")
    endif()
    citylink_generate_schema(${target} ${flavour} PROTO_DIR ${CITYLINK_PROTO_DIR} PROTOS ${CITYLINK_PROTOS})
    add_library(${alias} ALIAS ${target})
  endif()
  set(${out_var} ${alias} PARENT_SCOPE)
endfunction()

function(citylink_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME;OUTPUT_DIRECTORY;LANGUAGE" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "citylink_add_plugin(${name}): SOURCES is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "citylink_add_plugin(${name}): unknown arguments '${ARG_UNPARSED_ARGUMENTS}'; "
                        "known: SOURCES LIBRARIES LANGUAGE OUTPUT_DIRECTORY OUTPUT_NAME")
  endif()
  if(NOT ARG_LANGUAGE)
    set(ARG_LANGUAGE CXX)
  endif()
  if(NOT ARG_LANGUAGE MATCHES "^(CXX|C)$")
    message(FATAL_ERROR "citylink_add_plugin(${name}): LANGUAGE must be CXX or C, not '${ARG_LANGUAGE}'")
  endif()
  _citylink_schema_target(schema ${ARG_LANGUAGE})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE CityLink::sdk ${schema} ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    PREFIX ""
    LINK_DEPENDS ${CITYLINK_CMAKE_DIR}/citylink_plugin.map)
  if(ARG_LANGUAGE STREQUAL "C")
    set_target_properties(${name} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON LINKER_LANGUAGE C)
  else()
    set_target_properties(${name} PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
  endif()
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${CITYLINK_CMAKE_DIR}/citylink_plugin.map"
    "LINKER:--no-undefined")
endfunction()
