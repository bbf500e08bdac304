// One receive for every host loop: a signal that interrupts zmq_recv (EINTR) is retried,
// never an exception that ends the host (M1 of the review; cppzmq throws on EINTR).
#pragma once

#include <zmq.hpp>

namespace citylink::host {

// True with a message, false when the socket's receive timeout passed (or nothing was
// waiting with dontwait). Any other ZeroMQ error is thrown.
inline bool receive(zmq::socket_t& socket, zmq::message_t& message, zmq::recv_flags flags = zmq::recv_flags::none) {
  while (true) {
    try {
      return socket.recv(message, flags).has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

}  // namespace citylink::host
