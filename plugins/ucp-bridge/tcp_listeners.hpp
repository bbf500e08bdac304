// The bridge's inbound TCP links: line telegrams (interface B) and the legacy fixed-header
// messages of the 112 / 119 / social-vulnerable links (interface C), on one Boost.Asio
// thread. Each message is handed to the bridge and answered in the sender's own format;
// a message that cannot be read is answered with the error and kept for the operator.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "event.hpp"

namespace ucp_bridge {

class TcpListeners {
 public:
  // Returns "" when the event was accepted, else why not (sent back to the sender).
  using Accept = std::function<std::string(ucp::Inbound&&, const char* via)>;
  // A message that could not be read: the interface, the error, the raw bytes.
  using Reject = std::function<void(const char* via, const std::string& error, const std::string& raw)>;

  TcpListeners(Accept accept, Reject reject);
  ~TcpListeners();
  // Bind now (so a taken port is a start error); served once run() is called. Return the port.
  unsigned short listen_telegram(const std::string& host, unsigned short port, const std::string& encoding);
  unsigned short listen_legacy(const std::string& host, unsigned short port);
  void run();
  void stop();

  struct Impl;  // the sessions (tcp_listeners.cpp) reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucp_bridge
