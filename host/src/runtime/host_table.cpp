// The one host table, with its one error rule (citylink_set_error of abi.h).
#include <citylink/host/host_table.hpp>
#include <citylink/ext/durable.h>
#include <citylink/host/plugin_log.hpp>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace citylink::host {

// The hooks are never released: a plugin thread may be inside one when the table closes.
// What they capture lives as long as the table (the process), a publisher or a socket.
struct HostTable::Impl {
  explicit Impl(std::string instance_id) : id(std::move(instance_id)), plugin_log(id) {}
  std::string id;
  HostTableHooks hooks;
  std::atomic<bool> alive{true};
  PluginLog plugin_log;  // when hooks.log is empty
};

namespace {

std::mutex g_tables_mu;
std::vector<std::unique_ptr<HostTable>>& all_tables() {
  static auto* tables = new std::vector<std::unique_ptr<HostTable>>();  // outlives static destructors
  return *tables;
}

HostTable::Impl* impl_of(const citylink_host_api* h) {
  return h && h->host_data ? static_cast<HostTable::Impl*>(h->host_data) : nullptr;
}

void fill_error(citylink_error* err, citylink_status status, const std::string& message) {
  citylink_set_error(err, status, message.c_str());
}

citylink_status no_durable_tag(uint64_t tag) { return tag == 0 ? CITYLINK_OK : CITYLINK_ERR_INVALID_ARGUMENT; }

// One struct for every table: the function finds the instance from its first argument.
const citylink_host_durable kDurable = {
    [](const citylink_host_api* h, uint64_t tag) noexcept -> citylink_status {
      try {
        HostTable::Impl* i = impl_of(h);
        if (!i) return CITYLINK_ERR_INVALID_ARGUMENT;
        if (!i->alive.load(std::memory_order_acquire)) return CITYLINK_ERR_STATE;
        return i->hooks.progress ? i->hooks.progress(tag) : no_durable_tag(tag);
      } catch (...) {
        return CITYLINK_ERR_INTERNAL;
      }
    }};

}  // namespace

std::string error_text(const citylink_error& err) {
  return err.message[0] ? std::string(err.message, strnlen(err.message, CITYLINK_ERROR_MESSAGE_MAX))
                        : std::string("(no message)");
}

HostTable* HostTable::create(std::string instance_id, HostTableHooks hooks) {
  auto t = std::unique_ptr<HostTable>(new HostTable());
  t->id_ = instance_id;
  t->impl_ = new Impl(std::move(instance_id));  // kept with the table, for the life of the process
  t->impl_->hooks = std::move(hooks);
  auto& api = t->api_;
  api.struct_size = sizeof(api);
  api.abi_version = {CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR};
  api.host_data = t->impl_;
  api.publish = [](const citylink_host_api* h, const char* topic, const uint8_t* envelope, size_t size,
                   citylink_error* err) noexcept -> citylink_status {
    try {
      Impl* i = impl_of(h);
      if (!i || !topic) {
        fill_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "publish needs the host table and a topic");
        return CITYLINK_ERR_INVALID_ARGUMENT;
      }
      if (!i->alive.load(std::memory_order_acquire) || !i->hooks.publish) {
        fill_error(err, CITYLINK_ERR_STATE, "the instance is not running (publish after stop or destroy)");
        return CITYLINK_ERR_STATE;
      }
      std::string why;
      const citylink_status st = i->hooks.publish(topic, envelope, size, &why);
      if (st != CITYLINK_OK) fill_error(err, st, why);
      return st;
    } catch (...) {
      fill_error(err, CITYLINK_ERR_INTERNAL, "the host failed to queue the message");
      return CITYLINK_ERR_INTERNAL;
    }
  };
  api.log = [](const citylink_host_api* h, citylink_log_level level, const char* message) noexcept {
    try {
      Impl* i = impl_of(h);
      if (!i || !message) return;
      if (!i->alive.load(std::memory_order_acquire)) return;
      if (i->hooks.log) return i->hooks.log(level, message);
      i->plugin_log.write(level, message);
    } catch (...) {
    }
  };
  api.get_extension = [](const citylink_host_api*, const char* id) noexcept -> const void* {
    if (id && std::strcmp(id, CITYLINK_EXT_DURABLE) == 0) return &kDurable;
    return nullptr;  // the documented "not provided"
  };
  api.instance_id = [](const citylink_host_api* h) noexcept -> const char* {
    Impl* i = impl_of(h);
    return i ? i->id.c_str() : nullptr;
  };
  api.ack = [](const citylink_host_api* h, uint64_t tag) noexcept -> citylink_status {
    try {
      Impl* i = impl_of(h);
      if (!i) return CITYLINK_ERR_INVALID_ARGUMENT;
      if (!i->alive.load(std::memory_order_acquire)) return CITYLINK_ERR_STATE;
      return i->hooks.ack ? i->hooks.ack(tag) : no_durable_tag(tag);
    } catch (...) {
      return CITYLINK_ERR_INTERNAL;
    }
  };
  api.nack = [](const citylink_host_api* h, uint64_t tag, int32_t requeue) noexcept -> citylink_status {
    try {
      Impl* i = impl_of(h);
      if (!i) return CITYLINK_ERR_INVALID_ARGUMENT;
      if (!i->alive.load(std::memory_order_acquire)) return CITYLINK_ERR_STATE;
      return i->hooks.nack ? i->hooks.nack(tag, requeue != 0) : no_durable_tag(tag);
    } catch (...) {
      return CITYLINK_ERR_INTERNAL;
    }
  };
  std::lock_guard lk(g_tables_mu);
  all_tables().push_back(std::move(t));
  return all_tables().back().get();
}

void HostTable::close() { impl_->alive.store(false, std::memory_order_release); }

bool HostTable::alive() const { return impl_->alive.load(std::memory_order_acquire); }

}  // namespace citylink::host
