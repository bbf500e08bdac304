// Peeks at the head with MSG_PEEK and waits for more with SO_RCVLOWAT, so the library still
// reads the whole request itself and nothing is held twice; then serves the one request of
// the connection through the library's own request processing.
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
#include <vector>

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
  OneRequestStream(int sock, std::chrono::microseconds read_timeout, std::chrono::microseconds write_timeout)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool is_readable() const override { return off_ < len_ || wait(POLLIN, read_timeout_); }
  bool is_writable() const override { return wait(POLLOUT, write_timeout_); }

  // The library reads its request line and headers a byte at a time: served from a buffer.
  ssize_t read(char* ptr, size_t size) override {
    if (off_ == len_) {
      if (!wait(POLLIN, read_timeout_)) return -1;
      ssize_t n;
      do n = ::recv(sock_, buf_, sizeof buf_, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      off_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const std::size_t k = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, k);
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
  char buf_[4096];
  std::size_t off_ = 0, len_ = 0;
};

std::string peer_of(int sock) {
  OneRequestStream s(sock, {}, {});
  std::string ip;
  int port = 0;
  s.get_remote_ip_and_port(ip, port);
  return ip.empty() ? "unknown peer" : ip + ":" + std::to_string(port);
}

void set_low_water(int sock, int bytes) { (void)setsockopt(sock, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes); }

void send_all(int sock, const std::string& data) {
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::send(sock, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the peer is gone: nothing more to tell it
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

HeadBoundedServer::Wait HeadBoundedServer::wait_for_head(socket_t sock, std::size_t& seen) const {
  std::vector<char> buf(max_head_ + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(read_timeout_sec_) +
                        std::chrono::microseconds(read_timeout_usec_);
  seen = 0;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Wait::timed_out;
    // Readable only once more than what was already seen has arrived (or the peer closed).
    set_low_water(sock, static_cast<int>(seen + 1));
    pollfd p{sock, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return Wait::timed_out;
    const ssize_t n = ::recv(sock, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // Closed, failed or no longer growing (the peer shut its side): the library reads what
    // there is and answers or closes as it would.
    if (n <= 0 || static_cast<std::size_t>(n) <= seen) return Wait::complete;
    seen = static_cast<std::size_t>(n);
    switch (check_head(std::string_view(buf.data(), seen), max_head_)) {
      case HeadCheck::complete: return Wait::complete;
      case HeadCheck::too_large: return Wait::too_large;
      case HeadCheck::incomplete: break;
    }
  }
}

bool HeadBoundedServer::process_and_close_socket(socket_t sock) {
  std::size_t seen = 0;
  const Wait w = wait_for_head(sock, seen);
  set_low_water(sock, 1);
  if (w == Wait::complete) {
    OneRequestStream stream(sock, std::chrono::seconds(read_timeout_sec_) + std::chrono::microseconds(read_timeout_usec_),
                            std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_));
    bool closed = false;
    const bool served = process_request(stream, /*close_connection=*/true, closed, nullptr);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return served;
  }
  if (w == Wait::too_large) {
    const std::string body = refusal_ ? refusal_(peer_of(sock), seen) : std::string();
    send_all(sock, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: "
                   "application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // A close with unread data resets the connection, and the peer may lose the answer: what
  // it still sends is read and thrown away, for at most a second.
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
  return false;
}

}  // namespace citylink::http_guard
