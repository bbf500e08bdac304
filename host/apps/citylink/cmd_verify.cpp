// `citylink plugin verify`: every check runs the plugin in its own child process, so a
// crash or a hang fails that check and the command goes on to report the rest.
#include "commands.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace citylink::cli {
namespace {

struct CheckResult {
  std::string name;
  bool ok = false;
  std::string detail;
};

// The checks run per plugin, in this order (see verify_child.cpp for what each does).
const std::vector<std::string> kPluginChecks = {"lifecycle", "unknown-topic", "malformed-envelope",
                                                "malformed-payload", "publish-grants"};

}  // namespace

int cmd_verify(const Args& args) {
  std::string file, config = "{}";
  double timeout_s = 10;
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--config") config = value();
    else if (a == "--timeout") timeout_s = std::stod(value());
    else if (a == "--json") json = true;
    else if (file.empty() && a.rfind("--", 0) != 0) file = a;
    else throw std::runtime_error("unknown option '" + a + "'");
  }
  if (file.empty()) throw std::runtime_error("usage: citylink plugin verify FILE [--config JSON] [--timeout SECONDS] [--json]");
  const auto parsed = nlohmann::json::parse(config, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    throw std::runtime_error("--config must be a JSON object text, e.g. '{\"interval_ms\": 100}'");
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));

  std::vector<CheckResult> results;
  auto finish = [&]() {
    int passed = 0;
    for (const auto& r : results) passed += r.ok;
    if (json) {
      nlohmann::json j = {{"file", file}, {"passed", passed}, {"total", results.size()}, {"checks", nlohmann::json::array()}};
      for (const auto& r : results) j["checks"].push_back({{"check", r.name}, {"ok", r.ok}, {"detail", r.detail}});
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      for (const auto& r : results) std::printf("%s  %-50s %s\n", r.ok ? "PASS" : "FAIL", r.name.c_str(), r.detail.c_str());
      std::printf("\nverify: %d of %zu checks passed for %s\n", passed, results.size(), file.c_str());
    }
    return passed == static_cast<int>(results.size()) ? kOk : kFailed;
  };

  try {
    const auto report = host::preflight_plugin_file(file);
    results.push_back({"preflight", true, "ELF shared library for this machine, exports citylink_entry"});
  } catch (const host::LoadError& e) {
    results.push_back({"preflight", false, e.what()});
    return finish();
  }

  const std::string self = host::self_executable();
  nlohmann::json desc;
  try {
    desc = probe_in_child(file, timeout);
  } catch (const std::exception& e) {
    results.push_back({"load", false, e.what()});
    return finish();
  }
  results.push_back({"load", true,
                     "ABI " + desc["abi"].get<std::string>() + ", " + std::to_string(desc["plugins"].size()) +
                         " plugin(s), descriptors valid"});

  for (const auto& d : desc["plugins"]) {
    const std::string id = d["id"].get<std::string>();
    for (const auto& check : kPluginChecks) {
      const auto r = host::run_child({self, "__verify-check", file, check, id, config}, timeout);
      CheckResult cr{id + " " + check, false, ""};
      if (r.timed_out || r.signal) {
        cr.detail = host::describe(r, timeout);
      } else {
        try {
          const auto j = nlohmann::json::parse(r.out);
          cr.ok = j.at("ok").get<bool>() && r.exit_code == 0;
          cr.detail = j.at("detail").get<std::string>();
        } catch (const std::exception&) {
          cr.detail = host::describe(r, timeout) + " without a verdict; stderr: " + r.err.substr(0, 300);
        }
      }
      results.push_back(std::move(cr));
    }
  }
  return finish();
}

}  // namespace citylink::cli
