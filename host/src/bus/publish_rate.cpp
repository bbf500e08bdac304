#include <citylink/host/publish_rate.hpp>

#include <thread>

namespace citylink::host {

void PublishRate::set(uint32_t per_second) {
  std::lock_guard lk(mu_);
  per_second_.store(per_second, std::memory_order_relaxed);
  tokens_ = burst();
  last_ = Clock::now();
}

bool PublishRate::take(std::chrono::microseconds max_wait) {
  if (!limited()) return true;
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard lk(mu_);
    const double rate = per_second_.load(std::memory_order_relaxed);
    if (rate == 0) return true;
    const auto now = Clock::now();
    tokens_ = std::min(burst(), tokens_ + std::chrono::duration<double>(now - last_).count() * rate);
    last_ = now;
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    wait = std::chrono::duration<double>((1 - tokens_) / rate);
    // Its turn comes soon enough: the message is reserved now and sent after the sleep.
    if (wait <= max_wait) tokens_ -= 1;
  }
  if (wait <= max_wait) {
    std::this_thread::sleep_for(wait);
    return true;
  }
  if (max_wait.count() > 0) std::this_thread::sleep_for(max_wait);
  return false;
}

std::string PublishRate::refusal(std::string_view source, std::string_view topic) const {
  return "'" + std::string(source) + "' is over its publish_rate of " + std::to_string(per_second()) +
         " telemetry messages a second; the message on '" + std::string(topic) +
         "' was not sent. Publish less often, back off on CITYLINK_ERR_BACKPRESSURE, or have the operator raise "
         "publish_rate for it in the city config";
}

}  // namespace citylink::host
