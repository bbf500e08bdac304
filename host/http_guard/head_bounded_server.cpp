// Reads the head itself, looking only at the bytes that arrived since the last look (so a
// client that sends a byte at a time costs linear, not quadratic, work), then serves the one
// request of the connection through the library's own request processing, which reads what
// was already taken first.
#include <citylink/http_guard/head_bounded_server.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string>

namespace citylink::http_guard {

HeadCheck check_head(std::string_view seen, std::size_t max_head_bytes) {
  const auto end = seen.find("\r\n\r\n");
  if (end != std::string_view::npos && end + 4 <= max_head_bytes) return HeadCheck::complete;
  // A client that ends lines with a bare LF (HTTP/1.1 allows a reader to accept it).
  const auto lf = seen.find("\n\n");
  if (lf != std::string_view::npos && lf + 2 <= max_head_bytes) return HeadCheck::complete;
  return seen.size() >= max_head_bytes ? HeadCheck::too_large : HeadCheck::incomplete;
}

HeadBoundedServer::HeadBoundedServer(std::size_t max_head_bytes, Refusal refusal)
    : max_head_(max_head_bytes), refusal_(std::move(refusal)) {}

namespace {

// The connection as the library reads and writes it, for one request: cpp-httplib's own
// socket stream and its server loop are private to the library.
class OneRequestStream : public httplib::Stream {
 public:
  // `taken`: what was read from the socket already (the head, and whatever followed it).
  OneRequestStream(int sock, std::chrono::microseconds read_timeout, std::chrono::microseconds write_timeout,
                   std::string taken = {})
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout), buf_(std::move(taken)) {}

  bool is_readable() const override { return off_ < buf_.size() || wait(POLLIN, read_timeout_); }
  bool is_writable() const override { return wait(POLLOUT, write_timeout_); }

  // The library reads its request line and headers a byte at a time: served from a buffer.
  ssize_t read(char* ptr, size_t size) override {
    if (off_ == buf_.size()) {
      if (!wait(POLLIN, read_timeout_)) return -1;
      buf_.resize(4096);
      ssize_t n;
      do n = ::recv(sock_, buf_.data(), buf_.size(), 0);
      while (n < 0 && errno == EINTR);
      buf_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      off_ = 0;
      if (n <= 0) return n;
    }
    const std::size_t k = std::min(size, buf_.size() - off_);
    std::memcpy(ptr, buf_.data() + off_, k);
    off_ += k;
    return static_cast<ssize_t>(k);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!wait(POLLOUT, write_timeout_)) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(getsockname, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  bool wait(short events, std::chrono::microseconds timeout) const {
    pollfd p{sock_, events, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
    while (r < 0 && errno == EINTR);
    return r > 0;
  }
  void address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ip.clear();
    port = 0;
    if (get(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char text[INET6_ADDRSTRLEN] = "";
    if (addr.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      port = ntohs(a->sin6_port);
    }
    ip = text;
  }

  int sock_;
  std::chrono::microseconds read_timeout_, write_timeout_;
  std::string buf_;  // read from the socket, not yet handed to the library from off_ on
  std::size_t off_ = 0;
};

std::string peer_of(int sock) {
  OneRequestStream s(sock, {}, {});
  std::string ip;
  int port = 0;
  s.get_remote_ip_and_port(ip, port);
  return ip.empty() ? "unknown peer" : ip + ":" + std::to_string(port);
}

void send_all(int sock, const std::string& data) {
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::send(sock, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the peer is gone: nothing more to tell it
    off += static_cast<std::size_t>(n);
  }
}

// Ends a connection so the peer gets what was sent: a close with unread data resets it, and
// the peer may lose the answer, so what it still sends is read and thrown away, for at most
// a second.
void close_gracefully(int sock) {
  ::shutdown(sock, SHUT_WR);
  char sink[16 * 1024];
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count())) <= 0)
      break;
    if (::recv(sock, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
  }
  ::close(sock);
}

}  // namespace

HeadBoundedServer::Wait HeadBoundedServer::wait_for_head(socket_t sock, std::string& taken) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(read_timeout_sec_) +
                        std::chrono::microseconds(read_timeout_usec_);
  taken.clear();
  char chunk[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Wait::timed_out;
    pollfd p{sock, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return Wait::timed_out;
    // Never more than one byte past the bound: what follows the head stays in the socket.
    const std::size_t room = std::min(sizeof chunk, max_head_ + 1 - taken.size());
    const ssize_t n = ::recv(sock, chunk, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // Closed or failed: the library reads what there is and answers or closes as it would.
    if (n <= 0) return Wait::complete;
    // The end of the head may straddle the last look: look again from 3 bytes before.
    const std::size_t from = taken.size() > 3 ? taken.size() - 3 : 0;
    taken.append(chunk, static_cast<std::size_t>(n));
    switch (check_head(std::string_view(taken).substr(from), max_head_ - from)) {
      case HeadCheck::complete: return Wait::complete;
      case HeadCheck::too_large: return Wait::too_large;
      case HeadCheck::incomplete: break;
    }
  }
}

bool HeadBoundedServer::process_and_close_socket(socket_t sock) {
  std::string taken;
  const Wait w = wait_for_head(sock, taken);
  if (w == Wait::complete) {
    OneRequestStream stream(sock, std::chrono::seconds(read_timeout_sec_) + std::chrono::microseconds(read_timeout_usec_),
                            std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_),
                            std::move(taken));
    bool closed = false;
    const bool served = process_request(stream, /*close_connection=*/true, closed, nullptr);
    close_gracefully(sock);
    return served;
  }
  if (w == Wait::too_large) {
    const std::string body = refusal_ ? refusal_(peer_of(sock), taken.size()) : std::string();
    send_all(sock, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: "
                   "application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  close_gracefully(sock);
  return false;
}

}  // namespace citylink::http_guard
