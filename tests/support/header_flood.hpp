// An HTTP client that sends a request line and then headers without end (the attack the
// head bound is for), reading the server's answer while it sends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace citylink::test {

// Connects to 127.0.0.1:`port`, sends `request_line` and up to `headers` headers of about
// 100 bytes each, and returns every byte the server sent back before it closed.
inline std::string send_header_flood(int port, const std::string& request_line, std::size_t headers = 200'000) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::atomic<bool> done{false};
  std::thread sender([&] {
    std::string head = request_line + "\r\nHost: 127.0.0.1\r\n";
    (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    for (std::size_t i = 0; i < headers && !done; ++i) {
      const std::string h = "X-Flood-" + std::to_string(i) + ": " + std::string(90, 'v') + "\r\n";
      if (::send(fd, h.data(), h.size(), MSG_NOSIGNAL) <= 0) break;  // the server closed
    }
  });
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  done = true;
  ::shutdown(fd, SHUT_RDWR);
  sender.join();
  ::close(fd);
  return answer;
}

}  // namespace citylink::test
