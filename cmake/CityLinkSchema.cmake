# Generates code for the CityLink wire schema (sdk/proto/citylink/v1/*.proto).
#
# Three flavours exist on purpose:
#  - FULL: C++, used by the host (reflection, JSON, text format);
#  - LITE: C++, used by C++ plugins. Lite code never registers in protobuf's global
#    descriptor pool, so a plugin's private copy of the schema can share a process with the
#    host's copy without the "File already exists in database" abort. It is the same
#    .proto text with `option optimize_for = LITE_RUNTIME;` appended, so both always
#    describe the same wire format.
#  - C: C99 code from protoc-c (Debian: protobuf-c-compiler, libprotobuf-c-dev), used by C
#    plugins; it links libprotobuf-c and has no C++ in it at all.
#
# This file is used unchanged in this source tree and from the installed CMake package
# (find_package(CityLink)): there PROTO_DIR is <prefix>/share/citylink/proto and the code
# is generated in the vendor's own build.

# citylink_generate_schema(<target> LITE|FULL|C PROTO_DIR <dir> PROTOS <rel paths...>)
function(citylink_generate_schema target flavour)
  cmake_parse_arguments(ARG "" "PROTO_DIR" "PROTOS" ${ARGN})
  if(NOT flavour MATCHES "^(LITE|FULL|C)$")
    message(FATAL_ERROR "citylink_generate_schema(${target}): flavour must be LITE, FULL or C, not '${flavour}'")
  endif()
  if(NOT ARG_PROTO_DIR OR NOT ARG_PROTOS)
    message(FATAL_ERROR "citylink_generate_schema(${target}): PROTO_DIR and PROTOS are required")
  endif()
  if(flavour STREQUAL "C")
    _citylink_generate_schema_c(${target} ${ARG_PROTO_DIR} ${ARG_PROTOS})
    return()
  endif()
  if(NOT TARGET protobuf::protoc OR NOT TARGET protobuf::libprotobuf-lite)
    find_package(Protobuf)
    if(NOT TARGET protobuf::protoc OR NOT TARGET protobuf::libprotobuf-lite)
      message(FATAL_ERROR "CityLink: the C++ schema needs protoc and libprotobuf-lite "
                          "(Debian: apt-get install protobuf-compiler libprotobuf-dev)")
    endif()
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  set(src_dir ${out_dir}/proto)
  set(sources)
  foreach(rel IN LISTS ARG_PROTOS)
    get_filename_component(stem ${rel} NAME_WE)
    get_filename_component(reldir ${rel} DIRECTORY)
    set(in ${ARG_PROTO_DIR}/${rel})
    set(copy ${src_dir}/${rel})
    if(flavour STREQUAL "LITE")
      add_custom_command(OUTPUT ${copy}
        COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${copy} -P ${CITYLINK_CMAKE_DIR}/citylink_lite_proto.cmake
        DEPENDS ${in} ${CITYLINK_CMAKE_DIR}/citylink_lite_proto.cmake
        COMMENT "CityLink schema (lite): ${rel}" VERBATIM)
    else()
      add_custom_command(OUTPUT ${copy}
        COMMAND ${CMAKE_COMMAND} -E copy ${in} ${copy}
        DEPENDS ${in} COMMENT "CityLink schema (full): ${rel}" VERBATIM)
    endif()
    list(APPEND copies ${copy})
    list(APPEND sources ${out_dir}/${reldir}/${stem}.pb.cc)
    list(APPEND headers ${out_dir}/${reldir}/${stem}.pb.h)
  endforeach()
  add_custom_command(OUTPUT ${sources} ${headers}
    COMMAND protobuf::protoc --cpp_out=${out_dir} -I ${src_dir} ${ARG_PROTOS}
    WORKING_DIRECTORY ${src_dir}
    DEPENDS ${copies} protobuf::protoc
    COMMENT "protoc ${target}" VERBATIM)
  add_library(${target} STATIC ${sources} ${headers})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_STANDARD 17)
  # Generated code is not ours to warn about.
  target_compile_options(${target} PRIVATE -w)
  target_include_directories(${target} SYSTEM PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  if(flavour STREQUAL "LITE")
    set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    target_link_libraries(${target} PUBLIC protobuf::libprotobuf-lite)
  else()
    target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  endif()
endfunction()

# The C flavour: protoc-c writes citylink/v1/<stem>.pb-c.{c,h}; the library links libprotobuf-c.
function(_citylink_generate_schema_c target proto_dir)
  set(protos ${ARGN})
  find_program(CITYLINK_PROTOC_C_EXECUTABLE NAMES protoc-c protoc-gen-c
               DOC "protoc-c, the protobuf-c code generator (Debian: protobuf-c-compiler)")
  if(NOT CITYLINK_PROTOC_C_EXECUTABLE)
    message(FATAL_ERROR "CityLink: LANGUAGE C needs protoc-c to generate the C schema "
                        "(Debian: apt-get install protobuf-c-compiler libprotobuf-c-dev)")
  endif()
  if(NOT TARGET CityLink::protobuf-c)
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(CITYLINK_PROTOBUF_C QUIET IMPORTED_TARGET GLOBAL libprotobuf-c)
    endif()
    if(TARGET PkgConfig::CITYLINK_PROTOBUF_C)
      add_library(CityLink::protobuf-c ALIAS PkgConfig::CITYLINK_PROTOBUF_C)
    else()
      find_path(CITYLINK_PROTOBUF_C_INCLUDE_DIR protobuf-c/protobuf-c.h)
      find_library(CITYLINK_PROTOBUF_C_LIBRARY protobuf-c)
      if(NOT CITYLINK_PROTOBUF_C_INCLUDE_DIR OR NOT CITYLINK_PROTOBUF_C_LIBRARY)
        message(FATAL_ERROR "CityLink: LANGUAGE C needs libprotobuf-c "
                            "(Debian: apt-get install libprotobuf-c-dev)")
      endif()
      add_library(CityLink::protobuf-c UNKNOWN IMPORTED GLOBAL)
      set_target_properties(CityLink::protobuf-c PROPERTIES
        IMPORTED_LOCATION ${CITYLINK_PROTOBUF_C_LIBRARY}
        INTERFACE_INCLUDE_DIRECTORIES ${CITYLINK_PROTOBUF_C_INCLUDE_DIR})
    endif()
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  set(sources)
  set(headers)
  set(ins)
  foreach(rel IN LISTS protos)
    get_filename_component(stem ${rel} NAME_WE)
    get_filename_component(reldir ${rel} DIRECTORY)
    list(APPEND ins ${proto_dir}/${rel})
    list(APPEND sources ${out_dir}/${reldir}/${stem}.pb-c.c)
    list(APPEND headers ${out_dir}/${reldir}/${stem}.pb-c.h)
  endforeach()
  add_custom_command(OUTPUT ${sources} ${headers}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${CITYLINK_PROTOC_C_EXECUTABLE} --c_out=${out_dir} -I ${proto_dir} ${protos}
    WORKING_DIRECTORY ${proto_dir}
    DEPENDS ${ins}
    COMMENT "protoc-c ${target}" VERBATIM)
  add_library(${target} STATIC ${sources} ${headers})
  set_target_properties(${target} PROPERTIES
    LINKER_LANGUAGE C
    POSITION_INDEPENDENT_CODE ON
    C_STANDARD 99
    C_STANDARD_REQUIRED ON
    C_VISIBILITY_PRESET hidden)
  target_compile_options(${target} PRIVATE -w)
  target_include_directories(${target} SYSTEM PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  target_link_libraries(${target} PUBLIC CityLink::protobuf-c)
endfunction()
