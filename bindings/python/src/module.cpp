// citylink._citylink: the host runtime for Python. Deliberately thin: the Python package
// (citylink/) builds the API on top, and every wait here runs without the GIL, so C++ keeps
// routing while Python code runs and a slow callback never stalls a plugin (docs/python.md).
#include <citylink/host/city_config.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/management_server.hpp>
#include <citylink/host/local_client.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/version.hpp>
#include <citylink/platform/platform.hpp>
#include <citylink/v1/envelope.pb.h>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace py = pybind11;
namespace ch = citylink::host;

namespace {

py::dict counters_dict(const ch::CounterSnapshot& c) {
  py::dict d;
  d["published"] = c.published;
  d["delivered"] = c.delivered;
  d["failed"] = c.failed;
  d["dropped_outgoing"] = c.dropped_outgoing;
  d["dropped_incoming"] = c.dropped_incoming;
  d["dropped_stopped"] = c.dropped_stopped;
  d["dropped_critical"] = c.dropped_critical;
  d["lost_in_worker"] = c.lost_in_worker;
  d["restarts"] = c.restarts;
  d["overruns"] = c.overruns;
  d["refused_durable"] = c.refused_durable;
  d["refused_rate"] = c.refused_rate;
  d["durable_accepted"] = c.durable_accepted;
  d["acked"] = c.acked;
  d["redelivered"] = c.redelivered;
  d["dead_lettered"] = c.dead_lettered;
  d["outbox_depth"] = c.outbox_depth;
  py::dict rejected;
  for (int r = 0; r < static_cast<int>(ch::RejectReason::count); ++r)
    rejected[ch::to_string(static_cast<ch::RejectReason>(r))] = c.rejected[r];
  d["rejected"] = rejected;
  return d;
}

py::dict entry_dict(const ch::PluginEntry& e) {
  py::dict d;
  d["instance"] = e.instance_id;
  d["file"] = e.file.string();
  d["enabled"] = e.enabled;
  d["isolation"] = e.isolated() ? "process" : "none";
  d["durable"] = e.durable;
  d["recipient"] = e.recipient;
  d["grants_requested"] = e.grants_requested;
  d["publish_grants"] = e.publish_grants;
  d["subscribe_grants"] = e.subscriptions;
  return d;
}

// The host a script runs. A host runs once: stop() stops it, keeps what it counted for
// status() and the like, and destroys it, so its worker processes end with the stop and not
// whenever Python collects the object. Calls that reach into the host hold `life_` shared
// (without the GIL); stop() takes it exclusively, so nothing is inside the host it destroys.
class PyHost {
 public:
  PyHost(ch::CityConfig config, std::vector<std::string> probe, std::vector<std::string> worker,
         std::vector<std::string> python)
      : config_(config), host_(std::make_unique<ch::Host>(std::move(config))) {
    if (!probe.empty()) host_->set_probe_command(std::move(probe));
    if (!worker.empty()) host_->set_worker_command(std::move(worker));
    if (!python.empty()) host_->set_python_command(std::move(python));
    citylink::platform::add_scenario_engine(*host_);  // the platform's domain, as `citylink run` has it
  }
  ~PyHost() {
    py::gil_scoped_release nogil;
    std::unique_lock lk(life_);
    host_.reset();
  }

  void start(const std::string& client) {
    if (state_ != State::created)
      throw std::logic_error(state_ == State::running ? "the host is already running"
                                                      : "a host runs once; make a new citylink.Host to start again");
    py::gil_scoped_release nogil;
    std::unique_lock lk(life_);
    if (!client.empty()) host_->attach_client(client);
    try {
      host_->start();
    } catch (...) {
      // A start that failed half-way (the outbox or audit log would not open) is stopped
      // here: nothing of it keeps running behind the exception.
      keep_and_destroy();
      state_ = State::stopped;
      throw;
    }
    state_ = State::running;
  }

  void stop() {
    if (state_ != State::running) return;
    state_ = State::stopped;
    py::gil_scoped_release nogil;
    std::unique_lock lk(life_);
    keep_and_destroy();
  }

  bool running() const { return state_ == State::running; }

  // The local client `name`; raises when the host is not running or the config lacks it.
  ch::LocalClient* client(const std::string& name) {
    ch::LocalClient* c = nullptr;
    read([&] {
      if (!host_ || state_ != State::running) throw std::logic_error("the host is not running; call start() first");
      c = &host_->client(name);
    });
    return c;
  }

  // Runs `f(client)` inside the host's life, without the GIL; false when the host is gone.
  template <class F>
  bool with_client(ch::LocalClient* c, F&& f) {
    py::gil_scoped_release nogil;
    std::shared_lock lk(life_);
    if (!host_ || state_ != State::running) return false;
    f(*c);
    return true;
  }

  // A publish with the GIL held: never waits for a stop in progress (that answers STATE). A
  // client with a publish_rate may sleep up to 1 ms in it, so the GIL is let go then; the
  // lock on the host is released before the GIL is taken back (a stop holds the GIL while
  // it waits for that lock).
  citylink_status publish_now(ch::LocalClient* c, const std::string& topic, const std::string& envelope,
                              std::string& why) {
    std::shared_lock lk(life_, std::try_to_lock);
    if (!lk.owns_lock() || !host_ || state_ != State::running) return CITYLINK_ERR_STATE;
    const auto* bytes = reinterpret_cast<const uint8_t*>(envelope.data());
    if (!c->paced()) return c->publish(topic, bytes, envelope.size(), &why);
    std::optional<py::gil_scoped_release> nogil(std::in_place);
    const citylink_status s = c->publish(topic, bytes, envelope.size(), &why);
    lk.unlock();
    nogil.reset();
    return s;
  }

  py::list status() {
    std::vector<ch::InstanceStatus> st;
    read([&] { st = host_ ? host_->status() : status_; });
    py::list out;
    for (const auto& s : st) {
      py::dict d;
      d["instance"] = s.instance_id;
      d["plugin"] = s.plugin_id;
      d["state"] = s.state;
      d["counters"] = counters_dict(s.counters);
      out.append(d);
    }
    return out;
  }

  py::list failures() {
    std::vector<ch::InstanceFailure> fs;
    read([&] { fs = host_ ? host_->failures() : failures_; });
    py::list out;
    for (const auto& f : fs) out.append(py::make_tuple(f.instance_id, f.reason));
    return out;
  }

  py::list entries() const {
    py::list out;
    for (const auto& e : config_.plugins) out.append(entry_dict(e));
    return out;
  }

  py::dict router() {
    uint64_t routed, undeliverable, critical;
    read([&] {
      routed = host_ ? host_->router().routed() : routed_;
      undeliverable = host_ ? host_->router().undeliverable() : undeliverable_;
      critical = host_ ? host_->router().critical_dropped() : critical_dropped_;
    });
    py::dict d;
    d["routed"] = routed;
    d["undeliverable"] = undeliverable;
    d["critical_dropped"] = critical;
    return d;
  }

  std::vector<std::string> client_names() const {
    std::vector<std::string> out;
    for (const auto& c : config_.clients) out.push_back(c.name);
    return out;
  }

  std::string city() const { return config_.city; }
  std::string metrics() {
    std::string m;
    read([&] { m = host_ ? host_->metrics_prometheus() : metrics_; });
    return m;
  }
  std::string remote_endpoint() {
    std::string e;
    read([&] {
      if (host_ && host_->remote_endpoint()) e = host_->remote_endpoint()->endpoint();
    });
    return e;
  }
  std::string management_url() {
    std::string u;
    read([&] {
      if (host_ && host_->management()) u = host_->management()->url();
    });
    return u;
  }

 private:
  enum class State { created, running, stopped };
  const ch::CityConfig config_;
  std::shared_mutex life_;
  std::unique_ptr<ch::Host> host_;
  std::atomic<State> state_{State::created};
  // What the host counted, kept when it is destroyed at stop.
  std::vector<ch::InstanceStatus> status_;
  std::vector<ch::InstanceFailure> failures_;
  uint64_t routed_ = 0, undeliverable_ = 0, critical_dropped_ = 0;
  std::string metrics_;

  // Runs `f` without the GIL inside the host's life (stop() may be destroying it meanwhile).
  template <class F>
  void read(F&& f) {
    py::gil_scoped_release nogil;
    std::shared_lock lk(life_);
    f();
  }

  // With life_ held exclusively: stops the host, keeps what it counted, destroys it (every
  // instance with it, so their workers end now).
  void keep_and_destroy() {
    host_->stop();
    status_ = host_->status();
    failures_ = host_->failures();
    routed_ = host_->router().routed();
    undeliverable_ = host_->router().undeliverable();
    critical_dropped_ = host_->router().critical_dropped();
    metrics_ = host_->metrics_prometheus();
    host_.reset();
  }
};

// A script's handle on its local client; every call goes through the host's life guard.
struct PyClient {
  PyHost* host;
  ch::LocalClient* client;  // valid while host->with_client runs
  ch::ClientEntry entry;    // a copy: readable after the host is gone
};

}  // namespace

PYBIND11_MODULE(_citylink, m) {
  m.doc() = "CityLink host runtime (native part of the citylink package; use `import citylink`).";
  m.attr("host_version") = ch::kHostVersion;
  m.attr("abi_version") = ch::abi_version_string();

  static py::exception<ch::ConfigError> config_error(m, "ConfigError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ch::ConfigError& e) {
      config_error(e.what());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_LookupError, e.what());
    } catch (const std::logic_error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def("load_config", &citylink::platform::load_city_config, py::arg("path"),
        "Parses a city config file; raises ConfigError naming the line and the fix.");
  m.def("parse_config", &citylink::platform::parse_city_config, py::arg("text"), py::arg("name"), py::arg("base_dir"),
        "Parses city config text (YAML or JSON); relative paths resolve against base_dir.");
  m.def("grant_allows", &ch::grant_allows, py::arg("pattern"), py::arg("topic"),
        "Whether a subscription or grant pattern matches a topic, by segment (the router's rule).");
  m.def("is_valid_topic", &ch::is_valid_topic, py::arg("topic"));

  py::class_<ch::CityConfig>(m, "CityConfig").def_property_readonly("city", [](const ch::CityConfig& c) {
    return c.city;
  });

  py::class_<PyClient>(m, "Client")
      .def_property_readonly("name", [](const PyClient& c) { return c.entry.name; })
      .def_property_readonly("publish_grants", [](const PyClient& c) { return c.entry.publish_grants; })
      .def_property_readonly("subscribe_grants", [](const PyClient& c) { return c.entry.subscriptions; })
      .def(
          "publish",
          [](PyClient& c, const std::string& topic, py::bytes envelope) {
            const std::string_view bytes = envelope;
            std::string why = "the host is stopped";
            citylink_status s = CITYLINK_ERR_STATE;
            c.host->with_client(c.client, [&](ch::LocalClient& lc) {
              s = lc.publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &why);
            });
            return py::make_tuple(static_cast<int>(s), why);
          },
          py::arg("topic"), py::arg("envelope"), "Queues one serialized Envelope; returns (status, why).")
      .def(
          "receive",
          [](PyClient& c, int timeout_ms) -> py::object {
            std::string topic, envelope;
            bool got = false;
            c.host->with_client(c.client, [&](ch::LocalClient& lc) {
              got = lc.receive(topic, envelope, std::chrono::milliseconds(std::max(0, timeout_ms)));
            });
            if (!got) return py::none();
            return py::make_tuple(topic, py::bytes(envelope));
          },
          py::arg("timeout_ms"), "The next (topic, envelope bytes) for this client, or None after the timeout.")
      .def(
          "receive_many",
          [](PyClient& c, int timeout_ms, int max) -> py::list {
            // One GIL round trip for a burst: what waits already, up to `max`.
            std::vector<std::pair<std::string, std::string>> got;
            c.host->with_client(c.client, [&](ch::LocalClient& lc) {
              std::string topic, envelope;
              auto wait = std::chrono::milliseconds(std::max(0, timeout_ms));
              while (static_cast<int>(got.size()) < max && lc.receive(topic, envelope, wait)) {
                got.emplace_back(std::move(topic), std::move(envelope));
                wait = std::chrono::milliseconds(0);
              }
            });
            py::list out;
            for (auto& [t, e] : got) out.append(py::make_tuple(py::str(t), py::bytes(e)));
            return out;
          },
          py::arg("timeout_ms"), py::arg("max"),
          "Up to `max` (topic, envelope bytes): waits up to the timeout for the first, then takes what waits.")
      .def(
          "publish_payload",
          [](PyClient& c, const std::string& topic, const std::string& schema, py::bytes payload,
             const std::string& correlation_id, py::object attributes) {
            // The envelope is built here, not in Python: a third of the cost of a publish.
            citylink::v1::Envelope env;
            env.set_topic(topic);
            env.set_schema(schema);
            env.set_payload(std::string(payload));
            env.set_correlation_id(correlation_id);
            if (!attributes.is_none())
              for (const auto& [k, v] : attributes.cast<std::map<std::string, std::string>>())
                (*env.mutable_attributes())[k] = v;
            const std::string bytes = env.SerializeAsString();
            std::string why = "the host is stopped";
            // Unpaced, a publish never blocks, so it keeps the GIL (half its cost was the hand-over).
            const citylink_status s = c.host->publish_now(c.client, topic, bytes, why);
            return py::make_tuple(static_cast<int>(s), why);
          },
          py::arg("topic"), py::arg("schema"), py::arg("payload"), py::arg("correlation_id"), py::arg("attributes"),
          "Wraps a serialized payload in an Envelope and queues it; returns (status, why).")
      .def(
          "may_subscribe",
          [](PyClient& c, const std::string& pattern) {
            std::string why = "the host is stopped";
            bool ok = false;
            c.host->with_client(c.client, [&](ch::LocalClient& lc) { ok = lc.may_subscribe(pattern, &why); });
            return py::make_tuple(ok, why);
          },
          py::arg("pattern"))
      .def("counters", [](PyClient& c) {
        ch::CounterSnapshot snap;
        c.host->with_client(c.client, [&](ch::LocalClient& lc) { snap = lc.counters()->snapshot(); });
        return counters_dict(snap);
      });

  py::class_<PyHost>(m, "Host")
      .def(py::init<ch::CityConfig, std::vector<std::string>, std::vector<std::string>, std::vector<std::string>>(),
           py::arg("config"), py::arg("probe_command"), py::arg("worker_command"), py::arg("python_command"))
      .def("start", &PyHost::start, py::arg("client") = "")
      .def("stop", &PyHost::stop)
      .def_property_readonly("running", &PyHost::running)
      .def(
          "client",
          [](PyHost& h, const std::string& name) {
            auto* c = h.client(name);
            return PyClient{&h, c, c->entry()};
          },
          py::arg("name"),
          py::keep_alive<0, 1>())
      .def("status", &PyHost::status)
      .def("failures", &PyHost::failures)
      .def("entries", &PyHost::entries)
      .def("router", &PyHost::router)
      .def("client_names", &PyHost::client_names)
      .def_property_readonly("city", &PyHost::city)
      .def("metrics", &PyHost::metrics)
      .def("remote_endpoint", &PyHost::remote_endpoint)
      .def("management_url", &PyHost::management_url);
}
