// The platform bridge (plugins/ucp-bridge) against real sockets: the host runs the bridge,
// the test plays the platform's senders (HTTP JSON, HTTP form, TCP telegram, legacy fixed
// header) and `platform-sim` plays the platform's HTTP side in its own process (issue 9).
#include <utility>  // before Boost.Asio 1.74 under C++20 (std::exchange)

#include "header_flood.hpp"
#include "host_support.hpp"
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/host.hpp>
#include <gtest/gtest.h>
#include <httplib.h>

#include <boost/asio.hpp>
#include <csignal>
#include <map>
#include <set>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "http_json.hpp"
#include "legacy.hpp"
#include "telegram.hpp"

using namespace citylink::host;
using citylink::test::eventually;
using citylink::test::read_jsonl;
using citylink::test::TempDir;
namespace asio = boost::asio;

namespace {

// platform-interface.md's table, and where the bridge puts each code by default.
const std::map<std::string, std::string> kCodes = {
    {"112UC001", "incident.112"},      {"112UC120", "incident.112"},        {"112UC110", "incident.112"},
    {"119UC001", "incident.119"},      {"DUCDP110", "incident.disaster"},   {"WPSSF110", "incident.vulnerable"},
    {"MOJUC110", "incident.moj"},      {"EBSCP110", "incident.other"},      {"SEBSF110", "incident.other"},
    {"FMSFT110", "incident.other"},    {"LPRUM120", "incident.other"},      {"POCCP103", "incident.other"},
    {"STLSF110", "incident.other"},    {"TUATR100", "incident.other"},      {"APLEN110", "incident.other"},
    {"WESEN110", "incident.other"},    {"BNRCP140", "incident.other"},      {"MTSUC210", "incident.other"},
    {"MTSUC220", "incident.other"},    {"MTSUC230", "incident.other"},      {"MTSUC240", "incident.other"},
    {"MTSUC250", "incident.other"}};
// Status as sent -> PlatformEvent status; 30 and 92 are read as 10 and 91 and kept raw.
const std::vector<std::pair<std::string, int>> kStatuses = {{"10", 10}, {"30", 10}, {"40", 40}, {"50", 50},
                                                            {"90", 90}, {"91", 91}, {"92", 91}};
const char* kAllIncidentTopics =
    "[incident.112, incident.119, incident.disaster, incident.vulnerable, incident.moj, incident.other]";

struct BridgeFixture : ::testing::Test {
  TempDir dir;
  int http_port = citylink::test::free_tcp_port(), telegram_port = citylink::test::free_tcp_port(),
      legacy_port = citylink::test::free_tcp_port(), platform_port = citylink::test::free_tcp_port();
  std::vector<int> children;

  // The bridge closes a connection that sends too much, as the platform's own servers do;
  // writing the rest into it must be EPIPE for the sender, not the end of the test process.
  BridgeFixture() { std::signal(SIGPIPE, SIG_IGN); }
  ~BridgeFixture() override {
    for (int pid : children) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string path(const std::string& f) const { return (dir / f).string(); }

  int start_platform(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {PLATFORM_SIM, "serve", "--port", std::to_string(platform_port), "--out",
                                     path("platform.jsonl"), "--api-key", "k-1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const int pid = spawn_process(argv, {"PATH=/usr/bin:/bin"});
    children.push_back(pid);
    // Ready when it answers.
    httplib::Client c("127.0.0.1", platform_port);
    eventually([&] { return static_cast<bool>(c.Post("/api/getAuth.json", "{}", "application/json")); });
    return pid;
  }

  // A city of the bridge, a collector of every incident topic, and `extra` plugins.
  std::unique_ptr<Host> start_host(const std::string& bridge_config, const std::string& extra = "",
                                   const std::string& bridge_grants = "") {
    const std::string yaml =
        "city: bridge-city\nhost:\n  outbox: " + path("outbox.db") + "\nplugin_dirs: [" +
        std::string(CITYLINK_TEST_PLUGIN_DIR) + ", " + std::string(CITYLINK_SAMPLE_PLUGIN_DIR) +
        "]\nincident_authority:\n  112UC001: {topic: incident.112, sources: [ucp]}\n"
        "plugins:\n"
        "  - instance: ucp\n    file: ucp_bridge.so\n" +
        (bridge_grants.empty() ? "    grants: {publish: " + std::string(kAllIncidentTopics) + "}\n" : bridge_grants) +
        "    config: " + bridge_config + "\n"
        "  - instance: collector\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
        "    grants: {subscribe: [incident.]}\n    config: {out: " + path("collected.jsonl") + "}\n" + extra;
    auto h = std::make_unique<Host>(parse_city_config(yaml, "bridge-city.yaml", dir.path()));
    h->set_worker_command({CITYLINK_BIN, "worker"});
    h->start();
    return h;
  }
  std::string listen_config() const {
    return "{listen: {http_port: " + std::to_string(http_port) + ", telegram_port: " + std::to_string(telegram_port) +
           ", legacy_port: " + std::to_string(legacy_port) + ", max_body_bytes: 4096}, rejected_file: " +
           path("rejected.jsonl") + "}";
  }
  std::vector<nlohmann::json> collected() const { return read_jsonl(path("collected.jsonl")); }
  static CounterSnapshot counters(Host& h, const std::string& id) { return citylink::test::counters_of(h, id); }

  // --- the platform's senders ---
  httplib::Result post(const std::string& body, const std::string& type = "application/json") const {
    httplib::Client c("127.0.0.1", http_port);
    c.set_read_timeout(10, 0);
    return c.Post("/integrationPlatformEvent", body, type.c_str());
  }
  // Writes `bytes`; reads one line (telegram) or `answer_bytes` (legacy); "" when closed.
  std::string exchange(int port, const std::string& bytes, std::size_t answer_bytes = 0) const {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    // A bridge that never answers fails the test instead of hanging it.
    const timeval limit{30, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    boost::system::error_code ec;
    asio::write(s, asio::buffer(bytes), ec);  // cut short when the bridge refuses and closes; read its answer
    if (answer_bytes) {
      std::string a(answer_bytes, '\0');
      asio::read(s, asio::buffer(a), ec);
      return ec ? "" : a;
    }
    asio::streambuf buf;
    const auto n = asio::read_until(s, buf, '\n', ec);
    if (ec) return "";
    return std::string(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
  }
  static ucp::Event event(const std::string& code, const std::string& number, const std::string& status) {
    ucp::Event e;
    e.evt_id = code;
    e.evt_grad = "10";
    e.ocr_nbr = number;
    e.ocr_sts = status;
    e.x = "127.0276";
    e.y = "37.4979";
    e.z = "0";
    e.place = "서울 강남구 강남대로 396";
    e.content = "신고 내용";
    e.time = "20261202093000";
    e.items = {{"OCCUR_FCLT_ID", "F-1"}};
    return e;
  }
  static ucp::Header header() {
    ucp::Header h;
    h.send_cd = "B4100000000";
    h.rcv_cd = "B4113000000";
    h.sys_cd = "UCP";
    h.tran_sys_his = {"Siheung_UCP"};
    return h;
  }
};

std::string number(int i) {
  const std::string n = std::to_string(10000 + i % 10000).substr(1);
  return "2026120200" + n;  // 14 digits
}

}  // namespace

// Every event code of the table with every status, over HTTP JSON, HTTP form and TCP
// telegrams, then every legacy sender: each becomes one PlatformEvent on its topic, with
// the bridge as its source, and each sender hears "accepted" in its own format.
TEST_F(BridgeFixture, EveryEventCodeAndStatusOverEveryInterfaceBecomesAPlatformEventOnItsTopic) {
  auto h = start_host(listen_config());
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  std::map<std::string, std::tuple<std::string, std::string, int, std::string>> sent;  // number -> via, code, status, raw
  int n = 0;
  for (const char* via : {"http", "form", "telegram"}) {
    for (const auto& [code, topic] : kCodes) {
      for (const auto& [status, expect] : kStatuses) {
        const std::string num = number(++n);
        const auto e = event(code, num, status);
        sent[num] = {via, code, expect, status};
        if (std::string(via) == "telegram") {
          ASSERT_EQ(exchange(telegram_port, ucp::telegram::encode(header(), e)), "0;\n") << code << " " << status;
          continue;
        }
        const auto body = ucp::http::encode_body(e);
        auto r = std::string(via) == "http"
                     ? post(ucp::http::encode_request(header(), body).dump())
                     : post(ucp::http::form_encode({{"svcTy", "EVENT"}, {"sendCd", "B4100000000"}, {"body", body.dump()}}),
                            "application/x-www-form-urlencoded");
        ASSERT_TRUE(r) << via;
        ASSERT_EQ(r->status, 200);
        EXPECT_TRUE(ucp::http::decode_response(r->body).ok) << r->body;
      }
    }
  }
  // Legacy: each sender system and message type, with the statuses of the link.
  struct Legacy {
    std::string sender, msg_type, code;
    std::size_t fields;
  };
  for (const Legacy& l : {Legacy{"112", "10", "112UC001", 9}, Legacy{"112", "20", "112UC120", 9},
                          Legacy{"112", "30", "112UC110", 9}, Legacy{"119", "10", "119UC001", 9},
                          Legacy{"DSC", "10", "WPSSF110", 19}}) {
    for (const auto& [status, expect] : kStatuses) {
      const std::string num = number(++n);
      ucp::legacy::Message m;
      m.header = {l.msg_type, status, "20261202093000", l.sender, "UCP", "20261202093001", 0};
      m.fields.assign(l.fields, {"x"});
      m.fields[0] = {num};
      // Longitude and latitude sit at 3/4 for 112 and 119, 2/3 for the social-vulnerable link.
      const std::size_t lon = l.sender == "DSC" ? 2 : 3;
      m.fields[lon] = {"127.0276"};
      m.fields[lon + 1] = {"37.4979"};
      m.fields[l.sender == "DSC" ? 14 : 7] = {"20261202093000"};  // EVT_DTM
      if (l.sender == "DSC") m.fields[12] = {"보호자1", "보호자2"};  // GUARD_NM*, an array
      sent[num] = {"legacy", l.code, expect, status};
      const auto answer = exchange(legacy_port, ucp::legacy::encode(m), ucp::legacy::kResponseBytes);
      const auto r = ucp::legacy::decode_response(answer);
      ASSERT_TRUE(r && r->ok) << answer;
    }
  }
  ASSERT_TRUE(eventually([&] { return collected().size() == sent.size(); })) << collected().size() << " of " << sent.size();
  for (const auto& j : collected()) {
    const auto& ev = j["event"];
    const std::string num = ev["number"];
    ASSERT_TRUE(sent.count(num)) << num;
    const auto& [via, code, status, raw] = sent[num];
    EXPECT_EQ(ev["code"], code) << via;
    EXPECT_EQ(j["topic"], kCodes.at(code)) << via << " " << code;
    EXPECT_EQ(j["source"], "ucp");  // the bridge is the source incident_authority names
    EXPECT_EQ(j["correlation_id"], num);
    EXPECT_EQ(j["attributes"]["ucp.via"], via == "form" ? "http" : via);  // one HTTP endpoint takes both
    EXPECT_EQ(ev["status"], status) << via << " " << code << " " << raw;
    EXPECT_EQ(ev["raw_status"], raw == "30" || raw == "92" ? raw : "") << raw;
    EXPECT_DOUBLE_EQ(ev["lon"].get<double>(), 127.0276);
    EXPECT_DOUBLE_EQ(ev["lat"].get<double>(), 37.4979);
    EXPECT_FALSE(ev["items"].contains("citylink.flags")) << ev["items"].dump();
    if (via != "legacy") {
      EXPECT_EQ(ev["place"], "서울 강남구 강남대로 396");
      EXPECT_EQ(ev["items"]["OCCUR_FCLT_ID"], "F-1");
    }
    if (via == "legacy" && code == "WPSSF110") {
      EXPECT_EQ(ev["items"]["GUARD_NM"], "보호자1");
      EXPECT_EQ(ev["items"]["GUARD_NM.2"], "보호자2");
    }
  }
  EXPECT_EQ(counters(*h, "ucp").published, sent.size());
}

// What the platform sends that the bridge cannot read is answered with the reason in the
// sender's format, logged and kept raw for the operator; the connection survives where the
// stream can still be followed, and the next good event goes through.
TEST_F(BridgeFixture, BadInputIsAnsweredKeptForTheOperatorAndTheBridgeRunsOn) {
  auto h = start_host(listen_config());
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  const auto good = ucp::telegram::encode(header(), event("112UC001", number(1), "10"));
  // Telegrams.
  const std::string F = "\xC3\x91";
  std::string extra_field = good;
  extra_field.insert(extra_field.find("신고 내용"), "a" + F);  // a separator inside the content: 18 fields
  EXPECT_EQ(exchange(telegram_port, extra_field).substr(0, 1), "1");
  EXPECT_NE(exchange(telegram_port, extra_field).find("18 fields"), std::string::npos);
  std::string few = "EVENT" + F + "12\xC3\x90" + "a" + F + "b\n";
  EXPECT_NE(exchange(telegram_port, few).find("header has 2 fields"), std::string::npos);
  std::string bad_len = good;
  const auto sep = bad_len.find("\xC3\x90"), len_at = bad_len.rfind(F, sep) + F.size();  // dataLen: the last header field
  bad_len.replace(len_at, sep - len_at, "7");
  EXPECT_NE(exchange(telegram_port, bad_len).find("dataLen says 7"), std::string::npos);
  EXPECT_NE(exchange(telegram_port, "EVENT\xC3\x90\xFF\xFE\n").find("not valid UTF-8"), std::string::npos);
  auto not_number = event("112UC001", number(2), "10");
  not_number.x = "east";
  EXPECT_NE(exchange(telegram_port, ucp::telegram::encode(header(), not_number)).find("'east' is not a number"),
            std::string::npos);
  // Too long: refused with the platform's own words, and the connection closed.
  EXPECT_EQ(exchange(telegram_port, std::string(600, 'x') + "\n"), ucp::telegram::ack_error(ucp::telegram::kTooLong));
  // Legacy: a wrong DATA_LEN, and a DATA_LEN that is not a number.
  ucp::legacy::Message m;
  m.header = {"10", "10", "20261202093000", "112", "UCP", "20261202093001", 0};
  m.fields.assign(9, {"1"});
  std::string wrong = ucp::legacy::encode(m);
  wrong.replace(38, 10, "0000000003");
  EXPECT_EQ(exchange(legacy_port, wrong, ucp::legacy::kResponseBytes).substr(0, 1), "1");
  std::string nan = ucp::legacy::encode(m);
  nan.replace(38, 10, "000000000x");
  const auto r = ucp::legacy::decode_response(exchange(legacy_port, nan, ucp::legacy::kResponseBytes));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->message.find("DATA_LEN"), std::string::npos);
  m.fields.pop_back();  // 8 fields from 112
  const auto few_fields = ucp::legacy::decode_response(exchange(legacy_port, ucp::legacy::encode(m), ucp::legacy::kResponseBytes));
  ASSERT_TRUE(few_fields);
  EXPECT_NE(few_fields->message.find("9 body fields"), std::string::npos);
  // HTTP: not JSON, no body, encrypted without a secret, too large.
  EXPECT_NE(post("{not json")->body.find("\"result\":\"1\""), std::string::npos);
  EXPECT_NE(post("{\"svcTy\":\"EVENT\"}")->body.find("no 'body'"), std::string::npos);
  EXPECT_NE(post("{\"encAt\":\"Y\",\"body\":\"AAAA\"}")->body.find("no secret"), std::string::npos);
  auto big = post("{\"body\":\"" + std::string(8000, 'a') + "\"}");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(ucp::http::decode_response(big->body).result, "1");  // the platform's answer, whole
  // Chunked, so no length is declared: counted as it arrives and refused past the limit.
  httplib::Client chunked("127.0.0.1", http_port);
  auto endless = chunked.Post(
      "/integrationPlatformEvent",
      [](std::size_t offset, httplib::DataSink& sink) {
        const std::string block(1024, 'a');
        if (offset < 1024 * 1024) sink.write(block.data(), block.size());
        else sink.done();
        return true;
      },
      "application/json");
  // The bridge answers 413 and closes while the sender still writes, so the sender may see
  // only the closed connection; either way the bridge stopped reading at the limit.
  if (endless) {
    EXPECT_EQ(endless->status, 413);
  }
  ASSERT_TRUE(eventually([&] {
    for (const auto& j : read_jsonl(path("rejected.jsonl")))
      if (j["error"].get<std::string>().find("read past 4096 bytes") != std::string::npos) return true;
    return false;
  }));
  // Headers without end: answered 431 with the platform's answer before they are read.
  const std::string flood = citylink::test::send_header_flood(http_port, "POST /integrationPlatformEvent HTTP/1.1");
  EXPECT_EQ(flood.rfind("HTTP/1.1 431 ", 0), 0u) << flood.substr(0, 200);
  ASSERT_NE(flood.find("\r\n\r\n"), std::string::npos);
  EXPECT_EQ(ucp::http::decode_response(flood.substr(flood.find("\r\n\r\n") + 4)).result, "1");
  ASSERT_TRUE(eventually([&] {
    for (const auto& j : read_jsonl(path("rejected.jsonl")))
      if (j["error"].get<std::string>().find("headers are larger than the bridge accepts") != std::string::npos) return true;
    return false;
  }));
  // An unknown event code passes, flagged, on the other topic.
  EXPECT_EQ(exchange(telegram_port, ucp::telegram::encode(header(), event("ZZZUC999", number(3), "10"))), "0;\n");
  // And the bridge still serves.
  EXPECT_EQ(exchange(telegram_port, good), "0;\n");
  ASSERT_TRUE(eventually([&] { return collected().size() == 2u; }));
  const auto got = collected();
  EXPECT_EQ(got[0]["topic"], "incident.other");
  EXPECT_EQ(got[0]["event"]["items"]["citylink.flags"], "unknown_event_code");
  EXPECT_EQ(got[1]["event"]["code"], "112UC001");
  // The operator has each refused message, raw.
  const auto rejected = read_jsonl(path("rejected.jsonl"));
  EXPECT_GE(rejected.size(), 10u);
  bool has_raw = false;
  for (const auto& j : rejected) has_raw |= j["raw"].get<std::string>().find("east") != std::string::npos;
  EXPECT_TRUE(has_raw);
  EXPECT_EQ(counters(*h, "ucp").published, 2u);
  EXPECT_TRUE(h->failures().empty());
}

// Outbound: events CityLink raises reach the platform over HTTP/JSON, ARIA-encrypted, in
// order; a session the platform drops is renewed; the host's outbox is empty only when the
// platform said result "0".
TEST_F(BridgeFixture, CityLinkEventsReachThePlatformEncryptedInOrderAcrossExpiredSessions) {
  start_platform({"--expire-session-every", "7", "--secret", "s3cret-s3cret"});
  // Every code of the table through every status it can be written with, in one stream.
  const int statuses[] = {10, 40, 50, 90, 91};
  std::vector<std::pair<std::string, int>> sent;
  std::string events;
  for (const auto& [code, topic] : kCodes)
    for (int st : statuses) {
      events += "        - {at_ms: " + std::to_string(100 + 5 * sent.size()) + ", topic: incident.112, event_code: " +
                code + ", status: " + std::to_string(st) + ", grade: 10, occurrence_number: \"" +
                number(static_cast<int>(sent.size())) + "\", lat: 37.4979, lon: 127.0276, content: \"상황 " +
                std::to_string(sent.size()) + "\"}\n";
      sent.emplace_back(code, st);
    }
  auto h = start_host("{platform: {url: \"http://127.0.0.1:" + std::to_string(platform_port) +
                          "\", api_key: k-1, send_code: B4113000000, receive_code: B4100000000, encrypt: true, "
                          "secret: s3cret-s3cret}}",
                      "  - instance: feed\n    file: incident_feed.so\n    grants: {publish: [incident.112]}\n"
                      "    config:\n      events:\n" + events,
                      "    grants: {subscribe: [incident.112]}\n    durable: {ack_timeout_ms: 600000}\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  ASSERT_TRUE(eventually([&] { return read_jsonl(path("platform.jsonl")).size() == sent.size(); }));
  const auto got = read_jsonl(path("platform.jsonl"));
  const std::map<int, std::string> korean = {{10, "발생"}, {40, "변경"}, {50, "해제"}, {90, "취소"}, {91, "종료"}};
  for (std::size_t i = 0; i < sent.size(); ++i) {  // in the order raised
    const auto& b = got[i]["body"];
    EXPECT_EQ(got[i]["encAt"], "Y");
    EXPECT_EQ(got[i]["sendCd"], "B4113000000");
    EXPECT_EQ(b["evtId"], sent[i].first);
    EXPECT_EQ(b["ocrNbr"], number(static_cast<int>(i)));
    EXPECT_EQ(b["ocrSts"], std::to_string(sent[i].second));
    EXPECT_EQ(b["ocrEvtSts"]["ocrEvtStsDtl"], korean.at(sent[i].second));
    EXPECT_EQ(b["ocrEvtCn"], "상황 " + std::to_string(i));
    EXPECT_EQ(b["ocrLc"]["crdntX"], "127.0276000");
    EXPECT_EQ(b["ocrLc"]["crdntY"], "37.4979000");
  }
  EXPECT_TRUE(eventually([&] {
    return counters(*h, "ucp").acked == sent.size() && counters(*h, "ucp").outbox_depth == 0u;
  }));
  EXPECT_EQ(counters(*h, "ucp").dead_lettered, 0u);
}

// A platform that is unreachable, then never answers, then answers HTTP 500, then refuses
// the bridge's key: nothing is acked and nothing lost; when it comes right, everything
// arrives. An event it refuses for its content becomes a dead letter, visibly.
TEST_F(BridgeFixture, APlatformThatIsDownSilentFailingOrRefusingLosesNothing) {
  std::string events;
  for (int i = 0; i < 6; ++i)
    events += "        - {at_ms: " + std::to_string(50 + i * 20) + ", topic: incident.112, event_code: " +
              (i == 3 ? "112UC120" : "112UC001") + ", status: 10, grade: 10, occurrence_number: \"" + number(100 + i) +
              "\", lat: 37.4979, lon: 127.0276}\n";
  // Silent: a socket that takes connections and never answers.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(platform_port)});
  auto h = start_host("{platform: {url: \"http://127.0.0.1:" + std::to_string(platform_port) +
                          "\", api_key: k-1, send_code: B4113000000, receive_code: B4100000000, timeout_ms: 300}, "
                          "retry_ms: 50, max_retry_ms: 200}",
                      "  - instance: feed\n    file: incident_feed.so\n    grants: {publish: [incident.112]}\n"
                      "    config:\n      events:\n" + events,
                      "    grants: {subscribe: [incident.112]}\n    durable: {ack_timeout_ms: 600000}\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  ASSERT_TRUE(eventually([&] { return counters(*h, "ucp").durable_accepted == 6u; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // several timeouts pass
  EXPECT_EQ(counters(*h, "ucp").acked, 0u);
  silent.close();
  // Refuses the key, then fails with HTTP 500.
  const int wrong_key = start_platform({"--api-key", "another-key"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(counters(*h, "ucp").acked, 0u);
  kill(wrong_key, SIGTERM);
  waitpid(wrong_key, nullptr, 0);
  children.clear();
  start_platform({"--fail-first", "3", "--refuse-code", "112UC120"});
  ASSERT_TRUE(eventually([&] { return counters(*h, "ucp").acked == 5u && counters(*h, "ucp").dead_lettered == 1u; }));
  // An answer slower than the 300 ms timeout (a loaded machine) is sent again: the platform
  // then has it twice, and de-duplicates by occurrence number. The first of each counts.
  std::vector<nlohmann::json> got;
  std::set<std::string> numbers;
  for (const auto& j : read_jsonl(path("platform.jsonl")))
    if (numbers.insert(j["body"]["ocrNbr"].get<std::string>()).second) got.push_back(j);
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i)  // in order, the refused one left out
    EXPECT_EQ(got[i]["body"]["ocrNbr"], number(100 + static_cast<int>(i < 3 ? i : i + 1)));
  EXPECT_TRUE(eventually([&] { return counters(*h, "ucp").outbox_depth == 0u; }));
}

// A platform address the HTTP client cannot use is a config error that names the field.
TEST_F(BridgeFixture, APlatformAddressWithAPathOrABadPortIsRefusedAtConfiguration) {
  for (const char* url : {"http://127.0.0.1:8080/api", "http://127.0.0.1:99999", "ftp://127.0.0.1"}) {
    auto h = start_host(std::string("{platform: {url: \"") + url +
                            "\", api_key: k, send_code: B4113000000, receive_code: B4100000000}}",
                        "", "    grants: {subscribe: [incident.112]}\n");
    ASSERT_EQ(h->failures().size(), 1u) << url;
    EXPECT_NE(h->failures()[0].reason.find("platform.url"), std::string::npos) << h->failures()[0].reason;
  }
}

// platform-sim's own sender, as the demo uses it: each interface answers "accepted".
TEST_F(BridgeFixture, ThePlatformSimulatorSendsOverEachInterface) {
  auto h = start_host(listen_config());
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  int n = 0;
  for (const auto& [via, port] : std::vector<std::pair<std::string, int>>{
           {"http", http_port}, {"form", http_port}, {"telegram", telegram_port}, {"legacy", legacy_port}}) {
    const int pid = spawn_process({PLATFORM_SIM, "send", "--via", via, "--to", "127.0.0.1:" + std::to_string(port),
                                   "--code", "112UC001", "--number", number(++n), "--lon", "127.0276", "--lat", "37.4979",
                                   "--place", "강남역"},
                                  {"PATH=/usr/bin:/bin"});
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << via;
  }
  ASSERT_TRUE(eventually([&] { return collected().size() == 4u; }));
}
