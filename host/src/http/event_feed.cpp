// Fan-out of live events to the management API's streams.
#include <citylink/host/event_feed.hpp>

#include <algorithm>

namespace citylink::host {

std::optional<FeedEvent> EventFeed::Listener::next(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return closed_ || !queue_.empty(); });
  if (closed_ || queue_.empty()) return std::nullopt;
  FeedEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

bool EventFeed::Listener::closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}

bool EventFeed::Listener::overflowed() const {
  std::lock_guard lk(mu_);
  return overflowed_;
}

std::shared_ptr<EventFeed::Listener> EventFeed::listen(std::size_t max_listeners) {
  std::lock_guard lk(mu_);
  if (list_.size() >= max_listeners) return nullptr;
  auto l = std::make_shared<Listener>();
  l->limit_ = queue_limit_;
  list_.push_back(l);
  listeners_.store(list_.size());
  return l;
}

void EventFeed::unlisten(const std::shared_ptr<Listener>& l) {
  std::lock_guard lk(mu_);
  list_.erase(std::remove(list_.begin(), list_.end(), l), list_.end());
  listeners_.store(list_.size());
}

void EventFeed::publish(const std::string& type, std::string json) {
  std::lock_guard lk(mu_);
  FeedEvent e{++seq_, type, std::move(json)};
  for (auto it = list_.begin(); it != list_.end();) {
    auto& l = **it;
    bool cut = false;
    {
      std::lock_guard llk(l.mu_);
      if (l.queue_.size() >= l.limit_) {
        l.overflowed_ = l.closed_ = true;
        l.queue_.clear();
        cut = true;
      } else {
        l.queue_.push_back(e);
      }
    }
    l.cv_.notify_one();
    if (cut) {
      ++dropped_;
      it = list_.erase(it);
    } else {
      ++it;
    }
  }
  listeners_.store(list_.size());
}

void EventFeed::close() {
  std::lock_guard lk(mu_);
  for (auto& l : list_) {
    {
      std::lock_guard llk(l->mu_);
      l->closed_ = true;
    }
    l->cv_.notify_all();
  }
  list_.clear();
  listeners_.store(0);
}

}  // namespace citylink::host
