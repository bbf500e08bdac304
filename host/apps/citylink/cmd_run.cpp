// `citylink run`: bring a city up from its config and keep it running.
#include "commands.hpp"
#include "options.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/management_server.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/run_marker.hpp>
#include <citylink/host/version.hpp>
#include <citylink/platform/platform.hpp>

#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace citylink::cli {
namespace {

// The Python worker for `runtime: python` plugins: $CITYLINK_PYTHON (default Debian's
// /usr/bin/python3) in isolated mode (-I: no PYTHON* variables, no user site, no script
// directory on sys.path) running the package's runner.py, from the build tree or from the
// prefix this executable is installed in. Empty when there is none: such plugins are refused.
std::vector<std::string> python_worker_command() {
  const char* env = std::getenv("CITYLINK_PYTHON");
  const std::string python = env && *env ? env : "/usr/bin/python3";
  // The installed package beside this executable first: an installed `citylink` must not
  // run a build tree's Python code that happens to still exist.
  const auto exe = std::filesystem::path(host::self_executable());
  std::vector<std::filesystem::path> candidates = {exe.parent_path().parent_path() /
                                                   "lib/python3/dist-packages/citylink/runner.py"};
#ifdef CITYLINK_BUILD_PYTHON_WORKER
  candidates.emplace_back(CITYLINK_BUILD_PYTHON_WORKER);
#endif
  for (const auto& c : candidates)
    if (std::filesystem::exists(c)) return {python, "-I", c.string()};
  return {};
}

}  // namespace

int cmd_run(const Args& args) {
  std::string config_path, metrics_path;
  double seconds = 0;
  bool strict_config = false;
  bool safe_mode = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--config") config_path = value();
    else if (a == "--for") seconds = parse_seconds("--for", value(), 0, 366.0 * 24 * 3600);
    else if (a == "--metrics") metrics_path = value();
    else if (a == "--strict-config") strict_config = true;
    else if (a == "--safe-mode") safe_mode = true;
    else throw std::runtime_error("unknown option '" + a + "' (see citylink --help)");
  }
  if (config_path.empty()) throw std::runtime_error("--config FILE is required");

  host::CityConfig config;
  try {
    config = platform::load_city_config(config_path);
  } catch (const host::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kUsage;
  }
  if (strict_config) config.host.strict_config = true;
  // After a crash the operator needs to know, and a way to bring the city up without the
  // code that may have caused it: the host's own parts and the plugins marked trusted.
  // From here until the city has stopped and said so, SIGINT/SIGTERM ask for a stop; they
  // never cut a start or a drain short (review M2).
  const host::StopSignals signals;
  const host::RunMarker marker(config.host.state_dir);
  if (!marker.problem().empty())
    host::log()->warn("unclean-shutdown detection is off: {} (set host.state_dir to a folder this user can write)",
                      marker.problem());
  if (!marker.previous_unclean().empty())
    host::log()->error("the previous run of this city ({}) did not shut down cleanly (a crash, a kill or a power "
                       "loss); if a plugin caused it, start with `citylink run --safe-mode` to leave out every "
                       "plugin not marked `trusted: true`",
                       marker.previous_unclean());
  if (safe_mode) {
    std::string off;
    for (auto& p : config.plugins)
      if (p.enabled && !p.trusted) {
        p.enabled = false;
        off += (off.empty() ? "" : ", ") + p.instance_id;
      }
    host::log()->warn("safe mode: third-party plugin instances not started: {}", off.empty() ? "none" : off);
  }
  host::Host h(std::move(config));
  platform::add_scenario_engine(h);  // the platform's domain, a component on the host's bus
  h.set_probe_command({host::self_executable(), "__probe"});
  h.set_worker_command({host::self_executable(), "worker"});
  h.set_python_command(python_worker_command());
  host::log()->info("citylink {} (ABI {}) running city '{}'{}", host::kHostVersion, host::abi_version_string(),
                    h.config().city, seconds > 0 ? " for " + std::to_string(seconds) + " s" : " until Ctrl-C");
  h.start();
  if (auto* api = h.management()) {
    std::printf("management API: %s/api/ (described at %s/api/openapi.json)\n", api->url().c_str(), api->url().c_str());
    std::fflush(stdout);
  }
  if (host::StopSignals::requested()) host::log()->warn("asked to stop while starting; stopping now");
  h.run_for(std::chrono::milliseconds(static_cast<long long>(seconds * 1000)));
  // Before the stop, which leaves every instance stopped: which ones failed while running.
  std::set<std::string> failed;
  for (const auto& s : h.status())
    if (s.state == "failed") failed.insert(s.instance_id);
  h.stop();
  std::printf("\n%s", h.status_table().c_str());
  if (const auto t = h.component_table(); !t.empty()) std::printf("\n%s", t.c_str());
  for (const auto& f : h.failures()) {
    std::printf("not started: %s: %s\n", f.instance_id.c_str(), f.reason.c_str());
    failed.insert(f.instance_id);
  }
  int code = kOk;
  if (!metrics_path.empty()) {
    std::ofstream out(metrics_path);
    out << h.metrics_prometheus();
    out.close();
    if (!out) {
      std::fprintf(stderr, "could not write the metrics to %s: %s; give --metrics a path in a folder this user can write\n",
                   metrics_path.c_str(), std::strerror(errno));
      code = kFailed;
    }
  }
  if (!failed.empty()) {
    const std::string names = fmt::format("{}", fmt::join(failed, ", "));
    std::printf("degraded: %s did not run to the end (exit code %d); see the reasons above\n", names.c_str(), kDegraded);
    return kDegraded;
  }
  return code;
}

int cmd_version(const Args&) {
  std::printf("citylink %s (ABI %s)\n", host::kHostVersion, host::abi_version_string().c_str());
  return kOk;
}

}  // namespace citylink::cli
