// The host's CURVE TCP endpoint (issue 7, item 9) over real TCP sockets: listed keys get in
// under their configured names and grants; unknown keys, clients without CURVE and plain
// TCP are refused, counted and logged.
#include "test_support.hpp"

#include <citylink/host/curve.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/v1/envelope.pb.h>
#include <citylink/v1/sensor.pb.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace citylink::host;
using citylink::test::eventually;
using citylink::test::read_jsonl;
using citylink::test::TempDir;

namespace {

std::string envelope(const std::string& sensor) {
  citylink::v1::SensorReading r;
  r.set_sensor_id(sensor);
  citylink::v1::Envelope e;
  e.set_schema("citylink.v1.SensorReading");
  e.set_payload(r.SerializeAsString());
  e.set_source("forged-name");  // the host stamps the real one
  return e.SerializeAsString();
}

struct RemoteFixture : ::testing::Test {
  TempDir dir;
  keys::CurveKey server = keys::generate_curve_key();
  keys::CurveKey sensor_key = keys::generate_curve_key();
  keys::CurveKey viewer_key = keys::generate_curve_key();
  keys::CurveKey peer_key = keys::generate_curve_key();
  zmq::context_t client_ctx{1};
  std::unique_ptr<Host> host;

  void SetUp() override {
    keys::write_secret_file(dir / "host.key", server.secret_key + "\n");
    const std::string yaml =
        "city: remote-city\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
        "]\nplugins:\n"
        "  - instance: collector\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
        "    config: {out: " + (dir / "got.jsonl").string() + "}\n    grants: {subscribe: [test.]}\n"
        "remote:\n  bind: tcp://127.0.0.1:0\n  secret_key_file: host.key\n  clients:\n"
        "    - name: field-sensor\n      public_key: \"" + sensor_key.public_key + "\"\n"
        "      grants: {publish: [test.data]}\n"
        "    - name: viewer\n      public_key: \"" + viewer_key.public_key + "\"\n"
        "      grants: {subscribe: [test.data]}\n"
        "    - name: centre-b\n      public_key: \"" + peer_key.public_key + "\"\n      peer_host: true\n      origins: [centre-b]\n"
        "      grants: {publish: [test.data]}\n";
    host = std::make_unique<Host>(parse_city_config(yaml, "remote-city.yaml", dir.path()));
    host->set_worker_command({CITYLINK_BIN, "worker"});
    host->start();
    ASSERT_TRUE(host->failures().empty()) << host->failures()[0].reason;
    ASSERT_NE(host->remote_endpoint(), nullptr);
  }
  void TearDown() override { host.reset(); }

  zmq::socket_t client(const keys::CurveKey* key) {
    zmq::socket_t s(client_ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvtimeo, 200);
    if (key) make_curve_client(s, server.public_key, key->public_key, key->secret_key);
    s.connect(host->remote_endpoint()->endpoint());
    return s;
  }
  static std::vector<std::string> recv_all(zmq::socket_t& s) {
    std::vector<std::string> out;
    zmq::message_t m;
    do {
      if (!s.recv(m)) return out;
      out.push_back(m.to_string());
    } while (m.more());
    return out;
  }
  static void send_all(zmq::socket_t& s, const std::vector<std::string>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i)
      s.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  // Says HELLO until the host answers (the CURVE handshake takes a moment).
  static std::vector<std::string> hello(zmq::socket_t& s) {
    std::vector<std::string> answer;
    eventually([&] {
      send_all(s, {"HELLO"});
      answer = recv_all(s);
      return !answer.empty();
    });
    return answer;
  }
  uint64_t delivered(const std::string& id) {
    for (const auto& st : host->status())
      if (st.instance_id == id) return st.counters.delivered;
    return 0;
  }
};

}  // namespace

TEST_F(RemoteFixture, AListedClientPublishesAndReceivesUnderItsConfiguredName) {
  auto viewer = client(&viewer_key);
  EXPECT_EQ(hello(viewer), (std::vector<std::string>{"WELCOME", "viewer"}));
  auto sensor = client(&sensor_key);
  EXPECT_EQ(hello(sensor), (std::vector<std::string>{"WELCOME", "field-sensor"}));

  for (int i = 0; i < 3; ++i) send_all(sensor, {"PUB", "test.data", envelope("s" + std::to_string(i))});
  send_all(sensor, {"PUB", "test.other", envelope("not granted")});  // outside its grant: rejected by the router

  int got = 0;
  ASSERT_TRUE(eventually([&] {
    const auto m = recv_all(viewer);
    if (m.size() == 3 && m[0] == "MSG" && m[1] == "test.data") {
      citylink::v1::Envelope e;
      EXPECT_TRUE(e.ParseFromString(m[2]));
      EXPECT_EQ(e.source(), "field-sensor");  // the name its key is listed under, never what it wrote
      EXPECT_EQ(e.origin(), "remote-city");
      ++got;
    }
    return got == 3;
  }));
  ASSERT_TRUE(eventually([&] { return delivered("collector") == 3; }));
  for (const auto& line : read_jsonl(dir / "got.jsonl")) EXPECT_EQ(line["source"], "field-sensor");
  ASSERT_TRUE(eventually([&] {
    for (const auto& st : host->status())
      if (st.instance_id == "field-sensor") return st.counters.rejected[static_cast<int>(RejectReason::not_granted)] == 1;
    return false;
  }));
}

// Trusted ingress (docs/remote.md §4.1): another host's forwarded envelope keeps the identity
// its origin city gave it; only the peer's listed key earns that, and a loop is refused.
TEST_F(RemoteFixture, APeerHostKeepsTheIdentityOfWhatItForwardsAndALoopIsRefused) {
  auto viewer = client(&viewer_key);
  ASSERT_EQ(hello(viewer)[0], "WELCOME");
  auto peer = client(&peer_key);
  ASSERT_EQ(hello(peer), (std::vector<std::string>{"WELCOME", "centre-b"}));
  auto sensor = client(&sensor_key);
  ASSERT_EQ(hello(sensor)[0], "WELCOME");
  auto forwarded = [](const std::string& sensor_id, const std::string& id, const std::string& origin, int64_t time) {
    citylink::v1::Envelope e;
    e.ParseFromString(envelope(sensor_id));
    e.set_topic("test.data");
    e.set_id(id);
    e.set_origin(origin);
    e.set_time_unix_ns(time);
    return e.SerializeAsString();
  };
  // In order: a forwarded message, a loop, an origin the peer may not vouch for, one of the
  // peer's own, and a plain client's forgery.
  send_all(peer, {"PUB", "test.data", forwarded("kept", "centre-b-000042", "centre-b", 1700000000000000000)});
  send_all(peer, {"PUB", "test.data", forwarded("loop", "remote-city-000007", "remote-city", 1)});
  send_all(peer, {"PUB", "test.data", forwarded("claimed", "centre-c-000001", "centre-c", 1)});
  send_all(peer, {"PUB", "test.data", envelope("peer-own")});
  send_all(sensor, {"PUB", "test.data", forwarded("forged", "centre-b-000043", "centre-b", 5)});

  std::map<std::string, citylink::v1::Envelope> by_sensor;
  ASSERT_TRUE(eventually([&] {
    const auto m = recv_all(viewer);
    if (m.size() == 3 && m[0] == "MSG") {
      citylink::v1::Envelope e;
      citylink::v1::SensorReading r;
      if (e.ParseFromString(m[2]) && r.ParseFromString(e.payload())) by_sensor[r.sensor_id()] = e;
    }
    return by_sensor.size() >= 3;
  }));
  const auto& kept = by_sensor["kept"];
  EXPECT_EQ(kept.id(), "centre-b-000042");
  EXPECT_EQ(kept.origin(), "centre-b");
  EXPECT_EQ(kept.time_unix_ns(), 1700000000000000000);
  EXPECT_EQ(kept.source(), "centre-b");  // who vouches for it here: the peer's listed name
  const auto& own = by_sensor["peer-own"];
  EXPECT_EQ(own.origin(), "remote-city");  // no id and origin given: stamped like any client's
  EXPECT_FALSE(own.id().empty());
  const auto& forged = by_sensor["forged"];
  EXPECT_NE(forged.id(), "centre-b-000043");  // a plain client's identity is never kept
  EXPECT_EQ(forged.origin(), "remote-city");
  EXPECT_EQ(forged.source(), "field-sensor");
  EXPECT_EQ(by_sensor.count("loop"), 0u);
  EXPECT_EQ(by_sensor.count("claimed"), 0u);  // another city's (origin, id): not this peer's to vouch for
  ASSERT_TRUE(eventually([&] {
    for (const auto& st : host->status())
      if (st.instance_id == "centre-b")
        return st.counters.rejected[static_cast<int>(RejectReason::loop)] == 1 &&
               st.counters.rejected[static_cast<int>(RejectReason::not_granted)] == 1;
    return false;
  }));
  EXPECT_NE(host->metrics_prometheus().find("citylink_rejected_total{instance=\"centre-b\",reason=\"loop\"} 1"),
            std::string::npos);
}

TEST_F(RemoteFixture, AnUnknownKeyIsRefusedCountedAndGetsNothingIn) {
  const auto stranger = keys::generate_curve_key();
  auto s = client(&stranger);
  send_all(s, {"HELLO"});
  send_all(s, {"PUB", "test.data", envelope("intruder")});
  ASSERT_TRUE(eventually([&] { return host->remote_endpoint()->refusals().unknown_key.load() >= 1; }));
  EXPECT_TRUE(recv_all(s).empty());
  EXPECT_EQ(delivered("collector"), 0u);
  EXPECT_NE(host->metrics_prometheus().find("citylink_remote_refused_total{why=\"unknown_key\"}"), std::string::npos);
}

TEST_F(RemoteFixture, AClientWithoutCurveKeysIsRefused) {
  auto plain = client(nullptr);
  send_all(plain, {"HELLO"});
  send_all(plain, {"PUB", "test.data", envelope("unencrypted")});
  // libzmq usually reports a mechanism mismatch (counted as no_curve), but under other
  // timing (seen under AddressSanitizer) only a failed handshake: either way it is refused.
  ASSERT_TRUE(eventually([&] {
    const auto& r = host->remote_endpoint()->refusals();
    return r.no_curve.load() + r.bad_handshake.load() >= 1;
  }));
  EXPECT_TRUE(recv_all(plain).empty());
  EXPECT_EQ(delivered("collector"), 0u);
}

TEST_F(RemoteFixture, AListedClientThatTrustsAnotherServerKeyIsRefused) {
  zmq::socket_t s(client_ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 200);
  const auto impostor_server = keys::generate_curve_key();  // what a man in the middle would present
  make_curve_client(s, impostor_server.public_key, sensor_key.public_key, sensor_key.secret_key);
  s.connect(host->remote_endpoint()->endpoint());
  send_all(s, {"PUB", "test.data", envelope("via the wrong server")});
  ASSERT_TRUE(eventually([&] { return host->remote_endpoint()->refusals().bad_handshake.load() >= 1; }));
  EXPECT_EQ(delivered("collector"), 0u);
}

TEST_F(RemoteFixture, APlainTcpConnectionIsRefused) {
  const std::string ep = host->remote_endpoint()->endpoint();  // tcp://127.0.0.1:PORT
  const int port = std::stoi(ep.substr(ep.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string http = "GET / HTTP/1.0\r\nHost: x\r\n\r\n" + std::string(300, 'x');
  ASSERT_EQ(::write(fd, http.data(), http.size()), static_cast<ssize_t>(http.size()));
  // Whether libzmq drops it at once or at the handshake deadline, it is refused and counted.
  const bool refused = eventually([&] { return host->remote_endpoint()->refusals().bad_handshake.load() >= 1; });
  ::close(fd);
  EXPECT_TRUE(refused);
  EXPECT_EQ(delivered("collector"), 0u);
}

TEST(RemoteConfig, MistakesNameTheLineAndTheFix) {
  TempDir dir;
  auto error = [&](const std::string& remote) {
    try {
      parse_city_config("plugins: []\nremote:\n" + remote, "r.yaml", dir.path());
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(error("  bind: ipc:///tmp/x\n  secret_key_file: k\n").find("is not a TCP endpoint"), std::string::npos);
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n").find("needs `bind`"), std::string::npos);
  const std::string key = keys::generate_curve_key().public_key;
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: short}\n")
                .find("expected a CURVE public key"),
            std::string::npos);
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: \"" + key +
                  "\", grants: requested}\n")
                .find("no descriptor to request from"),
            std::string::npos);
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: \"" + key +
                  "\", grants: {publish: [grant.video.112]}}\n")
                .find("published only by the scenario engine"),
            std::string::npos);
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: \"" + key +
                  "\", peer_host: maybe}\n")
                .find("remote.clients[0].peer_host: expected true or false"),
            std::string::npos);
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: \"" + key +
                  "\", peer_host: true}\n")
                .find("a peer host needs `origins:`"),
            std::string::npos);
  // Two hosts that forward to each other under one city name would refuse everything as a loop.
  EXPECT_NE(error("  bind: tcp://127.0.0.1:1\n  secret_key_file: k\n  clients:\n    - {name: a, public_key: \"" + key +
                  "\", peer_host: true, origins: [unnamed-city]}\n")
                .find("is this city's own name"),
            std::string::npos);
}

TEST(RemoteConfig, AnUnusableKeyFileIsReportedAndTheCityRunsOn) {
  TempDir dir;
  const std::string yaml = "city: c\nplugins: []\nremote:\n  bind: tcp://127.0.0.1:0\n  secret_key_file: missing.key\n";
  Host h(parse_city_config(yaml, "c.yaml", dir.path()));
  h.set_worker_command({CITYLINK_BIN, "worker"});
  h.start();
  ASSERT_EQ(h.failures().size(), 1u);
  EXPECT_NE(h.failures()[0].reason.find("missing.key is not usable"), std::string::npos) << h.failures()[0].reason;
  EXPECT_EQ(h.remote_endpoint(), nullptr);
}

// Issue 12 (remote streams 5x an MQTT broker): a client may publish many messages in one
// PUBS frame and, after HELLO batch, receive them in MSGS frames; each message inside is
// checked, stamped and counted as if it came alone, and a frame that is no batch is refused.
TEST_F(RemoteFixture, BatchesArePublishedAndDeliveredMessageByMessageInOrder) {
  auto viewer = client(&viewer_key);
  std::vector<std::string> answer;
  ASSERT_TRUE(eventually([&] {
    send_all(viewer, {"HELLO", "batch"});
    answer = recv_all(viewer);
    return !answer.empty();
  }));
  EXPECT_EQ(answer, (std::vector<std::string>{"WELCOME", "viewer"}));
  auto sensor = client(&sensor_key);
  ASSERT_EQ(hello(sensor), (std::vector<std::string>{"WELCOME", "field-sensor"}));

  constexpr int kMessages = 500;
  citylink::v1::EnvelopeBatch batch;
  for (int i = 0; i < kMessages; ++i) {
    auto* item = batch.add_items();
    item->set_topic("test.data");
    item->set_envelope(envelope("b" + std::to_string(i)));
  }
  auto* outside = batch.add_items();  // outside its grant: rejected by the router, the rest goes on
  outside->set_topic("test.other");
  outside->set_envelope(envelope("not granted"));
  send_all(sensor, {"PUBS", batch.SerializeAsString()});

  std::vector<std::string> ids;
  ASSERT_TRUE(eventually([&] {
    const auto m = recv_all(viewer);
    if (m.size() == 2 && m[0] == "MSGS") {
      citylink::v1::EnvelopeBatch got;
      EXPECT_TRUE(got.ParseFromString(m[1]));
      for (const auto& item : got.items()) {
        EXPECT_EQ(item.topic(), "test.data");
        citylink::v1::Envelope e;
        EXPECT_TRUE(e.ParseFromString(item.envelope()));
        EXPECT_EQ(e.source(), "field-sensor");  // stamped by the host, as for PUB
        citylink::v1::SensorReading r;
        EXPECT_TRUE(r.ParseFromString(e.payload()));
        ids.push_back(r.sensor_id());
      }
    }
    return ids.size() >= std::size_t(kMessages);
  }));
  ASSERT_EQ(ids.size(), std::size_t(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(ids[i], "b" + std::to_string(i));
  ASSERT_TRUE(eventually([&] { return delivered("viewer") == uint64_t(kMessages); }));
  ASSERT_TRUE(eventually([&] { return delivered("collector") == uint64_t(kMessages); }));
  ASSERT_TRUE(eventually([&] {
    for (const auto& st : host->status())
      if (st.instance_id == "field-sensor") return st.counters.rejected[static_cast<int>(RejectReason::not_granted)] == 1;
    return false;
  }));

  // A PUBS frame that is not a batch: refused with the reason, nothing published.
  send_all(sensor, {"PUBS", "\xff\xff\xff not a batch"});
  ASSERT_TRUE(eventually([&] {
    answer = recv_all(sensor);
    return !answer.empty();
  }));
  ASSERT_EQ(answer.size(), 2u);
  EXPECT_EQ(answer[0], "ERR");
  EXPECT_NE(answer[1].find("not a citylink.v1.EnvelopeBatch"), std::string::npos) << answer[1];
}
