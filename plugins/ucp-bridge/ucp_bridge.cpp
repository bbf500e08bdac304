// ucp-bridge: CityLink beside the Smart City Integrated Platform, both ways, through the
// platform's own interfaces (../shared/platform-interface.md, docs/platform-bridge.md).
//  - out: the PlatformEvents CityLink raises (a durable subscription) are posted to the
//    platform's /linkHttp/recvEvent.json with a session from /api/getAuth.json, optionally
//    ARIA-encrypted; acked to the host only when the platform answered result "0".
//  - in: events the platform sends (HTTP JSON or form, TCP telegrams, legacy fixed-header
//    messages) are published as PlatformEvents on their incident topic, with the bridge as
//    the source the city's incident_authority names, and answered in the sender's format
//    only after the host accepted them.
#include <citylink/plugin.hpp>
#include <citylink/v1/platform_event.pb.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "event_mapping.hpp"
#include "http_listener.hpp"
#include "platform_client.hpp"
#include "sample_support.hpp"
#include "text.hpp"
#include "tcp_listeners.hpp"

namespace {

using citylink::samples::Fields;
using Clock = std::chrono::steady_clock;
using ucp_bridge::PlatformClient;

std::string read_secret(const std::string& path, const char* field) {
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s) || s.empty())
    throw citylink::ConfigError(std::string("field '") + field + "': cannot read a secret from '" + path +
                                "' (one line, the shared secret)");
  return s;
}

// Printable for a log line: control bytes (and every byte of invalid UTF-8) as \xNN, cut at
// 300 bytes; the rejected file keeps it whole.
std::string printable(const std::string& raw) {
  std::string out;
  const bool utf8 = ucp::valid_utf8(raw);
  for (unsigned char c : raw.substr(0, 300)) {
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02X", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return raw.size() > 300 ? out + "... (" + std::to_string(raw.size()) + " bytes)" : out;
}

class UcpBridge : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.ucp-bridge";
    d.name = "Integrated-platform bridge";
    d.vendor = "CityLink";
    d.version = "1.0.0";
    d.kind = "bridge";
    d.description = "Speaks the Smart City Integrated Platform's event interfaces both ways: posts CityLink's "
                    "PlatformEvents over HTTP/JSON (session, optional ARIA-256), and publishes the platform's HTTP, "
                    "TCP-telegram and legacy fixed-header events on their incident topics.";
    d.subscribes = {"incident."};
    d.publishes = {"incident.*"};
    d.config_schema = R"({"type":"object","additionalProperties":false,"properties":{
      "platform":{"type":"object"},"listen":{"type":"object"},"topics":{"type":"object"},
      "other_topic":{"type":"string"},"retry_ms":{"type":"integer","minimum":10},
      "max_retry_ms":{"type":"integer","minimum":10},"progress_ms":{"type":"integer","minimum":10},"rejected_file":{"type":"string"}}})";
    return d;
  }

  explicit UcpBridge(const citylink::InstanceContext& ctx) : host_(ctx.host()), self_(ctx.instance_id()) {
    const auto cfg = Fields::parse(ctx, {"platform", "listen", "topics", "other_topic", "retry_ms", "max_retry_ms",
                                         "progress_ms", "rejected_file"});
    if (!cfg.has("platform") && !cfg.has("listen"))
      cfg.fail("platform", "give 'platform' (to post events to the platform), 'listen' (to take events from it), or both");
    if (cfg.has("platform")) read_platform(cfg.object("platform", {"url", "api_key", "send_code", "receive_code",
                                                                   "system_code", "encrypt", "secret", "secret_file",
                                                                   "ciphertext", "timeout_ms"}));
    if (cfg.has("listen")) read_listen(cfg.object("listen", {"host", "http_port", "http_path", "telegram_port",
                                                             "legacy_port", "encoding", "max_body_bytes", "secret",
                                                             "secret_file", "ciphertext"}));
    routing_ = ucp_bridge::default_routing();
    for (const auto& [code, topic] : cfg.string_map("topics")) {
      if (topic.rfind("incident.", 0) != 0) cfg.fail("topics." + code, "'" + topic + "' is not an incident. topic");
      routing_.topic_of_code[code] = topic;
    }
    routing_.other_topic = cfg.text("other_topic", routing_.other_topic);
    if (routing_.other_topic.rfind("incident.", 0) != 0)
      cfg.fail("other_topic", "'" + routing_.other_topic + "' is not an incident. topic");
    retry_ = std::chrono::milliseconds(cfg.integer("retry_ms", 500, 10, 600'000));
    max_retry_ = std::chrono::milliseconds(cfg.integer("max_retry_ms", 10'000, 10, 3'600'000));
    if (max_retry_ < retry_) max_retry_ = retry_;
    progress_ = std::chrono::milliseconds(cfg.integer("progress_ms", 1'000, 10, 3'600'000));
    rejected_file_ = cfg.text("rejected_file", "");
  }

  ~UcpBridge() override { stop(); }

  bool manual_acks() const override { return true; }

  void start() override {
    auto accept = [this](ucp::Inbound&& in, const char* via) { return take(std::move(in), via); };
    auto reject = [this](const char* via, const std::string& error, const std::string& raw) { rejected(via, error, raw); };
    try {
      if (http_port_ || telegram_port_ || legacy_port_) {
        tcp_ = std::make_unique<ucp_bridge::TcpListeners>(accept, reject);
        if (telegram_port_) tcp_->listen_telegram(listen_host_, static_cast<unsigned short>(telegram_port_), encoding_);
        if (legacy_port_) tcp_->listen_legacy(listen_host_, static_cast<unsigned short>(legacy_port_));
      }
      if (http_port_) {
        http_ = std::make_unique<ucp_bridge::HttpListener>(accept, reject, decryptor(), max_body_);
        if (http_->listen(listen_host_, http_port_, http_path_) < 0)
          throw std::runtime_error("cannot listen on " + listen_host_ + ":" + std::to_string(http_port_));
      }
    } catch (const std::exception& e) {
      tcp_.reset();
      http_.reset();
      throw citylink::Error(CITYLINK_ERR_CONFIG, std::string("field 'listen': ") + e.what() +
                                                     "; choose free ports (or stop what holds them)");
    }
    if (tcp_) tcp_->run();
    if (http_) http_->run();
    if (platform_) {
      std::lock_guard lk(mu_);
      client_ = std::make_unique<PlatformClient>(*platform_);
      running_ = true;
      sender_ = std::thread([this] { send_loop(); });
      host_.info("posting events to the platform at " + platform_->url);
    }
    std::string listening;
    if (http_port_) listening += " http " + listen_host_ + ":" + std::to_string(http_port_) + http_path_;
    if (telegram_port_) listening += " telegram " + listen_host_ + ":" + std::to_string(telegram_port_);
    if (legacy_port_) listening += " legacy " + listen_host_ + ":" + std::to_string(legacy_port_);
    if (!listening.empty()) host_.info("taking platform events on" + listening);
  }

  void stop() override {
    {
      std::lock_guard lk(mu_);
      running_ = false;
      if (client_) client_->cancel();  // a call in progress ends now, not after timeout_ms
    }
    cv_.notify_all();
    if (sender_.joinable()) sender_.join();
    if (http_) http_->stop();
    if (tcp_) tcp_->stop();
    http_.reset();
    tcp_.reset();
  }

  void on_message(const citylink::Message& m) override {
    const uint64_t tag = m.delivery_tag();
    auto settle = [&](bool ok) { this->settle(tag, ok); };
    std::optional<citylink::v1::PlatformEvent> ev;
    std::string id, source;
    try {
      id = m.envelope().id();
      source = m.envelope().source();
      ev = m.payload<citylink::v1::PlatformEvent>();
    } catch (const citylink::Error& e) {
      host_.error(std::string("message on '") + std::string(m.topic()) + "' does not parse (" + e.what() +
                  "); refused (dead letter)");
      return settle(false);
    }
    // What the bridge itself brought in from the platform does not go back to it.
    if (source == self_ || !ev || !platform_) return settle(true);
    auto event = ucp_bridge::from_platform_event(*ev);  // before the books change: it may throw
    std::lock_guard lk(mu_);
    if (const auto done = settled_.find(id); done != settled_.end()) return this->settle(tag, done->second);
    // A redelivery of what is queued: the new tag replaces the old.
    if (const auto [queued, added] = tags_.try_emplace(id, tag); !added) return (void)(queued->second = tag);
    queue_.push_back(Pending{id, std::move(event)});
    cv_.notify_all();
  }

 private:
  struct Pending {
    std::string id;  // its newest delivery tag is in tags_
    ucp::Event event;
  };

  void read_platform(const Fields& p) {
    ucp_bridge::PlatformSettings s;
    s.url = p.required_text("url", "\"http://ucp.city.go.kr:8080\"");
    if (const auto why = ucp_bridge::check_url(s.url); !why.empty()) p.fail("url", why);
    s.api_key = p.required_text("api_key", "\"the key the platform issued\"");
    s.send_code = p.required_text("send_code", "\"B4113000000\"");
    s.receive_code = p.required_text("receive_code", "\"B4100000000\"");
    s.system_code = p.text("system_code", "CTL");
    s.encrypt = p.flag("encrypt", false);
    if (p.has("secret") && p.has("secret_file")) p.fail("secret", "give secret or secret_file, not both");
    s.secret = p.has("secret_file") ? read_secret(p.text("secret_file", ""), "platform.secret_file") : p.text("secret", "");
    if (s.encrypt && s.secret.empty())
      p.fail("secret", "encrypt: true needs the shared secret (secret_file: /etc/citylink/ucp.secret)");
    if (s.encrypt && !ucp::aria::available())
      p.fail("encrypt", "this machine's OpenSSL has no aria-256-ecb; install an OpenSSL with ARIA or set encrypt: false");
    s.ciphertext = p.choice("ciphertext", "base64", {"base64", "hex"}) == "hex" ? ucp::aria::TextForm::hex
                                                                               : ucp::aria::TextForm::base64;
    s.timeout_ms = static_cast<int>(p.integer("timeout_ms", 5000, 100, 120'000));
    secret_ = s.secret;
    ciphertext_ = s.ciphertext;
    platform_ = std::make_unique<ucp_bridge::PlatformSettings>(std::move(s));
  }

  void read_listen(const Fields& l) {
    listen_host_ = l.text("host", "127.0.0.1");
    http_port_ = static_cast<int>(l.integer("http_port", 0, 1, 65535));
    http_path_ = l.text("http_path", "/integrationPlatformEvent");
    if (http_path_.empty() || http_path_[0] != '/' ||
        http_path_.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.-") != std::string::npos)
      l.fail("http_path", "'" + http_path_ + "' must start with '/' and hold only letters, digits, '/', '_', '.', '-'");
    telegram_port_ = static_cast<int>(l.integer("telegram_port", 0, 1, 65535));
    legacy_port_ = static_cast<int>(l.integer("legacy_port", 0, 1, 65535));
    encoding_ = l.text("encoding", "UTF-8");
    if (!ucp::convert("", encoding_, "UTF-8")) l.fail("encoding", "'" + encoding_ + "' is not an encoding iconv knows (EUC-KR, CP949, UTF-8, ...)");
    max_body_ = static_cast<std::size_t>(l.integer("max_body_bytes", 64 * 1024, 1024, 16 * 1024 * 1024));
    // The secret for encrypted (encAt=Y) inbound bodies: the platform section's, or its own.
    if (l.has("secret") && l.has("secret_file")) l.fail("secret", "give secret or secret_file, not both");
    if (l.has("secret") || l.has("secret_file")) {
      secret_ = l.has("secret_file") ? read_secret(l.text("secret_file", ""), "listen.secret_file") : l.text("secret", "");
      if (secret_.empty()) l.fail("secret", "is empty");
      if (!ucp::aria::available())
        l.fail("secret", "this machine's OpenSSL has no aria-256-ecb, so encrypted bodies cannot be read");
      ciphertext_ = l.choice("ciphertext", "base64", {"base64", "hex"}) == "hex" ? ucp::aria::TextForm::hex
                                                                                 : ucp::aria::TextForm::base64;
    }
    if (!http_port_ && !telegram_port_ && !legacy_port_)
      l.fail("http_port", "give at least one of http_port, telegram_port, legacy_port");
  }

  ucp::http::Decrypt decryptor() const {
    if (secret_.empty()) return {};
    return [secret = secret_, form = ciphertext_](const std::string& text) { return ucp::aria::decrypt(text, secret, form); };
  }

  // An inbound event: published on its topic, answered only after the host took it. An
  // event that cannot be mapped throws DecodeError: the listener keeps it as refused.
  std::string take(ucp::Inbound&& in, const char* via) {
    const citylink::v1::PlatformEvent ev = ucp_bridge::to_platform_event(in);
    const std::string& topic = routing_.topic(ev.event_code());
    std::string why;
    auto st = host_.publish(topic, ev, ev.occurrence_number(), {{"ucp.via", via}}, &why);
    // Short: the TCP links share one thread. The sender hears "send it again".
    for (int i = 0; st == CITYLINK_ERR_BACKPRESSURE && i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      st = host_.publish(topic, ev, ev.occurrence_number(), {{"ucp.via", via}}, &why);
    }
    if (st != CITYLINK_OK) {
      host_.warn(std::string("event ") + ev.event_code() + " #" + ev.occurrence_number() + " from the platform (" + via +
                 ") was not accepted on " + topic + ": " + why + "; the sender was told to send it again");
      return "not accepted by CityLink (" + why + "); send it again";
    }
    const auto flags = ev.items().find(ucp_bridge::kFlagsItem);
    host_.info(std::string("from the platform (") + via + "): " + ev.event_code() + " #" + ev.occurrence_number() +
               " status " + (in.event.ocr_sts.empty() ? "-" : in.event.ocr_sts) + " -> " + topic +
               (flags == ev.items().end() ? "" : " [flagged: " + flags->second + "]"));
    return "";
  }

  void rejected(const char* via, const std::string& error, const std::string& raw) {
    host_.error(std::string("a message from the platform (") + via + ") was refused: " + error + "; raw: " +
                printable(raw));
    if (rejected_file_.empty()) return;
    std::lock_guard lk(file_mu_);
    std::ofstream out(rejected_file_, std::ios::app);
    nlohmann::json j = {{"via", via}, {"error", error}, {"raw", raw}};
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.flush();
    if (!out && !rejected_file_failed_) {
      rejected_file_failed_ = true;
      host_.error("cannot write rejected_file '" + rejected_file_ + "'; refused messages are only in this log");
    }
  }

  // Oldest first; one event at a time, so the platform sees them in order.
  void send_loop() {
    auto backoff = retry_;
    bool down_logged = false;
    std::unique_lock lk(mu_);
    while (running_) {
      if (queue_.empty()) {
        cv_.wait(lk, [&] { return !running_ || !queue_.empty(); });
        continue;
      }
      if (Clock::now() >= next_progress_) report_progress_locked();
      const ucp::Event event = queue_.front().event;
      const std::string id = queue_.front().id;
      lk.unlock();
      PlatformClient::Result r{PlatformClient::Outcome::unreachable, ""};
      try {
        r = client_->send(event);
      } catch (const std::exception& e) {  // never out of this thread: it would end the process
        r.detail = std::string("the bridge could not send it: ") + e.what();
      }
      lk.lock();
      if (!running_) break;  // unacked: the host delivers it again at the next start
      if (r.outcome == PlatformClient::Outcome::unreachable) {
        if (!down_logged)
          host_.warn("the platform did not take event " + event.evt_id + " #" + event.ocr_nbr + ": " + r.detail +
                     "; trying again with back-off (the host keeps it until the platform accepts)");
        down_logged = true;
        // Waited in slices, telling the host the queue is still being worked on.
        for (const auto until = Clock::now() + backoff; running_ && Clock::now() < until;) {
          report_progress_locked();
          cv_.wait_for(lk, std::min<Clock::duration>(progress_, until - Clock::now()), [&] { return !running_; });
        }
        backoff = std::min(max_retry_, backoff * 2);
        continue;
      }
      if (down_logged) host_.info("the platform at " + platform_->url + " accepts events again");
      down_logged = false;
      backoff = retry_;
      // The front is still this event (only this thread pops); its tag is the newest one,
      // a redelivery having replaced it meanwhile.
      const auto queued = tags_.find(id);
      const uint64_t tag = queued->second;
      tags_.erase(queued);
      queue_.pop_front();
      const bool accepted = r.outcome == PlatformClient::Outcome::accepted;
      remember(id, accepted);
      if (!accepted)
        host_.error("the platform refused event " + event.evt_id + " #" + event.ocr_nbr + ": " + r.detail +
                    " (moved to the host's dead letters)");
      settle(tag, accepted);
    }
  }

  // Everything queued is still being worked on (citylink.durable/1): the host restarts each
  // one's ack timeout instead of redelivering the queue while the platform is down or slow.
  void report_progress_locked() {
    next_progress_ = Clock::now() + progress_;
    for (const auto& [id, tag] : tags_)
      if (host_.progress(tag) == CITYLINK_ERR_UNSUPPORTED) return;
  }

  void settle(uint64_t tag, bool accepted) {
    if (tag) (void)(accepted ? host_.ack(tag) : host_.nack(tag, false));
  }

  // What was settled, by envelope id: a copy the host redelivers after its ack timeout
  // (whose first tag then died) is settled again at once, never sent twice.
  void remember(const std::string& id, bool accepted) {
    settled_.emplace(id, accepted);
    settled_order_.push_back(id);
    if (settled_order_.size() > kRemembered) {
      settled_.erase(settled_order_.front());
      settled_order_.pop_front();
    }
  }

  citylink::Host host_;
  std::string self_;
  std::unique_ptr<ucp_bridge::PlatformSettings> platform_;
  std::string secret_;
  ucp::aria::TextForm ciphertext_ = ucp::aria::TextForm::base64;
  std::string listen_host_ = "127.0.0.1", http_path_, encoding_ = "UTF-8", rejected_file_;
  int http_port_ = 0, telegram_port_ = 0, legacy_port_ = 0;
  std::size_t max_body_ = 64 * 1024;
  ucp_bridge::Routing routing_;
  std::chrono::milliseconds retry_{500}, max_retry_{10'000}, progress_{1'000};
  Clock::time_point next_progress_{};  // under mu_
  std::unique_ptr<ucp_bridge::TcpListeners> tcp_;
  std::unique_ptr<ucp_bridge::HttpListener> http_;
  std::thread sender_;
  std::mutex mu_, file_mu_;
  bool rejected_file_failed_ = false;  // under file_mu_
  std::condition_variable cv_;
  bool running_ = false;  // under mu_
  std::deque<Pending> queue_;  // under mu_, in order of arrival
  // Under mu_: the queued envelope ids and each one's newest tag, so a redelivery of a queued
  // event is found at once however long the queue grew while the platform was down.
  std::unordered_map<std::string, uint64_t> tags_;
  std::unique_ptr<PlatformClient> client_;  // made in start; cancel() under mu_
  static constexpr std::size_t kRemembered = 10'000;
  std::unordered_map<std::string, bool> settled_;  // under mu_: id -> accepted
  std::deque<std::string> settled_order_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(UcpBridge)
