// The real router over real inproc ZeroMQ sockets: validation, stamping, fan-out, drops.
#include "test_support.hpp"

#include <citylink/host/router.hpp>
#include <citylink/v1/envelope.pb.h>
#include <citylink/v1/sensor.pb.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>

using namespace citylink::host;
using citylink::test::eventually;

namespace {

std::string envelope(const std::string& schema = "citylink.v1.SensorReading", const std::string& payload = "x") {
  citylink::v1::Envelope e;
  e.set_schema(schema);
  e.set_payload(payload);
  e.set_correlation_id("INC-1");
  (*e.mutable_attributes())["k"] = "v";
  return e.SerializeAsString();
}

// A subscriber played by the test, with the same Inbox an instance uses.
struct TestSink {
  std::string endpoint;
  Inbox inbox;  // the same two-queue inbox instances and the engine receive with
  InboxReader reader{inbox};
  std::shared_ptr<InstanceCounters> counters = std::make_shared<InstanceCounters>();
  TestSink(zmq::context_t& ctx, Router& r, const std::string& name, std::vector<std::string> prefixes, int hwm = 1000,
           const std::string& recipient = "")
      : endpoint(r.endpoint_prefix() + "/test/" + name), inbox(ctx, endpoint, hwm) {
    r.add_sink(SinkSpec{name, std::move(prefixes), endpoint, counters, false, hwm, recipient,
                        inbox.critical_endpoint(), inbox.bytes()});
  }
  // Returns {topic, envelope} of the next delivery.
  std::pair<std::string, citylink::v1::Envelope> next() {
    Received v;
    EXPECT_TRUE(reader.next(v, std::chrono::seconds(10)));
    EXPECT_EQ(v.topic.data()[v.topic.size()], '\0');
    citylink::v1::Envelope e;
    EXPECT_TRUE(e.ParseFromArray(v.envelope, static_cast<int>(v.envelope_size)));
    return {std::string(v.topic), e};
  }
  bool empty() {
    Received v;
    return !reader.next(v, std::chrono::milliseconds(0));
  }
};

struct RouterFixture : ::testing::Test {
  zmq::context_t ctx;
  RouterOptions opts;
  std::unique_ptr<Router> router;
  void make(RouterOptions o = {}) {
    opts = o;
    router = std::make_unique<Router>(ctx, o);
    router->start();
  }
  void TearDown() override { router.reset(); }
  std::shared_ptr<Publisher> publisher(const std::string& name, std::vector<std::string> grants,
                                       std::shared_ptr<InstanceCounters> c = std::make_shared<InstanceCounters>()) {
    auto p = router->add_publisher(name, std::move(grants), c);
    p->open();
    return p;
  }
  citylink_status send(Publisher& p, const std::string& topic, const std::string& bytes) {
    return p.publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
  }
};

}  // namespace

TEST_F(RouterFixture, StampsIdSourceTimeAndKeepsWhatThePluginSaid) {
  make();
  TestSink sink(ctx, *router, "sink", {"sensor."});
  auto counters = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge-1", {"sensor.reading"}, counters);
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  auto [topic, e] = sink.next();
  auto [topic2, e2] = sink.next();
  EXPECT_EQ(topic, "sensor.reading");
  EXPECT_EQ(e.topic(), "sensor.reading");
  EXPECT_EQ(e.source(), "gauge-1");
  EXPECT_GT(e.time_unix_ns(), 1'600'000'000'000'000'000);
  EXPECT_FALSE(e.id().empty());
  EXPECT_NE(e.id(), e2.id());
  EXPECT_EQ(e.correlation_id(), "INC-1");
  EXPECT_EQ(e.attributes().at("k"), "v");
  EXPECT_EQ(e.schema(), "citylink.v1.SensorReading");
  EXPECT_TRUE(eventually([&] { return counters->published == 2; }));
}

TEST_F(RouterFixture, ForgedSourceIdAndTimeAreReplaced) {
  make();
  TestSink sink(ctx, *router, "sink", {"sensor."});
  auto pub = publisher("gauge-1", {"sensor.reading"});
  citylink::v1::Envelope forged;
  forged.ParseFromString(envelope());
  forged.set_source("police-hq");
  forged.set_id("my-own-id");
  forged.set_time_unix_ns(1);
  ASSERT_EQ(send(*pub, "sensor.reading", forged.SerializeAsString()), CITYLINK_OK);
  auto [topic, e] = sink.next();
  EXPECT_EQ(e.source(), "gauge-1");
  EXPECT_NE(e.id(), "my-own-id");
  EXPECT_GT(e.time_unix_ns(), 1);
  // No trace of the forged values survives in the bytes either.
  EXPECT_EQ(e.SerializeAsString().find("police-hq"), std::string::npos);
}

TEST_F(RouterFixture, ForwardsByPrefixToEverySubscriberButNotBackToThePublisher) {
  make();
  TestSink incidents(ctx, *router, "incidents", {"incident."});
  TestSink all(ctx, *router, "all", {"*"});
  TestSink self(ctx, *router, "bridge", {"incident."});
  auto pub = publisher("bridge", {"incident.*", "sensor.reading"});
  ASSERT_EQ(send(*pub, "incident.112", envelope("citylink.v1.PlatformEvent")), CITYLINK_OK);
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  EXPECT_EQ(incidents.next().first, "incident.112");
  EXPECT_EQ(all.next().first, "incident.112");
  EXPECT_EQ(all.next().first, "sensor.reading");
  router->stop();
  EXPECT_TRUE(incidents.empty());
  EXPECT_TRUE(self.empty());
}

// M1: a sink whose socket cannot be made (here an endpoint ZeroMQ refuses) threw out of the
// router thread, which ended the process in std::terminate.
TEST_F(RouterFixture, ASinkThatCannotConnectIsLeftOutAndTheRouterRunsOn) {
  make();
  SinkSpec broken;
  broken.name = "broken";
  broken.prefixes = {"sensor."};
  broken.endpoint = "nonsense://nowhere";
  broken.counters = std::make_shared<InstanceCounters>();
  // The caller learns it: an instance whose queue the router cannot reach does not start.
  std::string why;
  EXPECT_FALSE(router->add_sink(std::move(broken), &why));
  EXPECT_FALSE(why.empty());
  TestSink good(ctx, *router, "good", {"sensor."});
  TestSink barrier(ctx, *router, "barrier", {"sensor."});
  auto pub = publisher("gauge", {"sensor.reading"});
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  EXPECT_EQ(good.next().first, "sensor.reading");
  EXPECT_EQ(barrier.next().first, "sensor.reading");
  router->remove_sink("broken");  // returns: the change was applied though the add failed
  router->remove_sink("good");
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  // Routed once the barrier has it: had "good" still been a sink, it would have it too.
  EXPECT_EQ(barrier.next().first, "sensor.reading");
  EXPECT_TRUE(good.empty());
}

TEST_F(RouterFixture, RejectsEachBadMessageByReasonAndKeepsRouting) {
  RouterOptions o;
  o.max_message_bytes = 4096;
  make(o);
  TestSink sink(ctx, *router, "sink", {"*"});
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("cam", {"camera.*"}, c);
  EXPECT_EQ(send(*pub, "camera.info", envelope("citylink.v1.CameraInfo", std::string(5000, 'x'))), CITYLINK_ERR_TOO_LARGE);
  EXPECT_EQ(send(*pub, "incident.112", envelope()), CITYLINK_OK);              // not granted
  EXPECT_EQ(send(*pub, "camera.info", std::string("\x0a\xff\xff\xff", 4)), CITYLINK_OK);  // unparsable
  EXPECT_EQ(send(*pub, "Camera Info", envelope()), CITYLINK_OK);               // bad topic
  citylink::v1::Envelope mismatch;
  mismatch.ParseFromString(envelope());
  mismatch.set_topic("camera.status");
  EXPECT_EQ(send(*pub, "camera.info", mismatch.SerializeAsString()), CITYLINK_OK);
  EXPECT_EQ(send(*pub, "camera.info", envelope("")), CITYLINK_OK);            // no schema
  EXPECT_EQ(send(*pub, "camera.info", envelope("citylink.v1.CameraInfo")), CITYLINK_OK);  // good
  EXPECT_EQ(sink.next().first, "camera.info");
  const auto s = c->snapshot();
  EXPECT_EQ(s.rejected[static_cast<int>(RejectReason::oversize)], 1u);
  EXPECT_EQ(s.rejected[static_cast<int>(RejectReason::not_granted)], 1u);
  EXPECT_EQ(s.rejected[static_cast<int>(RejectReason::malformed)], 2u);
  EXPECT_EQ(s.rejected[static_cast<int>(RejectReason::bad_topic)], 1u);
  EXPECT_EQ(s.rejected[static_cast<int>(RejectReason::topic_mismatch)], 1u);
  EXPECT_EQ(s.published, 1u);
  router->stop();
  EXPECT_TRUE(sink.empty());
}

TEST_F(RouterFixture, AFullSubscriberQueueDropsAndCountsWithoutBlocking) {
  RouterOptions o;
  o.queue_depth = 10;
  make(o);
  // Nobody reads this sink: its queue fills and every further message is a counted drop.
  TestSink stuck(ctx, *router, "stuck", {"sensor."}, 10);
  TestSink fine(ctx, *router, "fine", {"sensor."}, 100000);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge", {"sensor.reading"}, c);
  const int n = 500;
  int sent = 0;
  for (int i = 0; i < n; ++i) {
    while (send(*pub, "sensor.reading", envelope()) == CITYLINK_ERR_BACKPRESSURE) std::this_thread::yield();
    ++sent;
  }
  for (int i = 0; i < n; ++i) fine.next();  // the other subscriber got everything
  EXPECT_TRUE(eventually([&] { return c->published == static_cast<uint64_t>(n); }));
  const auto dropped = stuck.counters->dropped_incoming.load();
  EXPECT_GT(dropped, 0u);
  int queued = 0;
  while (!stuck.empty()) ++queued;
  EXPECT_EQ(dropped + queued, static_cast<uint64_t>(n));  // every message is either queued or counted
}

// The router hands a subscriber its messages in batches, and ZeroMQ's high-water mark counts
// batches; host.queue_depth still bounds the queue in messages, exactly. (Before the batches,
// inproc added the router's high-water mark to the subscriber's, and such a queue held twice
// its depth: review H7.)
TEST_F(RouterFixture, ASubscriberQueueHoldsExactlyItsDepthInMessages) {
  RouterOptions o;
  o.queue_depth = 1000;
  make(o);
  TestSink stuck(ctx, *router, "stuck", {"sensor."}, 10);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge", {"sensor.reading"}, c);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  ASSERT_TRUE(eventually([&] { return c->published == 100u; }));
  router->flush();  // counted before sent: the last batch may still be on its way
  int queued = 0;
  while (!stuck.empty()) ++queued;
  EXPECT_EQ(queued, 10);
  EXPECT_EQ(stuck.counters->dropped_incoming.load(), 90u);
}

// A publisher's queue toward the router (its mailbox) holds host.queue_depth messages, not
// more: with the router not yet running, the eleventh publish of a depth of 10 is refused.
TEST_F(RouterFixture, APublishersQueueHoldsExactlyItsDepthInMessages) {
  RouterOptions o;
  o.queue_depth = 10;
  router = std::make_unique<Router>(ctx, o);  // not started: nothing leaves the mailbox
  TestSink sink(ctx, *router, "sink", {"sensor."}, 1000);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = router->add_publisher("gauge", {"sensor.reading"}, c);
  pub->open();
  int accepted = 0;
  for (int i = 0; i < 30; ++i)
    if (send(*pub, "sensor.reading", envelope()) == CITYLINK_OK) ++accepted;
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(c->dropped_outgoing.load(), 20u);
  router->start();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sink.next().first, "sensor.reading");
  router->flush();
  EXPECT_TRUE(sink.empty());
}

// The router takes a publisher's burst whole, but a critical message that comes in the
// middle of it is routed next, before the rest of the burst.
TEST_F(RouterFixture, ACriticalMessageIsRoutedBeforeTheRestOfABurstAlreadyTaken) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;  // topics in the order the router routed them
  int hold_at = 1;                // the observer waits while it has seen this many
  int released = 0;
  // However the test ends, the router thread is let go before what it waits on is gone.
  struct LetGo {
    std::unique_ptr<Router>& router;
    std::mutex& mu;
    std::condition_variable& cv;
    int& released;
    ~LetGo() {
      {
        std::lock_guard lk(mu);
        released = 1 << 30;
      }
      cv.notify_all();
      router.reset();
    }
  };
  router = std::make_unique<Router>(ctx, RouterOptions{});
  LetGo let_go{router, mu, cv, released};
  router->set_observer([&](std::string_view topic, const uint8_t*, std::size_t) {
    std::unique_lock lk(mu);
    seen.emplace_back(topic);
    cv.notify_all();
    const int at = static_cast<int>(seen.size());
    if (at <= 2) cv.wait(lk, [&] { return released >= at; });
  });
  router->start();
  TestSink sink(ctx, *router, "sink", {"sensor.", "incident."}, 1000);
  auto first = publisher("first", {"sensor.reading"});
  auto burst = publisher("burst", {"sensor.reading"});
  auto platform = publisher("platform", {"incident.112"});
  auto wait_seen = [&](int n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(30), [&] { return static_cast<int>(seen.size()) >= n; });
  };
  ASSERT_EQ(send(*first, "sensor.reading", envelope()), CITYLINK_OK);
  ASSERT_TRUE(wait_seen(1));  // the router waits in the first message
  for (int i = 0; i < 50; ++i) ASSERT_EQ(send(*burst, "sensor.reading", envelope()), CITYLINK_OK);
  {
    std::lock_guard lk(mu);
    released = hold_at;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_seen(2));  // the router took the burst and waits in its first message
  ASSERT_EQ(send(*platform, "incident.112", envelope("citylink.v1.PlatformEvent")), CITYLINK_OK);
  {
    std::lock_guard lk(mu);
    released = 2;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_seen(52));
  std::lock_guard lk(mu);
  ASSERT_EQ(seen.size(), 52u);
  EXPECT_EQ(seen[2], "incident.112");
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "sensor.reading"), 51);
}

// A subscriber that reads one message at a time (InboxReader: the engine, a script's
// client, a remote client) gets a critical message before the rest of a normal batch it
// already took from its queue.
TEST_F(RouterFixture, AReaderGetsACriticalMessageBeforeTheRestOfANormalBatchInHand) {
  router = std::make_unique<Router>(ctx, RouterOptions{});  // started below: one burst, one batch
  TestSink sink(ctx, *router, "sink", {"sensor.", "incident."}, 1000);
  auto pub = router->add_publisher("gauge", {"sensor.reading"}, std::make_shared<InstanceCounters>());
  pub->open();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  router->start();
  EXPECT_EQ(sink.next().first, "sensor.reading");
  ASSERT_GT(sink.reader.unread(), 0u);  // the rest of the batch is in hand
  auto platform = publisher("platform", {"incident.112"});
  ASSERT_EQ(send(*platform, "incident.112", envelope("citylink.v1.PlatformEvent")), CITYLINK_OK);
  router->flush();  // routed and sent: in the sink's critical queue now
  EXPECT_EQ(sink.next().first, "incident.112");
  for (int i = 1; i < 50; ++i) EXPECT_EQ(sink.next().first, "sensor.reading");
  EXPECT_TRUE(sink.empty());
}

// The router remembers what it decided for a publisher's last topic (its checks, the
// subscribers whose patterns match); a subscriber added or removed between two messages of
// that topic is heeded all the same, and so is a topic that changes.
TEST_F(RouterFixture, ASubscriberAddedOrRemovedBetweenTwoMessagesOfOneTopicIsHeeded) {
  make();
  auto first = std::make_unique<TestSink>(ctx, *router, "first", std::vector<std::string>{"sensor."});
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge", {"sensor.reading", "sensor.other"}, c);
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  EXPECT_EQ(first->next().first, "sensor.reading");
  TestSink second(ctx, *router, "second", {"sensor.reading"});
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  EXPECT_EQ(second.next().first, "sensor.reading");
  EXPECT_EQ(first->next().first, "sensor.reading");
  router->remove_sink("first");
  first.reset();
  ASSERT_EQ(send(*pub, "sensor.other", envelope()), CITYLINK_OK);   // matches neither now
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);  // reaches only the second
  ASSERT_EQ(send(*pub, "sensor.secret", envelope()), CITYLINK_OK);   // not granted: rejected
  EXPECT_EQ(second.next().first, "sensor.reading");
  ASSERT_TRUE(eventually([&] { return c->rejected[static_cast<int>(RejectReason::not_granted)] == 1u; }));
  router->flush();
  EXPECT_TRUE(second.empty());
  EXPECT_EQ(c->published, 4u);
}

// Issue 8: 400,000 camera.info messages once made the engine's single inbox drop a 112
// report. Critical topics travel in queues of their own and are served first: a subscriber
// whose normal queue is full still gets the incident, and gets it before the backlog.
TEST_F(RouterFixture, CriticalTrafficHasItsOwnQueueAndIsServedFirst) {
  RouterOptions o;
  o.queue_depth = 5;
  make(o);
  TestSink engine(ctx, *router, "engine", {"sensor.", "incident."}, 5);  // not read until the end
  auto flood = std::make_shared<InstanceCounters>();
  auto vms = publisher("vms", {"sensor.reading"}, flood);
  for (int i = 0; i < 50; ++i)
    while (send(*vms, "sensor.reading", envelope()) == CITYLINK_ERR_BACKPRESSURE) std::this_thread::yield();
  ASSERT_TRUE(eventually([&] { return flood->published == 50u; }));
  auto platform = publisher("platform", {"incident.112"});
  ASSERT_EQ(send(*platform, "incident.112", envelope("citylink.v1.PlatformEvent")), CITYLINK_OK);
  ASSERT_TRUE(eventually([&] { return router->routed() == 51u; }));
  EXPECT_GT(engine.counters->dropped_incoming.load(), 0u);  // the flood overflowed the normal queue
  EXPECT_EQ(engine.counters->dropped_critical.load(), 0u);
  EXPECT_EQ(router->critical_dropped(), 0u);
  EXPECT_EQ(engine.next().first, "incident.112");  // ahead of everything queued before it
  EXPECT_EQ(engine.next().first, "sensor.reading");
}

// Issue 8: queues were bounded in messages only; 10,000 messages of 1 MiB is 10 GiB.
TEST_F(RouterFixture, QueuesAreBoundedInBytesAsWellAsMessages) {
  RouterOptions o;
  o.queue_bytes = 64 << 10;
  o.max_message_bytes = 32 << 10;
  make(o);
  TestSink stuck(ctx, *router, "stuck", {"sensor."}, 100000);  // room for 100,000 messages, not bytes
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("camera", {"sensor.reading"}, c);
  const std::string big = envelope("citylink.v1.SensorReading", std::string(10 << 10, 'x'));
  const int n = 40;
  for (int i = 0; i < n; ++i)
    while (send(*pub, "sensor.reading", big) == CITYLINK_ERR_BACKPRESSURE) std::this_thread::yield();
  ASSERT_TRUE(eventually([&] { return c->published == static_cast<uint64_t>(n); }));
  router->flush();  // counted before sent: the last drop may still be on its way to its counter
  const auto dropped = stuck.counters->dropped_incoming.load();
  int queued = 0;
  while (!stuck.empty()) ++queued;
  EXPECT_LE(queued * static_cast<int>(big.size()), 64 << 10);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(dropped + queued, static_cast<uint64_t>(n));
  EXPECT_EQ(stuck.inbox.bytes()->normal.load(), 0);  // what was taken out was counted out
}

// What an instance publishes while it starts is held back; that hold is a queue too, bounded
// in bytes like the others.
TEST_F(RouterFixture, WhatIsHeldDuringStartIsBoundedInBytes) {
  RouterOptions o;
  o.queue_bytes = 64 << 10;
  o.max_message_bytes = 32 << 10;
  make(o);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = router->add_publisher("camera", {"sensor.reading"}, c);
  pub->open_held();
  const std::string big = envelope("citylink.v1.SensorReading", std::string(10 << 10, 'x'));
  int held = 0;
  for (int i = 0; i < 40; ++i) held += send(*pub, "sensor.reading", big) == CITYLINK_OK;
  EXPECT_LE(held * static_cast<int>(big.size()), 64 << 10);
  EXPECT_GT(held, 0);
  EXPECT_EQ(c->dropped_outgoing.load(), static_cast<uint64_t>(40 - held));
}

// A critical message dropped anyway (its own queue full) is counted as an alarm apart from
// ordinary drops, and logged by name.
TEST_F(RouterFixture, ADroppedCriticalMessageIsCountedApart) {
  RouterOptions o;
  o.queue_depth = 2;
  make(o);
  TestSink stuck(ctx, *router, "stuck", {"incident."}, 2);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("platform", {"incident.112"}, c);
  for (int i = 0; i < 30; ++i)
    while (send(*pub, "incident.112", envelope("citylink.v1.PlatformEvent")) == CITYLINK_ERR_BACKPRESSURE)
      std::this_thread::yield();
  ASSERT_TRUE(eventually([&] { return c->published == 30u; }));
  router->flush();  // counted before sent: the last drop may still be on its way to its counters
  EXPECT_GT(stuck.counters->dropped_critical.load(), 0u);
  EXPECT_EQ(stuck.counters->dropped_critical.load(), stuck.counters->dropped_incoming.load());
  EXPECT_EQ(router->critical_dropped(), stuck.counters->dropped_critical.load());
}

// H9 of the review: a crafted envelope with 100,000 attributes cost the router 44 ms to parse
// and slowed every later parse. The router bounds what a full parse may meet, first.
TEST_F(RouterFixture, AnEnvelopeTooCostlyToParseIsRejectedBeforeTheFullParse) {
  make();
  TestSink sink(ctx, *router, "sink", {"sensor."});
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge", {"sensor.reading"}, c);
  auto with = [](int attributes, std::size_t correlation_bytes) {
    citylink::v1::Envelope e;
    e.set_schema("citylink.v1.SensorReading");
    e.set_payload(std::string(100000, 'p'));  // a large payload is fine
    e.set_correlation_id(std::string(correlation_bytes, 'c'));
    for (int i = 0; i < attributes; ++i) (*e.mutable_attributes())["a" + std::to_string(i)] = "v";
    return e.SerializeAsString();
  };
  ASSERT_EQ(send(*pub, "sensor.reading", with(10000, 8)), CITYLINK_OK);
  ASSERT_EQ(send(*pub, "sensor.reading", with(0, 5000)), CITYLINK_OK);
  ASSERT_EQ(send(*pub, "sensor.reading", with(64, 4096)), CITYLINK_OK);  // at the limits: routed
  EXPECT_EQ(sink.next().second.attributes().size(), 64u);
  EXPECT_TRUE(eventually([&] { return c->rejected[static_cast<int>(RejectReason::malformed)] == 2u; }));
  EXPECT_EQ(c->published, 1u);

  // A small envelope skips the scan; the same attribute rule holds after its parse.
  citylink::v1::Envelope small;
  small.set_schema("citylink.v1.SensorReading");
  for (int i = 0; i < 65; ++i) (*small.mutable_attributes())["a" + std::to_string(i)] = "v";
  ASSERT_LE(small.ByteSizeLong(), 4096u);
  ASSERT_EQ(send(*pub, "sensor.reading", small.SerializeAsString()), CITYLINK_OK);
  EXPECT_TRUE(eventually([&] { return c->rejected[static_cast<int>(RejectReason::malformed)] == 3u; }));
  EXPECT_TRUE(sink.empty());
}

// The inbox reads its (almost always empty) critical queue only while a sender has counted
// a message into it, because a ZeroMQ receive that finds nothing costs a system call. A
// sender that did not count is still served within Inbox::kCriticalSweep receives.
TEST(Inbox, ACountedCriticalMessageIsNextAndAnUncountedOneIsSweptUp) {
  zmq::context_t ctx;
  Inbox inbox(ctx, "inproc://inbox-test", 1000);
  zmq::socket_t normal(ctx, zmq::socket_type::push), critical(ctx, zmq::socket_type::push);
  normal.connect(inbox.endpoint());
  critical.connect(inbox.critical_endpoint());
  for (int i = 0; i < 3 * Inbox::kCriticalSweep; ++i) normal.send(zmq::str_buffer("n"));
  zmq::message_t m;
  ASSERT_TRUE(inbox.receive(m, std::chrono::seconds(5)));  // the normal queue is connected and full now

  inbox.bytes()->critical_sending();
  critical.send(zmq::str_buffer("c1"));
  ASSERT_TRUE(eventually([&] {  // inproc delivery is asynchronous; until it lands, normal comes
    return inbox.receive(m, std::chrono::seconds(5)) && inbox.last_was_critical();
  }));
  EXPECT_EQ(m.to_string(), "c1");
  EXPECT_EQ(inbox.bytes()->critical_messages.load(), 0);

  critical.send(zmq::str_buffer("c2"));  // not counted
  int receives = 0;
  while (inbox.receive(m, std::chrono::seconds(5)) && !inbox.last_was_critical()) ++receives;
  EXPECT_EQ(m.to_string(), "c2");
  EXPECT_LE(receives, Inbox::kCriticalSweep + 1);
  EXPECT_EQ(inbox.bytes()->critical_messages.load(), 0);  // never below zero
}

// A stop or a sink removal wakes the thread waiting on an inbox instead of waiting out its
// timeout (100 instances stopped one after another took 100 timeouts, 5 s). A wake-up ends
// a wait but never a drain: messages queued behind it are still received.
TEST(Inbox, AWakeEndsAWaitButNeverHidesAQueuedMessage) {
  zmq::context_t ctx;
  Inbox inbox(ctx, "inproc://inbox-wake-test", 1000);
  auto waker = inbox.waker();
  zmq::message_t m;
  waker->wake();
  EXPECT_FALSE(inbox.receive(m, std::chrono::hours(1)));  // without the wake: an hour

  zmq::socket_t normal(ctx, zmq::socket_type::push);
  normal.connect(inbox.endpoint());
  normal.send(zmq::str_buffer("a"));
  waker->wake();
  normal.send(zmq::str_buffer("b"));
  ASSERT_TRUE(inbox.receive(m, std::chrono::seconds(30)));
  EXPECT_EQ(m.to_string(), "a");
  ASSERT_TRUE(eventually([&] { return inbox.receive(m, std::chrono::milliseconds(0)); }));
  EXPECT_EQ(m.to_string(), "b");  // the wake-up between them was swallowed
  EXPECT_FALSE(inbox.receive(m, std::chrono::milliseconds(0)));

  waker->close();
  waker->wake();  // after close: nothing, no crash
  EXPECT_FALSE(inbox.receive(m, std::chrono::milliseconds(0)));
}

TEST_F(RouterFixture, PublishBeforeOpenOrAfterCloseIsAStateErrorAndCounted) {
  make();
  auto c = std::make_shared<InstanceCounters>();
  auto pub = router->add_publisher("late", {"*"}, c);
  EXPECT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_ERR_STATE);
  pub->open();
  pub->close();
  std::string why;
  const auto bytes = envelope();
  EXPECT_EQ(pub->publish("sensor.reading", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &why),
            CITYLINK_ERR_STATE);
  EXPECT_NE(why.find("not running"), std::string::npos);
  EXPECT_EQ(c->dropped_stopped, 2u);
}

TEST_F(RouterFixture, PublishIsSafeFromManyThreads) {
  make();
  TestSink sink(ctx, *router, "sink", {"sensor."}, 100000);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("gauge", {"sensor.reading"}, c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i)
        while (send(*pub, "sensor.reading", envelope()) == CITYLINK_ERR_BACKPRESSURE) std::this_thread::yield();
    });
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(sink.next().second.id());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST_F(RouterFixture, OnlyTheEnginePublishesGrantsDispatchesAuditAndPtz) {
  make();
  TestSink police(ctx, *router, "police", {"grant.", "dispatch.", "audit.", "camera.ptz"}, 1000, "112");
  auto c = std::make_shared<InstanceCounters>();
  auto plugin = publisher("vendor", {"*"}, c);  // even "*" does not reach the engine's namespaces
  auto engine = router->add_publisher("scenario-engine", {"*"}, std::make_shared<InstanceCounters>(),
                                      PublisherRole::engine);
  engine->open();
  citylink::v1::Envelope forged;
  forged.ParseFromString(envelope("citylink.v1.VideoShareGrant"));
  forged.set_recipient("112");
  for (const char* t : {"grant.video.112", "dispatch.112", "audit.video_grant", "camera.ptz"})
    ASSERT_EQ(send(*plugin, t, forged.SerializeAsString()), CITYLINK_OK);
  ASSERT_EQ(send(*engine, "grant.video.112", forged.SerializeAsString()), CITYLINK_OK);
  EXPECT_EQ(police.next().second.source(), "scenario-engine");
  EXPECT_TRUE(eventually([&] { return c->snapshot().rejected[static_cast<int>(RejectReason::reserved)] == 4u; }));
  router->stop();
  EXPECT_TRUE(police.empty());
}

TEST_F(RouterFixture, AgencyTrafficReachesOnlyTheExactRecipientAndUndeliveredIsCounted) {
  make();
  TestSink police(ctx, *router, "police", {"grant.video"}, 1000, "112");
  TestSink gangnam(ctx, *router, "gangnam", {"grant.video"}, 1000, "112-gangnam");
  TestSink unbound(ctx, *router, "unbound", {"*"});
  auto engine = router->add_publisher("scenario-engine", {"*"}, std::make_shared<InstanceCounters>(),
                                      PublisherRole::engine);
  engine->open();
  auto to = [&](const std::string& recipient) {
    citylink::v1::Envelope e;
    e.ParseFromString(envelope("citylink.v1.VideoShareGrant"));
    e.set_recipient(recipient);
    return e.SerializeAsString();
  };
  ASSERT_EQ(send(*engine, "grant.video.112-gangnam", to("112-gangnam")), CITYLINK_OK);
  ASSERT_EQ(send(*engine, "grant.video.112", to("112")), CITYLINK_OK);
  ASSERT_EQ(send(*engine, "grant.video.112", to("MOJ")), CITYLINK_OK);  // nobody is bound to MOJ
  ASSERT_EQ(send(*engine, "sensor.reading", envelope()), CITYLINK_OK);
  EXPECT_EQ(gangnam.next().second.recipient(), "112-gangnam");
  EXPECT_EQ(police.next().second.recipient(), "112");
  EXPECT_EQ(unbound.next().first, "sensor.reading");  // "*" reads telemetry, never agency traffic
  EXPECT_TRUE(eventually([&] { return router->undeliverable() == 1; }));
  router->stop();
  EXPECT_TRUE(police.empty());
  EXPECT_TRUE(gangnam.empty());
  EXPECT_TRUE(unbound.empty());
}

TEST_F(RouterFixture, StampsTheOriginAndNeverKeepsAPluginsOwn) {
  RouterOptions o;
  o.origin = "suwon";
  make(o);
  TestSink sink(ctx, *router, "sink", {"sensor."});
  auto pub = publisher("gauge-1", {"sensor.reading"});
  ASSERT_EQ(send(*pub, "sensor.reading", envelope()), CITYLINK_OK);
  citylink::v1::Envelope forged;
  forged.ParseFromString(envelope());
  forged.set_origin("seoul-hq");
  ASSERT_EQ(send(*pub, "sensor.reading", forged.SerializeAsString()), CITYLINK_OK);
  EXPECT_EQ(sink.next().second.origin(), "suwon");  // stamped in place
  const auto e = sink.next().second;                // rebuilt
  EXPECT_EQ(e.origin(), "suwon");
  EXPECT_EQ(e.SerializeAsString().find("seoul-hq"), std::string::npos);
}

// Issue 8 (a flood delays 112 reports): a publisher over its publish_rate is paced or
// refused in its own thread, before the router sees the message; each refusal is counted, a
// critical topic is never limited, and a caller that keeps its message (OnFull::keep) is
// not counted.
TEST_F(RouterFixture, APublisherOverItsRateIsPacedOrRefusedInItsOwnThreadAndCriticalTopicsNever) {
  RouterOptions o;
  o.queue_depth = 100000;
  make(o);
  TestSink sink(ctx, *router, "sink", {"sensor.", "incident."}, 100000);
  auto c = std::make_shared<InstanceCounters>();
  auto pub = publisher("vendor-cam", {"sensor.reading", "incident.112"}, c);
  const std::string bytes = envelope();
  auto publish = [&](std::string* why = nullptr, Publisher::OnFull on_full = Publisher::OnFull::drop) {
    return pub->publish("sensor.reading", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), why, on_full);
  };
  auto seconds_since = [](auto t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  // 100 a second: a turn every 10 ms, too far off to wait for, so each publish over it is
  // refused (after a sleep of at most 1 ms) and counted.
  pub->limit_rate(100);
  EXPECT_EQ(pub->rate_limit(), 100u);
  auto t0 = std::chrono::steady_clock::now();
  uint64_t ok = 0, refused = 0;
  std::string why;
  for (int i = 0; i < 300; ++i) {
    const auto st = publish(&why);
    if (st == CITYLINK_OK) ++ok;
    else if (st == CITYLINK_ERR_BACKPRESSURE) ++refused;
  }
  EXPECT_EQ(ok + refused, 300u);
  // A tenth of a second's worth at once, then what the time taken earned, however slow the machine.
  EXPECT_GE(ok, 10u);
  EXPECT_LE(ok, 10 + static_cast<uint64_t>(seconds_since(t0) * 100) + 1);
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(c->refused_rate.load(), refused);
  EXPECT_EQ(c->dropped_outgoing.load(), 0u);
  EXPECT_NE(why.find("publish_rate of 100"), std::string::npos) << why;
  EXPECT_NE(why.find("vendor-cam"), std::string::npos) << why;

  // A 112 report from the same publisher goes whatever the rate.
  for (int i = 0; i < 500; ++i) ASSERT_EQ(send(*pub, "incident.112", envelope()), CITYLINK_OK) << i;
  // Kept by its caller to publish again: refused, and not counted.
  const auto before = c->refused_rate.load();
  while (publish(nullptr, Publisher::OnFull::keep) == CITYLINK_OK) {
  }
  EXPECT_EQ(c->refused_rate.load(), before);

  // 5,000 a second: a turn every 0.2 ms, which a publish waits for: paced, nothing refused.
  pub->limit_rate(5000);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(publish(), CITYLINK_OK) << i;
  EXPECT_LE(2000u, 500 + static_cast<uint64_t>(seconds_since(t0) * 5000) + 1);
  EXPECT_EQ(c->refused_rate.load(), before);

  // The same rate without waiting (the remote endpoint's publishers, whose thread serves
  // every client): what paced above is refused now, and counted.
  pub->limit_rate(5000, std::chrono::microseconds(0));
  uint64_t at_once = 0;
  for (int i = 0; i < 2000; ++i) at_once += publish() == CITYLINK_ERR_BACKPRESSURE;
  EXPECT_GT(at_once, 0u);
  EXPECT_EQ(c->refused_rate.load(), before + at_once);

  // Lifted: everything goes at once.
  pub->limit_rate(PublishRate::kUnlimited);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(publish(), CITYLINK_OK) << i;
  EXPECT_TRUE(eventually([&] { return c->published.load() >= ok + 500 + 2000 + (2000 - at_once) + 1000; }));
}
