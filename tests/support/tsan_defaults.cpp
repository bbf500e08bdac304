// Linked into the test executables and the `citylink` command of the ThreadSanitizer build
// (CITYLINK_TSAN, scripts/test --tsan). Compiled in rather than set in the environment, so
// the worker processes the host starts with a clean environment get them too.
//
// Any report fails the run (exitcode 66). The suppressions: libzmq is not built with TSan,
// so what its I/O threads copy through the sockets (recv, send, memcpy called from libzmq)
// and decrypt in place for CURVE (libsodium, called from those threads) cannot be ordered
// by TSan; the hand-over to our threads is annotated instead (citylink/host/receive.hpp).
// Our own code is never suppressed.
extern "C" const char* __tsan_default_options() { return "second_deadlock_stack=1:exitcode=66"; }
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libzmq.so\ncalled_from_lib:libsodium.so\n";  // any soname version
}
