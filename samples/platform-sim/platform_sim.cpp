// platform-sim: a small stand-in for the Smart City Integrated Platform, so the demo and
// the tests see the bridge work both ways.
//   serve: the platform's HTTP side (/api/getAuth.json, /linkHttp/recvEvent.json); every
//          event received is printed and written as a JSON line to --out.
//   send:  one event to a partner (the bridge) over HTTP JSON, an HTTP form post, a TCP
//          telegram or a legacy fixed-header message; prints the answer.
// It speaks through the bridge's codec library, so its own test vectors cover it too.
#include <httplib.h>

#include <utility>  // before Boost.Asio 1.74, which uses std::exchange under C++20
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aria.hpp"
#include "http_json.hpp"
#include "legacy.hpp"
#include "telegram.hpp"
#include "text.hpp"

namespace {

using Json = ucp::http::Json;

int usage(const std::string& why) {
  std::cerr << "platform-sim: " << why << "\n\n"
            << "usage:\n"
               "  platform-sim serve --port P [--host H] [--api-key K] [--secret S] [--ciphertext base64|hex]\n"
               "                     [--out FILE] [--fail-first N] [--expire-session-every N] [--refuse-code CODE]\n"
               "                     [--for SECONDS]\n"
               "  platform-sim send --via http|form|telegram|legacy --to HOST:PORT [--path /integrationPlatformEvent]\n"
               "                     --code EVENT_CODE --number OCCURRENCE_NUMBER [--status 10] [--grade 10]\n"
               "                     [--lon X --lat Y] [--place TEXT] [--content TEXT] [--item KEY=VALUE]...\n"
               "                     [--secret S] (encAt=Y over http/form)\n"
               "                     legacy only: [--sender 112|119|DSC] [--msg-type 10|20|30] [--type T] [--region R]\n"
               "                     [--user U] [--name N]\n";
  return 64;
}

struct Args {
  std::map<std::string, std::vector<std::string>> v;
  std::string get(const std::string& k, const std::string& def = "") const {
    const auto it = v.find(k);
    return it == v.end() ? def : it->second.back();
  }
  bool has(const std::string& k) const { return v.count(k) > 0; }
};

std::atomic<bool> g_stop{false};

std::string now_text() {
  return ucp::seoul_time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
}

int serve(const Args& a) {
  const std::string host = a.get("host", "127.0.0.1");
  const int port = std::stoi(a.get("port", "0"));
  const std::string api_key = a.get("api-key", "demo-key"), secret = a.get("secret");
  const auto form = a.get("ciphertext", "base64") == "hex" ? ucp::aria::TextForm::hex : ucp::aria::TextForm::base64;
  const std::string out_path = a.get("out");
  const int fail_first = std::stoi(a.get("fail-first", "0"));
  const int expire_every = std::stoi(a.get("expire-session-every", "0"));
  const std::string refuse_code = a.get("refuse-code");
  std::mutex mu;
  std::set<std::string> sessions;
  int calls = 0, events_on_session = 0;
  std::mt19937_64 rng(std::random_device{}());
  httplib::Server svr;
  auto answer = [](httplib::Response& res, bool ok, const std::string& msg) {
    res.set_content(ucp::http::encode_response(ok, msg).dump(), "application/json");
  };
  svr.Post("/api/getAuth.json", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lk(mu);
    try {
      const auto j = Json::parse(req.body);
      const auto& body = j.at("body");
      if (!body.is_object() || body.value("apiKey", "") != api_key) return answer(res, false, "invalid apiKey");
    } catch (const std::exception& e) {
      return answer(res, false, std::string("bad auth request: ") + e.what());
    }
    const std::string key = "S" + std::to_string(rng());
    sessions.insert(key);
    events_on_session = 0;
    std::cout << "platform-sim: session issued" << std::endl;
    answer(res, true, key);
  });
  svr.Post("/linkHttp/recvEvent.json", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lk(mu);
    if (++calls <= fail_first) {
      res.status = 500;
      res.set_content("simulated outage", "text/plain");
      return;
    }
    const std::string key = req.get_header_value("X-Scsns-Secret");
    if (!sessions.count(key)) return answer(res, false, "invalid session key; authenticate again");
    if (expire_every > 0 && events_on_session >= expire_every) {
      sessions.erase(key);
      return answer(res, false, "session expired; authenticate again");
    }
    ++events_on_session;
    ucp::Inbound in;
    try {
      in = ucp::http::decode_request("application/json", req.body, [&](const std::string& t) {
        return ucp::aria::decrypt(t, secret, form);
      });
    } catch (const ucp::DecodeError& e) {
      return answer(res, false, e.what());
    }
    if (!refuse_code.empty() && in.event.evt_id == refuse_code) return answer(res, false, "event code refused");
    Json line = {{"svcTy", in.header.svc_ty}, {"encAt", in.header.enc_at}, {"sendCd", in.header.send_cd},
                 {"rcvCd", in.header.rcv_cd}, {"sysCd", in.header.sys_cd}, {"rrKey", in.header.rr_key},
                 {"body", ucp::http::encode_body(in.event)}};
    std::cout << "platform-sim: received " << in.event.evt_id << " #" << in.event.ocr_nbr << " status "
              << in.event.ocr_sts << " (" << in.event.evt_nm << ")" << (in.header.enc_at == "Y" ? " [ARIA]" : "")
              << std::endl;
    if (!out_path.empty()) {
      std::ofstream out(out_path, std::ios::app);
      out << line.dump() << "\n";
    }
    answer(res, true, "ok");
  });
  int bound = port;
  if (port == 0) bound = svr.bind_to_any_port(host);
  else if (!svr.bind_to_port(host, port)) bound = -1;
  if (bound < 0) {
    std::cerr << "platform-sim: cannot listen on " << host << ":" << port << "\n";
    return 1;
  }
  std::cout << "platform-sim: serving on http://" << host << ":" << bound << std::endl;
  std::thread t([&] { svr.listen_after_bind(); });
  const auto until = a.has("for") ? std::chrono::steady_clock::now() + std::chrono::seconds(std::stoi(a.get("for")))
                                  : std::chrono::steady_clock::time_point::max();
  while (!g_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  svr.stop();
  t.join();
  return 0;
}

ucp::Event event_from(const Args& a) {
  ucp::Event e;
  e.evt_id = a.get("code");
  e.evt_grad = a.get("grade", "10");
  e.ocr_nbr = a.get("number");
  e.ocr_sts = a.get("status", "10");
  e.x = a.get("lon");
  e.y = a.get("lat");
  e.z = e.x.empty() ? "" : "0";
  e.place = a.get("place");
  e.content = a.get("content");
  e.time = now_text();
  e.sts_cd = e.ocr_sts;
  if (a.v.count("item"))
    for (const auto& kv : a.v.at("item")) {
      const auto eq = kv.find('=');
      e.items.push_back(ucp::Item{kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1)});
    }
  return e;
}

std::string tcp_exchange(const std::string& to, const std::string& bytes, std::size_t answer_bytes) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  const auto colon = to.rfind(':');
  asio::ip::tcp::resolver r(io);
  asio::connect(s, r.resolve(to.substr(0, colon), to.substr(colon + 1)));
  asio::write(s, asio::buffer(bytes));
  std::string answer;
  if (answer_bytes) {
    answer.resize(answer_bytes);
    asio::read(s, asio::buffer(answer));
  } else {
    asio::streambuf buf;
    asio::read_until(s, buf, '\n');
    answer.assign(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  }
  return answer;
}

int send(const Args& a) {
  const std::string via = a.get("via"), to = a.get("to");
  if (to.find(':') == std::string::npos) return usage("--to HOST:PORT is required");
  if (!a.has("code") || !a.has("number")) return usage("--code and --number are required");
  const ucp::Event e = event_from(a);
  std::cout << "sent " << e.evt_id << " #" << e.ocr_nbr << " status " << e.ocr_sts << " via " << via << " -> ";
  ucp::Header h;
  h.send_cd = a.get("send-code", "UCP");
  h.rcv_cd = a.get("receive-code", "CTL");
  h.sys_cd = a.get("system-code", "UCP");
  h.req_date = now_text();
  h.tran_sys_his = {"UCP_UCP"};
  try {
    if (via == "http" || via == "form") {
      const std::string secret = a.get("secret");
      h.enc_at = secret.empty() ? "N" : "Y";
      auto body = ucp::http::encode_body(e);
      httplib::Client c("http://" + to);
      c.set_read_timeout(10, 0);
      const std::string path = a.get("path", "/integrationPlatformEvent");
      auto r = [&] {
        if (via == "http") {
          Json doc = secret.empty() ? ucp::http::encode_request(h, body)
                                    : ucp::http::encode_request(h, ucp::aria::encrypt(body.dump(), secret));
          return c.Post(path.c_str(), doc.dump(), "application/json");
        }
        const std::string body_text = secret.empty() ? body.dump() : ucp::aria::encrypt(body.dump(), secret);
        return c.Post(path.c_str(),
                      ucp::http::form_encode({{"svcTy", h.svc_ty}, {"sendCd", h.send_cd}, {"rcvCd", h.rcv_cd},
                                              {"sysCd", h.sys_cd}, {"encAt", h.enc_at}, {"reqDate", h.req_date},
                                              {"body", body_text}}),
                      "application/x-www-form-urlencoded");
      }();
      if (!r) {
        std::cout << "no answer: " << httplib::to_string(r.error()) << "\n";
        return 2;
      }
      std::cout << "HTTP " << r->status << " " << r->body << "\n";
      if (r->status != 200) return 1;
      return ucp::http::decode_response(r->body).ok ? 0 : 1;
    }
    if (via == "telegram") {
      const auto answer = tcp_exchange(to, ucp::telegram::encode(h, e), 0);
      std::cout << answer;
      return answer.rfind("0;", 0) == 0 ? 0 : 1;
    }
    if (via == "legacy") {
      ucp::legacy::Message m;
      m.header.msg_type = a.get("msg-type", "10");
      m.header.status = e.ocr_sts;
      m.header.msg_time = e.time;
      m.header.sender = a.get("sender", "112");
      m.header.receiver = "UCP";
      m.header.send_time = e.time;
      const std::string s = m.header.sender;
      auto one = [](const std::string& v) { return std::vector<std::string>{v}; };
      if (s == "112") {
        m.fields = {one(e.ocr_nbr), one(e.evt_grad), one(a.get("type", "robbery")), one(e.x), one(e.y), one(e.place),
                    one(a.get("region", "41130")), one(e.time), one(a.get("user", "officer-7"))};
      } else if (s == "119") {
        m.fields = {one(e.ocr_nbr), one(a.get("type", "fire")), one(a.get("subtype", "building")), one(e.x), one(e.y),
                    one(e.place), one(a.get("region", "4113510100")), one(e.time), one(a.get("user", "119-desk"))};
      } else {
        m.fields = {one(e.ocr_nbr), one("SOS"), one(e.x), one(e.y), one(e.place), one("4113510100"), one("REF-1"),
                    one(a.get("name", "김민수")), one("010-0000-0000"), one("19400101"), one("M"),
                    {"성남시 분당구", "정자동 1"}, {"김보호"}, {"010-1111-2222"}, one(e.time), {}, {}, {}, one("DSC-1")};
      }
      const auto answer = tcp_exchange(to, ucp::legacy::encode(m), ucp::legacy::kResponseBytes);
      const auto r = ucp::legacy::decode_response(answer);
      std::cout << (r ? (r->ok ? "0 " : "1 ") + r->message : "unreadable answer: " + answer) << "\n";
      return r && r->ok ? 0 : 1;
    }
  } catch (const std::exception& ex) {
    std::cout << "failed: " << ex.what() << "\n";
    return 2;
  }
  return usage("--via must be http, form, telegram or legacy");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("a command is required");
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return usage("'" + k + "' is not --name VALUE");
    a.v[k.substr(2)].push_back(argv[++i]);
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  const std::string cmd = argv[1];
  try {
    if (cmd == "serve") return serve(a);
    if (cmd == "send") return send(a);
  } catch (const std::exception& e) {
    std::cerr << "platform-sim: " << e.what() << "\n";
    return 1;
  }
  return usage("unknown command '" + cmd + "'");
}
