// The child half of `citylink plugin verify`: one check against one plugin, on the host's
// own host table with a recording publish hook in place of the bus, and one dispatch thread.
// Answers {"ok":..,"detail":..} on its own stdout (child_answer.hpp) and exits.
#include "child_answer.hpp"
#include "commands.hpp"

#include <citylink/host/envelope_check.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/host_table.hpp>
#include <citylink/host/plugin_library.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/v1/envelope.pb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace citylink::cli {
namespace {

struct Recorded {
  std::string topic;
  std::string bytes;
  bool after_stop = false;
  bool before_start = false;  // in create, or between create and start
};

// What the plugin published, recorded by the host table's publish hook instead of routed.
struct VerifyHost {
  std::mutex mu;
  std::vector<Recorded> published;
  std::atomic<bool> running{false};
  std::atomic<bool> stopped{false};
};

// The host's one host table (host_table.hpp), with its error rule and its log path; only
// publish is verify's own. The table outlives the check (it is never freed), so the hook
// holds the recorder.
host::HostTable* verify_table(const std::shared_ptr<VerifyHost>& vh) {
  host::HostTableHooks hooks;
  hooks.publish = [vh](std::string_view topic, const uint8_t* env, std::size_t size, std::string* why) {
    std::lock_guard lk(vh->mu);
    vh->published.push_back({std::string(topic), std::string(reinterpret_cast<const char*>(env), env ? size : 0),
                             vh->stopped.load(), !vh->running.load() && !vh->stopped.load()});
    if (vh->running) return citylink_status{CITYLINK_OK};
    if (why) *why = "the instance is not running (publish before start or after stop)";
    return citylink_status{CITYLINK_ERR_STATE};
  };
  return host::HostTable::create("verify", std::move(hooks));
}

// The instance's one dispatch thread, as in the host: every on_message of a check runs on it.
class DispatchThread {
 public:
  citylink_status deliver(const citylink_instance* inst, const std::string& topic, const std::string& bytes,
                          citylink_error& err) {
    citylink_status st = CITYLINK_OK;
    run([&] {
      citylink_message m{};
      m.struct_size = sizeof(m);
      m.topic = topic.c_str();
      m.envelope = reinterpret_cast<const uint8_t*>(bytes.data());
      m.envelope_size = bytes.size();
      err = citylink_error{};
      err.struct_size = sizeof(err);
      st = inst->on_message(inst, &m, &err);
    });
    return st;
  }
  // Before stop: nothing runs on it afterwards.
  void end() {
    {
      std::lock_guard lk(mu_);
      ending_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ~DispatchThread() { end(); }

 private:
  void run(std::function<void()> f) {
    std::unique_lock lk(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    task_ = std::move(f);
    cv_.notify_all();
    cv_.wait(lk, [&] { return !task_; });
  }
  void loop() {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return task_ || ending_; });
      if (task_) {
        task_();
        task_ = nullptr;
        cv_.notify_all();
      } else {
        return;
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool ending_ = false;
  std::thread thread_;
};

int verdict(bool ok, const std::string& detail) {
  answer(nlohmann::json{{"ok", ok}, {"detail", detail}}.dump());
  return ok ? kOk : kFailed;
}

std::string status_text(citylink_status st, const citylink_error& err) {
  return st == CITYLINK_OK ? "OK" : "status " + std::to_string(st) + " (" + std::string(err.message) + ")";
}

std::string envelope(const std::string& topic, const std::string& schema, const std::string& payload) {
  citylink::v1::Envelope e;
  e.set_id("verify-1");
  e.set_topic(topic);
  e.set_source("verify");
  e.set_schema(schema);
  e.set_payload(payload);
  return e.SerializeAsString();
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

constexpr std::chrono::milliseconds kStopBound{5000};

int thread_count() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

// Threads take a moment to vanish from /proc after they return; a second is plenty for a
// joined thread, and far less than a thread that is still working.
bool threads_settle(int baseline) {
  for (int i = 0; i < 100; ++i) {
    if (thread_count() <= baseline) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return thread_count() <= baseline;
}

}  // namespace

int cmd_verify_check(const Args& args) {
  if (args.size() != 4) throw std::runtime_error("usage: citylink __verify-check FILE CHECK PLUGIN CONFIG");
  const std::string &file = args[0], &check = args[1], &plugin = args[2], &config = args[3];
  answer_on_own_stdout();
  std::shared_ptr<host::PluginLibrary> lib;
  try {
    lib = host::PluginLibrary::load(file);
  } catch (const std::exception& e) {
    return verdict(false, e.what());
  }
  const auto* desc = lib->find(plugin);
  if (!desc) return verdict(false, "no plugin '" + plugin + "' in the library");
  const int baseline_threads = thread_count();

  auto recorder = std::make_shared<VerifyHost>();
  VerifyHost& vh = *recorder;
  const citylink_host_api* api = verify_table(recorder)->api();
  DispatchThread dispatch;
  citylink_error err{};
  err.struct_size = sizeof(err);

  if (check == "bad-config") {
    // A config the plugin cannot use must be refused by create, with a reason, not crash it.
    int refused = 0;
    std::string accepted;
    for (const std::string bad : {"this is not JSON", "[1, 2, 3]"}) {
      err = citylink_error{};
      err.struct_size = sizeof(err);
      const citylink_instance* inst = lib->entry().create(api, plugin.c_str(), bad.c_str(), &err);
      if (!inst) {
        if (err.message[0] == '\0') return verdict(false, "create refused config '" + bad + "' without a message");
        ++refused;
      } else {
        accepted += (accepted.empty() ? "'" : ", '") + bad + "'";
        inst->destroy(inst);
      }
    }
    if (!accepted.empty() && !desc->config_schema.empty())
      return verdict(false, "create accepted config " + accepted +
                                " although the plugin declares a config_schema; refuse a config it cannot read, "
                                "with a message naming the problem");
    return verdict(true, refused == 2 ? "configs that are not JSON objects are refused with a message"
                                      : "accepted " + accepted + " (it declares no config_schema, so it reads no config)");
  }

  const citylink_instance* inst = lib->entry().create(api, plugin.c_str(), config.c_str(), &err);
  if (!inst)
    return verdict(false, "create with config " + config + " failed: " + std::string(err.message) +
                              " (give a working config with --config)");
  if (check == "destroy-without-start") {
    // The host destroys an instance whose start was never called (another plugin failed first).
    inst->destroy(inst);
    if (!threads_settle(baseline_threads))
      return verdict(false, std::to_string(thread_count() - baseline_threads) +
                                " thread(s) still run after destroy without start");
    return verdict(true, "create then destroy, without start, left nothing running");
  }

  vh.running = true;
  err = citylink_error{};
  err.struct_size = sizeof(err);
  const citylink_status st = inst->start(inst, &err);
  if (st != CITYLINK_OK) {
    vh.running = false;
    inst->destroy(inst);
    return verdict(false, "start failed: " + status_text(st, err));
  }

  std::string detail;
  bool ok = true;
  const bool subscribes = inst->on_message != nullptr;
  if (check == "lifecycle") {
    detail = "create, start, stop and destroy returned";
  } else if (check == "double-stop") {
    detail = "stop twice, then destroy: returned";
  } else if (check == "unknown-topic") {
    if (!subscribes) {
      detail = "has no on_message; nothing to deliver";
    } else {
      const auto s = dispatch.deliver(inst, "verify.unknown.topic", envelope("verify.unknown.topic", "verify.v1.Unknown",
                                                                    random_bytes(64, 1)), err);
      detail = "a message on an unknown topic with an unknown schema: handled, " + status_text(s, err);
    }
  } else if (check == "malformed-envelope") {
    if (!subscribes) {
      detail = "has no on_message; nothing to deliver";
    } else {
      std::string topic = desc->subscribes.empty() ? "verify.topic" : desc->subscribes.front();
      while (!topic.empty() && (topic.back() == '.' || topic.back() == '*')) topic.pop_back();  // a subtree: its root
      if (topic.empty()) topic = "verify.topic";
      const std::vector<std::string> garbage = {"", std::string("\x0a\xff\xff\xff", 4), random_bytes(257, 2),
                                                std::string(64, '\xff')};
      int errors = 0;
      for (const auto& g : garbage) errors += dispatch.deliver(inst, topic, g, err) != CITYLINK_OK;
      detail = std::to_string(garbage.size()) + " malformed envelopes handled (" + std::to_string(errors) +
               " reported as errors)";
    }
  } else if (check == "malformed-payload") {
    if (!subscribes || desc->subscribes.empty()) {
      detail = "subscribes to nothing; nothing to deliver";
    } else {
      const std::vector<std::string> schemas = {"citylink.v1.SensorReading", "citylink.v1.PlatformEvent",
                                                "citylink.v1.CameraInfo", "citylink.v1.TrackingInfo",
                                                "citylink.v1.DispatchSupport"};
      int n = 0;
      for (const auto& prefix : desc->subscribes) {
        std::string topic = prefix;
        while (!topic.empty() && (topic.back() == '.' || topic.back() == '*')) topic.pop_back();  // a subtree: its root
        if (topic.empty()) topic = "verify";
        for (const auto& schema : schemas) {
          dispatch.deliver(inst, topic, envelope(topic, schema, random_bytes(48, static_cast<unsigned>(++n))), err);
        }
      }
      detail = std::to_string(n) + " envelopes with garbage payloads on subscribed topics handled";
    }
  } else if (check == "publish-grants" || check == "no-publish-after-stop" || check == "no-threads-after-destroy") {
    // Let the plugin work for a moment, then look at what it did.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  } else {
    inst->stop(inst);
    inst->destroy(inst);
    return verdict(false, "unknown check '" + check + "'");
  }

  dispatch.end();
  // Every check ends with stop, which must return promptly (the host bounds it on shutdown).
  const auto stop_began = std::chrono::steady_clock::now();
  inst->stop(inst);
  const auto stop_took = std::chrono::steady_clock::now() - stop_began;
  if (check == "double-stop") inst->stop(inst);  // a crash or a hang here fails the check
  vh.stopped = true;  // first: a publish racing with these two stores counts as after stop, never before start
  vh.running = false;
  if (check == "publish-grants" || check == "no-publish-after-stop")
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a thread that outlives stop shows itself
  inst->destroy(inst);
  if (stop_took > kStopBound)
    return verdict(false, "stop took " +
                              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(stop_took).count()) +
                              " ms; it must return within " + std::to_string(kStopBound.count()) + " ms");

  if (check == "lifecycle") {
    // abi.h: publish works from start on; before it the host refuses (CITYLINK_ERR_STATE),
    // so whatever a plugin sends from create is lost without the vendor noticing.
    std::lock_guard lk(vh.mu);
    std::size_t early = 0;
    std::string topic;
    for (const auto& r : vh.published)
      if (r.before_start) {
        ++early;
        topic = r.topic;
      }
    if (early > 0)
      return verdict(false, std::to_string(early) + " publish call(s) before start (last on '" + topic +
                                "'); the host refuses them with CITYLINK_ERR_STATE: publish from start on");
  }
  if (check == "no-threads-after-destroy") {
    if (!threads_settle(baseline_threads))
      return verdict(false, std::to_string(thread_count() - baseline_threads) +
                                " thread(s) the plugin started still run after destroy returned; join every thread "
                                "in stop or destroy (the library may be unloaded right after)");
    return verdict(true, "every thread the plugin started had ended when destroy returned");
  }
  if (check == "no-publish-after-stop") {
    std::lock_guard lk(vh.mu);
    std::size_t late = 0;
    std::string topic;
    for (const auto& r : vh.published)
      if (r.after_stop) {
        ++late;
        topic = r.topic;
      }
    if (late > 0)
      return verdict(false, std::to_string(late) + " publish call(s) after stop returned (last on '" + topic +
                                "'); stop must end every thread that publishes");
    return verdict(true, "nothing published after stop returned");
  }
  if (check == "publish-grants") {
    std::lock_guard lk(vh.mu);
    std::size_t good = 0;
    for (const auto& r : vh.published) {
      if (r.after_stop) continue;  // the no-publish-after-stop check reports these
      citylink::v1::Envelope e;
      std::string problem;
      if (!host::grants_allow(desc->publishes, r.topic))
        problem = "published on '" + r.topic + "', which its descriptor does not declare";
      else if (const auto fault = host::check_envelope(r.topic, reinterpret_cast<const uint8_t*>(r.bytes.data()),
                                                       r.bytes.size(), e))
        problem = "published on '" + r.topic + "' what the router refuses (" + host::to_string(fault->reason) +
                  "): " + fault->why;
      if (!problem.empty()) {
        ok = false;
        detail = problem;
        break;
      }
      ++good;
    }
    if (ok) detail = std::to_string(good) + " message(s) published in 0.5 s, all inside the declared topics";
  }
  return verdict(ok, detail);
}

}  // namespace citylink::cli
