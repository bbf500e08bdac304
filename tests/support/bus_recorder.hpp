// Every envelope that travels on a host's bus, payloads included, for tests that check what
// went where. Create it before host.start() and keep it alive while the host's router runs.
#pragma once

#include <citylink/host/host.hpp>
#include <citylink/v1/envelope.pb.h>

#include <mutex>
#include <string>
#include <vector>

namespace citylink::test {

class BusRecorder {
 public:
  void attach(host::Host& h) {
    h.router().set_observer([this](std::string_view, const uint8_t* bytes, std::size_t size) {
      citylink::v1::Envelope e;
      if (!e.ParseFromArray(bytes, static_cast<int>(size))) return;
      std::lock_guard lk(mu_);
      seen_.push_back(std::move(e));
    });
  }
  // The payloads of type T on topics starting with `topic_prefix`, in bus order.
  template <class T>
  std::vector<T> payloads(const std::string& topic_prefix) {
    std::lock_guard lk(mu_);
    std::vector<T> out;
    for (const auto& e : seen_) {
      T t;
      if (e.topic().rfind(topic_prefix, 0) == 0 && t.ParseFromString(e.payload())) out.push_back(std::move(t));
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<citylink::v1::Envelope> seen_;
};

}  // namespace citylink::test
