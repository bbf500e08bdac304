# Generates C++ code for the CityLink wire schema (sdk/proto/citylink/v1/*.proto).
#
# Two flavours exist on purpose:
#  - full: used by the host (reflection, JSON, text format);
#  - lite: used by plugins. Lite code never registers in protobuf's global descriptor
#    pool, so a plugin's private copy of the schema can share a process with the host's
#    copy without the "File already exists in database" abort.
# The lite flavour is the same .proto text with `option optimize_for = LITE_RUNTIME;`
# appended, so both always describe the same wire format.

# citylink_generate_schema(<target> LITE|FULL PROTO_DIR <dir> PROTOS <rel paths...>)
function(citylink_generate_schema target flavour)
  cmake_parse_arguments(ARG "" "PROTO_DIR" "PROTOS" ${ARGN})
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
