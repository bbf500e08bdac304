// The plugin's C struct, called on the host's threads.
#include "in_process_backend.hpp"
#include "plugin_watchdog.hpp"

#include <citylink/host/error.hpp>
#include <citylink/host/host_table.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>
#include <citylink/host/router.hpp>

#include <cstddef>
#include <mutex>
#include <vector>

namespace citylink::host {

namespace {

// A plugin built without the SDK helper may throw across the C ABI (M1): the call fails
// with a reason instead of ending the host.
template <class Call>
void guarded(const char* what, citylink_error* err, Call&& call) {
  try {
    call();
  } catch (...) {
    citylink_set_error(err, CITYLINK_ERR_INTERNAL,
                       (std::string(what) + " threw an exception across the C ABI; catch exceptions in the plugin").c_str());
  }
}

// A library whose code a host thread may still be running (an abandoned call): its deinit
// must never run, so it is held here for the life of the process.
void keep_loaded_forever(std::shared_ptr<PluginLibrary> library) {
  static std::mutex mu;
  static auto* kept = new std::vector<std::shared_ptr<PluginLibrary>>;  // never destroyed, see above
  std::lock_guard lk(mu);
  kept->push_back(std::move(library));
}

class InProcessBackend final : public InstanceBackend {
 public:
  InProcessBackend(std::shared_ptr<PluginLibrary> library, const std::string& plugin_id, const std::string& id,
                   const std::string& config_json, const std::string& who, std::shared_ptr<Publisher> publisher,
                   std::shared_ptr<InstanceCounters> counters, DeliveryHooks delivery, WatchdogSettings settings)
      : library_(std::move(library)), id_(id), counters_(std::move(counters)) {
    HostTableHooks hooks;
    hooks.publish = [publisher](std::string_view topic, const uint8_t* envelope, std::size_t size, std::string* why) {
      return publisher->publish(topic, envelope, size, why);
    };
    hooks.ack = std::move(delivery.ack);
    hooks.nack = std::move(delivery.nack);
    hooks.progress = std::move(delivery.progress);
    table_ = HostTable::create(id, std::move(hooks));
    watchdog_ = PluginWatchdog::create(id, settings, counters_);
    // The call may outlive this constructor (abandoned), so it owns what it touches.
    struct Created {
      const citylink_instance* instance = nullptr;
      citylink_error err{};
    };
    auto created = std::make_shared<Created>();
    created->err.struct_size = sizeof(created->err);
    const citylink_entry_t* entry = &library_->entry();
    const citylink_host_api* api = table_->api();
    if (!watchdog_->bounded("create", [created, entry, api, plugin_id, config_json] {
          guarded("create", &created->err, [&] {
            created->instance = entry->create(api, plugin_id.c_str(), config_json.c_str(), &created->err);
          });
        })) {
      table_->close();
      keep_loaded_forever(library_);
      throw InstanceError(who + ": " + watchdog_->abandon_reason() + "; its library stays loaded");
    }
    instance_ = created->instance;
    if (!instance_) {
      table_->close();
      throw InstanceError(who + ": create failed: " + escape_log_text(error_text(created->err)));
    }
    if (instance_->struct_size < offsetof(citylink_instance, get_extension) || !instance_->start ||
        !instance_->stop || !instance_->destroy) {
      if (instance_->destroy) call_destroy();
      instance_ = nullptr;
      table_->close();
      throw InstanceError(who + ": the instance struct returned by create is incomplete; rebuild the plugin with "
                                "the CityLink SDK");
    }
  }
  ~InProcessBackend() override { destroy(); }

  bool receives() const override { return instance_ && instance_->on_message; }

  citylink_status start(std::string& error) override {
    struct Started {
      citylink_status status = CITYLINK_ERR_INTERNAL;
      citylink_error err{};
    };
    auto started = std::make_shared<Started>();
    started->err.struct_size = sizeof(started->err);
    const citylink_instance* inst = instance_;
    if (!watchdog_->bounded("start", [started, inst] {
          guarded("start", &started->err, [&] { started->status = inst->start(inst, &started->err); });
        })) {
      table_->close();
      error = watchdog_->abandon_reason() + "; its library stays loaded";
      return CITYLINK_ERR_INTERNAL;
    }
    if (started->status != CITYLINK_OK) error = escape_log_text(error_text(started->err));
    return started->status;
  }

  bool deliver(const Delivery& d) override {
    citylink_message msg{};
    msg.struct_size = sizeof(msg);
    msg.topic = d.topic.data();  // NUL-terminated (see Delivery)
    msg.envelope = d.envelope;
    msg.envelope_size = d.size;
    msg.delivery_tag = d.delivery_tag;
    msg.redelivery_count = d.redelivery_count;
    if (d.redelivery_count > 0) msg.flags |= CITYLINK_MESSAGE_REDELIVERED;
    citylink_error err{};
    err.struct_size = sizeof(err);
    citylink_status st;
    // Read before enter(): if the call is abandoned, this backend may be gone when it
    // returns, and enter()'s release is what orders these reads before its destruction.
    const std::shared_ptr<PluginWatchdog> watchdog = watchdog_;
    const citylink_instance* inst = instance_;
    if (!watchdog->enter()) return false;
    st = CITYLINK_ERR_INTERNAL;  // stays so if it throws: a failure of this message, the instance runs on
    guarded("on_message", &err, [&] { st = inst->on_message(inst, &msg, &err); });
    watchdog->leave(d.topic);  // parks this thread if the call was abandoned meanwhile
    if (st == CITYLINK_OK) {
      counters_->delivered.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    const uint64_t n = counters_->failed.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= 5 || n % 1000 == 0)
      log()->warn("[{}] on_message failed on '{}' (status {}, #{}): {}", id_, d.topic, st, n,
                  escape_log_text(error_text(err)));
    return true;
  }

  bool abandon_stuck_delivery() override {
    if (!watchdog_->abandon_if_stuck()) return false;
    table_->close();
    return true;
  }

  void stop() override {
    if (!instance_ || watchdog_->abandoned()) return;
    const citylink_instance* inst = instance_;
    const std::string id = id_;
    if (!watchdog_->bounded("stop", [inst, id] { log_if_thrown(id, "stop", [&] { inst->stop(inst); }); }))
      table_->close();
  }

  void destroy() override {
    if (instance_ && !watchdog_->abandoned()) call_destroy();
    instance_ = nullptr;
    table_->close();
    if (watchdog_->abandoned() && library_) keep_loaded_forever(std::move(library_));
  }

  bool failed() const override { return watchdog_->abandoned(); }
  std::string failure() const override { return watchdog_->abandon_reason(); }

  std::string where() const override { return "in-process"; }

 private:
  void call_destroy() {
    const citylink_instance* inst = instance_;
    const std::string id = id_;
    (void)watchdog_->bounded("destroy", [inst, id] { log_if_thrown(id, "destroy", [&] { inst->destroy(inst); }); });
  }

  template <class Call>
  static void log_if_thrown(const std::string& id, const char* what, Call&& call) {
    citylink_error err{};
    err.struct_size = sizeof(err);
    guarded(what, &err, call);
    if (err.code != CITYLINK_OK) log()->error("[{}] {}", id, err.message);
  }

  std::shared_ptr<PluginLibrary> library_;  // loaded while the instance lives (and for the process, see plugin_library.cpp)
  std::string id_;
  std::shared_ptr<InstanceCounters> counters_;
  HostTable* table_ = nullptr;  // never freed, see host_table.hpp
  std::shared_ptr<PluginWatchdog> watchdog_;
  const citylink_instance* instance_ = nullptr;
};

}  // namespace

std::unique_ptr<InstanceBackend> make_in_process_backend(std::shared_ptr<PluginLibrary> library,
                                                         const std::string& plugin_id, const std::string& instance_id,
                                                         const std::string& config_json, const std::string& who,
                                                         std::shared_ptr<Publisher> publisher,
                                                         std::shared_ptr<InstanceCounters> counters,
                                                         DeliveryHooks delivery, WatchdogSettings watchdog) {
  return std::make_unique<InProcessBackend>(std::move(library), plugin_id, instance_id, config_json, who,
                                            std::move(publisher), std::move(counters), std::move(delivery), watchdog);
}

}  // namespace citylink::host
