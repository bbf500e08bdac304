// Two queues, critical first.
#include <citylink/host/inbox.hpp>
#include <citylink/host/receive.hpp>

#include "packet.hpp"

namespace citylink::host {

bool read_received(const zmq::message_t& batch, std::vector<Received>& out) {
  const std::size_t n = batch.size();
  if (n < packet::kBatchHeader) return false;
  // packet::read takes a mutable buffer for the router's stamping; nothing here writes.
  auto* p = static_cast<char*>(const_cast<void*>(batch.data()));
  const uint32_t count = packet::read_u32(p);
  std::size_t at = packet::kBatchHeader;
  for (uint32_t i = 0; i < count; ++i) {
    const auto v = packet::read(p + at, n - at);
    if (!v) return false;
    out.push_back(Received{v->topic, v->envelope, v->envelope_size});
    at += v->extent;
  }
  return at == n;
}

std::size_t count_received(const zmq::message_t& batch) {
  return batch.size() < packet::kBatchHeader ? 0 : packet::read_u32(batch.data());
}

void InboxReader::Batch::fill() {
  items.clear();
  at = 0;
  read_received(message, items);
}

bool InboxReader::peek(Received& out, std::chrono::milliseconds timeout) {
  for (;;) {
    // A critical message that came after the normal batch in hand goes before its rest.
    if (critical_.left() == 0 && normal_.left() > 0 &&
        inbox_->bytes()->critical_messages.load(std::memory_order_acquire) > 0 &&
        inbox_->receive_critical(critical_.message))
      critical_.fill();
    if (critical_.left() > 0 || normal_.left() > 0) {
      peeked_critical_ = critical_.left() > 0;
      const Batch& b = peeked_critical_ ? critical_ : normal_;
      out = b.items[b.at];
      return true;
    }
    zmq::message_t m;
    if (!inbox_->receive(m, timeout)) return false;
    Batch& b = inbox_->last_was_critical() ? critical_ : normal_;
    b.message = std::move(m);
    b.fill();
  }
}

void InboxReader::pop() {
  Batch& b = peeked_critical_ ? critical_ : normal_;
  if (b.left() > 0) ++b.at;
}

bool InboxReader::next(Received& out, std::chrono::milliseconds timeout) {
  if (!peek(out, timeout)) return false;
  pop();
  return true;
}

InboxWaker::InboxWaker(zmq::context_t& ctx, const std::string& endpoint) : socket_(ctx, zmq::socket_type::push) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 1);  // one pending wake-up says all there is to say
  socket_.connect(endpoint);
}

void InboxWaker::wake() {
  std::lock_guard lk(mu_);
  if (socket_.handle()) (void)socket_.send(zmq::message_t(), zmq::send_flags::dontwait);
}

void InboxWaker::close() {
  std::lock_guard lk(mu_);
  if (socket_.handle()) socket_.close();
}

Inbox::Inbox(zmq::context_t& ctx, std::string endpoint, int queue_depth)
    : ctx_(&ctx),
      endpoint_(std::move(endpoint)),
      critical_(ctx, zmq::socket_type::pull),
      normal_(ctx, zmq::socket_type::pull) {
  for (auto* s : {&critical_, &normal_}) {
    s->set(zmq::sockopt::rcvhwm, queue_depth);
    s->set(zmq::sockopt::linger, 0);
  }
  critical_.bind(critical_endpoint());
  normal_.bind(endpoint_);
}

bool Inbox::take(zmq::socket_t& socket, bool critical, zmq::message_t& message) {
  if (!host::receive(socket, message, zmq::recv_flags::dontwait)) return false;
  bytes_->of(critical).fetch_sub(static_cast<int64_t>(message.size()), std::memory_order_relaxed);
  if (!critical && message.size() >= packet::kBatchHeader)
    if (const uint32_t n = packet::read_u32(message.data()); n > 0)
      bytes_->normal_packets.fetch_sub(n, std::memory_order_relaxed);
  // Only this thread takes, and senders only add, so the count never drops below zero here
  // even when a sender that did not count is swept up.
  if (critical && bytes_->critical_messages.load(std::memory_order_acquire) > 0)
    bytes_->critical_messages.fetch_sub(1, std::memory_order_acq_rel);
  last_critical_ = critical;
  return true;
}

bool Inbox::take_any(bool look_critical, zmq::message_t& message, bool& woken) {
  if (look_critical && take(critical_, true, message)) return true;
  // Only the normal queue carries wake-ups (InboxWaker connects to it).
  while (take(normal_, false, message)) {
    if (message.size() > 0) return true;
    woken = true;
  }
  return false;
}

bool Inbox::receive(zmq::message_t& message, std::chrono::milliseconds timeout) {
  bool look = bytes_->critical_messages.load(std::memory_order_acquire) > 0 || ++since_sweep_ >= kCriticalSweep;
  if (look) since_sweep_ = 0;
  bool woken = false;
  if (take_any(look, message, woken)) return true;
  if (woken || timeout.count() <= 0) return false;
  zmq::pollitem_t items[] = {{critical_.handle(), 0, ZMQ_POLLIN, 0}, {normal_.handle(), 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 2, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
  return take_any(true, message, woken);
}

void Inbox::add_poll_items(std::vector<zmq::pollitem_t>& items) {
  items.push_back({critical_.handle(), 0, ZMQ_POLLIN, 0});
  items.push_back({normal_.handle(), 0, ZMQ_POLLIN, 0});
}

void Inbox::close() {
  if (critical_.handle()) critical_.close();
  if (normal_.handle()) normal_.close();
}

}  // namespace citylink::host
