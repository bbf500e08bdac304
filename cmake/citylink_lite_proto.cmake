# cmake -DIN=a.proto -DOUT=b.proto -P citylink_lite_proto.cmake
# Copies a .proto file and makes it generate protobuf-lite code.
file(READ ${IN} text)
file(WRITE ${OUT} "${text}\noption optimize_for = LITE_RUNTIME;\n")
