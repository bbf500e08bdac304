// Engine decisions as live events for the management API's stream.
#include <citylink/host/event_feed.hpp>
#include <citylink/host/wall_clock.hpp>
#include <citylink/platform/scenarios/engine.hpp>

#include <chrono>

#include "api.hpp"
#include "views.hpp"

namespace citylink::platform::api {
namespace {

class FeedObserver : public scenarios::EngineObserver {
 public:
  explicit FeedObserver(std::shared_ptr<EventFeed> feed) : feed_(std::move(feed)) {}
  bool wants() const override { return feed_->has_listeners(); }
  void incident(const scenarios::Incident& i, scenarios::Change change) override {
    auto j = incident_json(i);
    j["change"] = change == scenarios::Change::opened ? "opened" : change == scenarios::Change::closed ? "closed" : "updated";
    feed_->publish("incident", j.dump());
  }
  void grant(const citylink::v1::VideoShareGrant& g) override {
    const auto now = host::unix_now_ns();
    feed_->publish("grant", grant_json(g, now).dump());
  }
  void dispatch(const std::string& topic, const citylink::v1::DispatchSupport& d) override {
    feed_->publish("dispatch", dispatch_json(topic, d).dump());
  }

 private:
  std::shared_ptr<EventFeed> feed_;
};

}  // namespace

std::shared_ptr<scenarios::EngineObserver> feed_observer(std::shared_ptr<EventFeed> feed) {
  return std::make_shared<FeedObserver>(std::move(feed));
}

}  // namespace citylink::platform::api
