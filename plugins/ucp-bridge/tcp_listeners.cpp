#include "tcp_listeners.hpp"

#include <boost/asio.hpp>

#include <array>
#include <chrono>
#include <vector>

#include "legacy.hpp"
#include "telegram.hpp"
#include "text.hpp"

namespace ucp_bridge {

namespace asio = boost::asio;
using asio::ip::tcp;

struct TcpListeners::Impl {
  // Links from the platform are few and long-lived; more than this at once is not a sender.
  static constexpr int kMaxSessions = 256;
  Accept accept;
  Reject reject;
  int sessions = 0;  // on the io thread only
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::thread thread;

  tcp::acceptor& bind(const std::string& host, unsigned short port) {
    const tcp::endpoint ep(asio::ip::make_address(host), port);
    auto a = std::make_unique<tcp::acceptor>(io);
    a->open(ep.protocol());
    a->set_option(asio::socket_base::reuse_address(true));
    a->bind(ep);
    a->listen();
    acceptors.push_back(std::move(a));
    return *acceptors.back();
  }

  template <class Session, class... Args>
  void accept_loop(tcp::acceptor& a, Args... args) {
    a.async_accept([this, &a, args...](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (sessions >= kMaxSessions) {
          reject("tcp", "more than " + std::to_string(kMaxSessions) + " connections at once; this one is closed", "");
          boost::system::error_code ignored;
          s.close(ignored);
        } else {
          std::make_shared<Session>(*this, std::move(s), args...)->read();
        }
        return accept_loop<Session>(a, args...);
      }
      // Out of descriptors, say: try again in a moment rather than spin.
      auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
      t->async_wait([this, &a, t, args...](boost::system::error_code) { accept_loop<Session>(a, args...); });
    });
  }
};

namespace {

// What both links' sessions share: the socket, the count of open sessions, and the answer
// written back before the next message is read (or the connection closed).
template <class Derived>
struct Session : std::enable_shared_from_this<Derived> {
  Session(TcpListeners::Impl& l, tcp::socket s) : l_(l), sock_(std::move(s)) { ++l_.sessions; }
  ~Session() { --l_.sessions; }

  void answer(std::string text, bool close) {
    auto out = std::make_shared<std::string>(std::move(text));
    asio::async_write(sock_, asio::buffer(*out),
                      [self = this->shared_from_this(), out, close](boost::system::error_code ec, std::size_t) {
                        if (ec || close) {
                          boost::system::error_code ignored;
                          self->sock_.shutdown(tcp::socket::shutdown_both, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  TcpListeners::Impl& l_;
  tcp::socket sock_;
};

// Interface B: one telegram per line, at most 512 characters with the LF.
struct TelegramSession : Session<TelegramSession> {
  TelegramSession(TcpListeners::Impl& l, tcp::socket s, std::string encoding)
      : Session(l, std::move(s)), encoding_(std::move(encoding)), buf_(4 * ucp::telegram::kMaxChars) {}

  void read() {
    asio::async_read_until(sock_, buf_, '\n', [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      self->on_line(ec, n);
    });
  }

 private:
  void on_line(boost::system::error_code ec, std::size_t n) {
    if (ec == asio::error::not_found) {  // 2 KiB without a newline: far past 512 characters
      const std::string raw(asio::buffers_begin(buf_.data()), asio::buffers_end(buf_.data()));
      l_.reject("telegram", ucp::telegram::kTooLong, raw);
      return answer(ucp::telegram::ack_error(ucp::telegram::kTooLong), /*close=*/true);
    }
    if (ec) return;  // the sender closed
    std::string raw(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + static_cast<std::ptrdiff_t>(n));
    buf_.consume(n);
    std::string line = raw;
    if (encoding_ != "UTF-8") {
      auto utf8 = ucp::convert(raw, encoding_, "UTF-8");
      if (!utf8) {
        l_.reject("telegram", "the telegram is not valid " + encoding_, raw);
        return answer(ucp::telegram::ack_error("the telegram is not valid " + encoding_), false);
      }
      line = std::move(*utf8);
    }
    std::string_view body = line;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    if (ucp::telegram::char_count(body) + 1 > ucp::telegram::kMaxChars) {
      l_.reject("telegram", ucp::telegram::kTooLong, raw);
      return answer(ucp::telegram::ack_error(ucp::telegram::kTooLong), /*close=*/true);
    }
    if (body.empty()) return read();  // a keep-alive blank line
    std::string error;
    try {
      error = l_.accept(ucp::telegram::decode(body), "telegram");
    } catch (const ucp::DecodeError& e) {
      error = e.what();
      l_.reject("telegram", error, raw);
    } catch (const std::exception& e) {  // never out of the io thread: it would end the process
      error = std::string("the bridge could not take it: ") + e.what();
      l_.reject("telegram", error, raw);
    }
    answer(error.empty() ? ucp::telegram::ack_ok() : ucp::telegram::ack_error(error), false);
  }

  std::string encoding_;
  asio::streambuf buf_;
};

// Interface C: 48-byte header, DATA_LEN bytes of body, a 102-byte answer.
struct LegacySession : Session<LegacySession> {
  LegacySession(TcpListeners::Impl& l, tcp::socket s) : Session(l, std::move(s)), deadline_(sock_.get_executor()) {}

  void read() {
    msg_.assign(ucp::legacy::kHeaderBytes, '\0');
    asio::async_read(sock_, asio::buffer(msg_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (!ec) self->on_header();
    });
  }

 private:
  void on_header() {
    ucp::legacy::Header h;
    try {
      h = ucp::legacy::decode_header(msg_);
    } catch (const ucp::DecodeError& e) {
      // The stream cannot be followed past a header that does not parse.
      l_.reject("legacy", e.what(), msg_);
      return answer(ucp::legacy::response(false, e.what()), true);
    }
    msg_.resize(ucp::legacy::kHeaderBytes + h.data_len);
    // A body shorter than its DATA_LEN would hold the link for ever: it has kBodyWait.
    body_done_ = false;
    deadline_.expires_after(kBodyWait);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      // Cancelled, or fired as the body came (a handler already queued): nothing to do.
      if (ec || self->body_done_) return;
      self->l_.reject("legacy", "the body did not arrive in full within 30 s (DATA_LEN larger than what was sent?)",
                      self->msg_);
      boost::system::error_code ignored;
      self->sock_.close(ignored);
    });
    asio::async_read(sock_, asio::buffer(&msg_[ucp::legacy::kHeaderBytes], h.data_len),
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (!ec) self->on_body();
                     });
  }

  void on_body() {
    // A DATA_LEN that leaves the closing ';' out: read it too.
    if (msg_.size() == ucp::legacy::kHeaderBytes || msg_.back() != ';') {
      asio::async_read(sock_, asio::buffer(semicolon_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        self->msg_.push_back(self->semicolon_[0]);
        self->handle();
      });
      return;
    }
    handle();
  }

  void handle() {
    body_done_ = true;
    deadline_.cancel();
    std::string error;
    bool close = false;
    try {
      const auto m = ucp::legacy::decode(msg_);
      if (m.header.msg_type == "99") return answer(ucp::legacy::response(true, "login accepted"), false);
      ucp::Inbound in;
      in.header.svc_ty = "EVENT";
      in.header.send_cd = m.header.sender;
      in.header.rcv_cd = m.header.receiver;
      in.header.sys_cd = m.header.sender;
      in.header.req_date = m.header.send_time;
      in.event = ucp::legacy::to_event(m);
      error = l_.accept(std::move(in), "legacy");
    } catch (const ucp::DecodeError& e) {
      error = e.what();
      l_.reject("legacy", error, msg_);
      // After a wrong DATA_LEN the next header's place is unknown.
      close = msg_.back() != ';';
    } catch (const std::exception& e) {  // never out of the io thread: it would end the process
      error = std::string("the bridge could not take it: ") + e.what();
      l_.reject("legacy", error, msg_);
    }
    answer(ucp::legacy::response(error.empty(), error.empty() ? "accepted" : error), close);
  }

  static constexpr std::chrono::seconds kBodyWait{30};
  std::string msg_;
  std::array<char, 1> semicolon_{};
  asio::steady_timer deadline_;
  bool body_done_ = false;
};

}  // namespace

TcpListeners::TcpListeners(Accept accept, Reject reject) : impl_(std::make_unique<Impl>()) {
  impl_->accept = std::move(accept);
  impl_->reject = std::move(reject);
}

TcpListeners::~TcpListeners() { stop(); }

unsigned short TcpListeners::listen_telegram(const std::string& host, unsigned short port, const std::string& encoding) {
  auto& a = impl_->bind(host, port);
  impl_->accept_loop<TelegramSession>(a, encoding);
  return a.local_endpoint().port();
}

unsigned short TcpListeners::listen_legacy(const std::string& host, unsigned short port) {
  auto& a = impl_->bind(host, port);
  impl_->accept_loop<LegacySession>(a);
  return a.local_endpoint().port();
}

void TcpListeners::run() {
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void TcpListeners::stop() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ucp_bridge
