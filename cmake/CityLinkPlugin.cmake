# citylink_add_plugin(<name> SOURCES <files...> [LIBRARIES <libs...>] [OUTPUT_NAME <file stem>])
#
# Builds a CityLink plugin library the way every vendor must: C++17, hidden visibility,
# and a linker version script so the only exported symbol is `citylink_entry`. The plugin
# gets the SDK headers and its own private protobuf-lite copy of the wire schema; it never
# links against the host.
set(CITYLINK_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

function(citylink_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "citylink_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE CityLink::sdk CityLink::schema_lite ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    PREFIX ""
    LINK_DEPENDS ${CITYLINK_CMAKE_DIR}/citylink_plugin.map)
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${CITYLINK_CMAKE_DIR}/citylink_plugin.map"
    "LINKER:--no-undefined")
endfunction()
