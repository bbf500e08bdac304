// Where a publisher leaves its packets for the router: one buffer, filled back to back under
// a mutex, that the router takes whole when the doorbell rings (bus/packet.hpp). A ZeroMQ
// message a packet cost a send, a receive, an allocation freed on another thread and, when
// the router had caught up, a wake-up on each side; now a burst costs one of each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

namespace citylink::host {

// A growable byte buffer that does not zero what it adds (the packets overwrite it at once).
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() { std::free(data_); }

  // `n` more bytes at the end, uninitialised.
  char* extend(std::size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    char* at = data_ + size_;
    size_ += n;
    return at;
  }
  char* data() { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Empties it; a buffer grown large by a burst gives its memory back.
  void clear() {
    size_ = 0;
    if (capacity_ > kKeep) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
    }
  }
  void swap(ByteBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  // Every publisher keeps its buffers for its life, and a burst may grow one to
  // host.queue_bytes: past this much, an emptied buffer is given back.
  static constexpr std::size_t kKeep = 64u << 10;
  void grow(std::size_t need) {
    std::size_t cap = capacity_ ? capacity_ : 4096;
    while (cap < need) cap *= 2;
    void* p = std::realloc(data_, cap);
    if (!p) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = cap;
  }
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// One publisher's packets of one class (normal or critical) not yet taken by the router.
// Bounded like any queue: host.queue_depth packets and host.queue_bytes bytes.
struct Mailbox {
  std::mutex mu;
  ByteBuffer packets;  // under mu
  uint32_t count = 0;  // under mu
  bool rung = false;   // under mu: a doorbell is on its way, or the router has yet to take the packets
};

}  // namespace citylink::host
