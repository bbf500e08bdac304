// Linked into every test executable of the ASan+UBSan build (CITYLINK_SANITIZE).
//
// Protobuf-lite code inside a plugin builds some statics lazily (enum name tables, type
// name strings) through libprotobuf and keeps the only pointer to them in the plugin's
// own globals. When the host unloads the plugin those globals are unmapped, so
// LeakSanitizer no longer sees the memory referenced and reports it. It is allocated once
// per library load, never per message; everything our own code allocates stays checked.
extern "C" const char* __lsan_default_suppressions() { return "leak:libprotobuf.so\n"; }
