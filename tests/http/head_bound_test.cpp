// The bound on a request's head (host/http_guard): a flood of headers is answered 431
// before the library reads it; heads that arrive slowly or not at all are served or
// closed as before.
#include <citylink/http_guard/head_bounded_server.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "header_flood.hpp"

using citylink::http_guard::check_head;
using citylink::http_guard::HeadBoundedServer;
using citylink::http_guard::HeadCheck;

namespace {

class GuardedServer {
 public:
  explicit GuardedServer(std::size_t max_head) : server(max_head, [this](const std::string& peer, std::size_t seen) {
    refused_peer = peer;
    refused_seen = seen;
    return std::string(R"({"error":"too large"})");
  }) {
    server.Post("/x", [this](const httplib::Request& req, httplib::Response& res) {
      ++served;
      res.set_content("got " + req.body, "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~GuardedServer() {
    server.stop();
    thread.join();
  }
  HeadBoundedServer server;
  std::atomic<int> served{0};
  std::string refused_peer;
  std::size_t refused_seen = 0;
  int port = 0;
  std::thread thread;
};

// Raw bytes in pieces, then everything the server answers until it closes.
std::string exchange_in_pieces(int port, const std::vector<std::string>& pieces, bool close_early = false) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  for (const auto& p : pieces) {
    (void)::send(fd, p.data(), p.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // so the server sees each piece apart
  }
  if (close_early) ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace

TEST(HeadBound, TheEndOfTheHeadMustComeWithinTheBound) {
  EXPECT_EQ(check_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 100), HeadCheck::complete);
  EXPECT_EQ(check_head("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody follows", 100), HeadCheck::complete);
  EXPECT_EQ(check_head("GET / HTTP/1.1\nHost: a\n\n", 100), HeadCheck::complete);
  EXPECT_EQ(check_head("GET / HTTP/1.1\r\nHost: a\r\n", 100), HeadCheck::incomplete);
  const std::string exact = "GET / HTTP/1.1\r\nX: " + std::string(100 - 23, 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 100u);
  EXPECT_EQ(check_head(exact, 100), HeadCheck::complete);
  EXPECT_EQ(check_head(exact, 99), HeadCheck::too_large);
  EXPECT_EQ(check_head(std::string(100, 'a'), 100), HeadCheck::too_large);
}

TEST(HeadBound, AFloodOfHeadersIsAnswered431AndNeverReachesAHandler) {
  GuardedServer s(16 * 1024);
  const std::string answer = citylink::test::send_header_flood(s.port, "POST /x HTTP/1.1");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find(R"({"error":"too large"})"), std::string::npos);
  EXPECT_EQ(s.served, 0);
  EXPECT_GE(s.refused_seen, 16u * 1024);
  EXPECT_EQ(s.refused_peer.rfind("127.0.0.1:", 0), 0u);
  // The server serves the next client.
  httplib::Client c("127.0.0.1", s.port);
  auto r = c.Post("/x", "hello", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "got hello");
}

// The pieces split the blank line that ends the head, and the body's start comes with it.
TEST(HeadBound, AHeadThatArrivesInPiecesIsServedAndAPeerThatLeavesMidHeadChangesNothing) {
  GuardedServer s(16 * 1024);
  const std::string answer = exchange_in_pieces(
      s.port, {"POST /x HTTP/1.1\r\nHo", "st: 127.0.0.1\r\nContent-Length: 5\r\n", "X-A: b\r\n\r", "\nhel", "lo"});
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("got hello"), std::string::npos);
  EXPECT_EQ(exchange_in_pieces(s.port, {"POST /x HTTP/1.1\r\nHost: a"}, true).find("200"), std::string::npos);
  EXPECT_EQ(s.served, 1);
  httplib::Client c("127.0.0.1", s.port);
  auto r = c.Post("/x", "again", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "got again");
}
