// One receive for every host loop: a signal that interrupts zmq_recv (EINTR) is retried,
// never an exception that ends the host (M1 of the review; cppzmq throws on EINTR). And the
// hand-over of a message's bytes between threads, made visible to ThreadSanitizer.
#pragma once

#include <zmq.hpp>

#if defined(__SANITIZE_THREAD__)
#define CITYLINK_TSAN_HANDOVER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CITYLINK_TSAN_HANDOVER 1
#endif
#endif
#ifdef CITYLINK_TSAN_HANDOVER
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace citylink::host {

// A message's bytes cross threads inside libzmq, which is not built with ThreadSanitizer, so
// under TSan (scripts/test --tsan) the sender releases and the receiver acquires the bytes'
// address, as the queue between them does. Nothing in other builds.
inline void handover_release([[maybe_unused]] zmq::message_t& message) {
#ifdef CITYLINK_TSAN_HANDOVER
  if (message.size() > 0) __tsan_release(message.data());
#endif
}
inline void handover_acquire([[maybe_unused]] zmq::message_t& message) {
#ifdef CITYLINK_TSAN_HANDOVER
  if (message.size() > 0) __tsan_acquire(message.data());
#endif
}

// True with a message, false when the socket's receive timeout passed (or nothing was
// waiting with dontwait). Any other ZeroMQ error is thrown.
inline bool receive(zmq::socket_t& socket, zmq::message_t& message, zmq::recv_flags flags = zmq::recv_flags::none) {
  while (true) {
    try {
      if (!socket.recv(message, flags)) return false;
      handover_acquire(message);
      return true;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

}  // namespace citylink::host
