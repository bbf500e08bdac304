// `citylink plugin verify`: a conformance validator. The file checks run here without
// running the plugin's code; every plugin check runs the plugin in its own child process,
// so a crash or a hang fails that check and the command goes on to report the rest.
#include "commands.hpp"
#include "options.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/config_schema.hpp>
#include <citylink/host/descriptor.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

namespace citylink::cli {
namespace {

struct CheckResult {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct CheckInfo {
  const char* name;
  bool in_child;  // runs the plugin's code (in a child process of its own)
  const char* what;
};

// Every check, in the order they run. The file-level ones (preflight, exports, load) run
// once; the others once per plugin in the library. See verify_child.cpp for the child half.
const std::vector<CheckInfo> kChecks = {
    {"preflight", false, "an ELF shared library for this machine that exports citylink_entry"},
    {"exports", false, "no exported symbol but citylink_entry"},
    {"load", false, "loads in a child; ABI compatible; descriptors complete and well-formed"},
    {"descriptor", false, "a known kind, a vendor, a description; a config_schema that is a JSON object"},
    {"config-schema", false, "the --config given satisfies the plugin's config_schema"},
    {"bad-config", true, "create refuses a config that is not a JSON object, with a message"},
    {"destroy-without-start", true, "create then destroy without start leaves nothing running"},
    {"lifecycle", true, "create, start, stop (within 5 s), destroy"},
    {"double-stop", true, "a second stop returns at once without effect (stop is idempotent)"},
    {"unknown-topic", true, "a message on an unknown topic with an unknown schema is handled"},
    {"malformed-envelope", true, "garbage envelope bytes are handled"},
    {"malformed-payload", true, "garbage payloads of every schema are handled"},
    {"publish-grants", true, "publishes only its declared topics, as valid envelopes"},
    {"no-publish-after-stop", true, "nothing is published after stop returns"},
    {"no-threads-after-destroy", true, "no thread it started runs after destroy returns"},
};

std::string check_names() {
  std::string s;
  for (const auto& c : kChecks) s += (s.empty() ? "" : ", ") + std::string(c.name);
  return s;
}

// What the loader only warns about, or does not look at, and a vendor should fix before
// shipping: the loader's hard rules (id, semver, topics, extension ids) passed already.
std::string descriptor_problem(const nlohmann::json& d) {
  const auto& kinds = host::known_plugin_kinds();
  const std::string kind = d.value("kind", "");
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
    return "kind '" + kind + "' is not one of the kinds in citylink/kinds.h";
  if (kind == "test") return "kind 'test' is for test fixtures; a city should never run it";
  if (d.value("vendor", "").empty()) return "no vendor; operators need to know whose code this is";
  if (d.value("description", "").empty()) return "no description; say what the plugin does in one line";
  if (!d["config_schema"].is_null() && !d["config_schema"].is_object())
    return "config_schema is JSON but not an object schema";
  return "";
}

}  // namespace

int cmd_verify(const Args& args) {
  const std::string usage =
      "usage: citylink plugin verify FILE [--config JSON] [--timeout SECONDS] [--check NAME] [--plugin ID] "
      "[--jobs N] [--json]\n"
      "checks: " + check_names();
  const Parsed p = parse(args, {"--config", "--timeout", "--check", "--plugin", "--jobs"}, {"--json"}, usage);
  const std::string file = p.positional;
  const std::string config = p.get("--config").value_or("{}");
  const bool json = p.has("--json");
  const auto only = p.get("--check");
  if (only && std::none_of(kChecks.begin(), kChecks.end(), [&](const CheckInfo& c) { return *only == c.name; }))
    throw std::runtime_error("--check '" + *only + "' is not a check; the checks are: " + check_names());
  double timeout_s = 10;
  if (const auto t = p.get("--timeout")) timeout_s = parse_seconds("--timeout", *t, 0, 3600);
  // The checks mostly wait (for a stop, a thread to end, a publish window), so by default
  // twice as many children run as there are cores.
  unsigned jobs = std::clamp(2 * std::thread::hardware_concurrency(), 2u, 8u);
  if (const auto j = p.get("--jobs")) {
    int n = 0;
    try {
      n = std::stoi(*j);
    } catch (const std::exception&) {
    }
    if (n < 1 || n > 64) throw std::runtime_error("--jobs '" + *j + "' is not a number of checks to run at once (1 to 64)");
    jobs = static_cast<unsigned>(n);
  }
  const auto only_plugin = p.get("--plugin");
  const auto parsed = nlohmann::json::parse(config, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    throw std::runtime_error("--config must be a JSON object text, e.g. '{\"interval_ms\": 100}'");
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  const auto wanted = [&](const char* name) { return !only || *only == name; };

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

  // The file checks gate everything after them, so they run even under --check.
  host::PreflightReport report;
  try {
    report = host::preflight_plugin_file(file);
    if (wanted("preflight"))
      results.push_back({"preflight", true, "ELF shared library for this machine, exports citylink_entry"});
  } catch (const host::LoadError& e) {
    results.push_back({"preflight", false, e.what()});
    return finish();
  }
  if (wanted("exports")) {
    std::vector<std::string> extra;
    for (const auto& s : report.exported_symbols)
      if (s != CITYLINK_ENTRY_SYMBOL) extra.push_back(s);
    std::string list;
    for (std::size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", " : "") + extra[i];
    results.push_back(
        {"exports", extra.empty(),
         extra.empty() ? "exports only citylink_entry"
                       : std::to_string(extra.size()) + " other exported symbol(s) (" + list +
                             (extra.size() > 5 ? ", ..." : "") +
                             "); build with citylink_add_plugin(), whose version script hides everything else"});
  }

  nlohmann::json desc;
  try {
    desc = probe_in_child(file, timeout);
  } catch (const std::exception& e) {
    results.push_back({"load", false, e.what()});
    return finish();
  }
  if (wanted("load"))
    results.push_back({"load", true,
                       "ABI " + desc["abi"].get<std::string>() + ", " + std::to_string(desc["plugins"].size()) +
                           " plugin(s), descriptors valid"});

  if (only_plugin) {
    std::string ids;
    bool found = false;
    for (const auto& d : desc["plugins"]) {
      found = found || d["id"] == *only_plugin;
      ids += (ids.empty() ? "" : ", ") + d["id"].get<std::string>();
    }
    if (!found) throw std::runtime_error("--plugin '" + *only_plugin + "' is not in " + file + "; it holds: " + ids);
  }

  // The checks that run the plugin's code, each in a child of its own; their results keep
  // the order of the list whatever order the children end in.
  struct ChildCheck {
    std::string id;
    const char* check;
    std::size_t slot;
  };
  std::vector<ChildCheck> child_checks;
  const std::string self = host::self_executable();
  for (const auto& d : desc["plugins"]) {
    const std::string id = d["id"].get<std::string>();
    if (only_plugin && id != *only_plugin) continue;
    if (wanted("descriptor")) {
      const std::string problem = descriptor_problem(d);
      results.push_back({id + " descriptor", problem.empty(),
                         problem.empty() ? "kind " + d.value("kind", "") + ", vendor " + d.value("vendor", "") : problem});
    }
    if (wanted("config-schema")) {
      if (d["config_schema"].is_object()) {
        std::vector<std::string> ignored;
        const auto violations = host::validate_config(d["config_schema"], parsed, &ignored);
        std::string detail;
        for (const auto& v : violations)
          detail += (detail.empty() ? "" : "; ") + std::string("config") + v.path + " " + v.message;
        if (violations.empty()) {
          detail = "--config " + config + " satisfies the schema";
          if (!ignored.empty()) {
            std::string kw;
            for (const auto& k : ignored) kw += (kw.empty() ? "" : ", ") + k;
            detail += " (not checked by the host: " + kw + ")";
          }
        }
        results.push_back({id + " config-schema", violations.empty(), detail});
      } else {
        results.push_back({id + " config-schema", true, "declares no config_schema; the config is not checked"});
      }
    }
    for (const auto& check : kChecks) {
      if (!check.in_child || !wanted(check.name)) continue;
      child_checks.push_back({id, check.name, results.size()});
      results.push_back({id + " " + check.name, false, ""});
    }
  }

  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < child_checks.size(); i = next++) {
      const auto& c = child_checks[i];
      CheckResult& cr = results[c.slot];  // each slot is written by one thread only
      host::ChildResult r;
      try {
        r = host::run_child({self, "__verify-check", file, c.check, c.id, config}, timeout);
      } catch (const std::exception& e) {
        cr.detail = std::string("could not start the check's child process: ") + e.what();
        continue;
      }
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
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned i = 1; i < std::min<std::size_t>(jobs, child_checks.size()); ++i) pool.emplace_back(worker);
    worker();
  }
  return finish();
}

}  // namespace citylink::cli
