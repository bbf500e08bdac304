// `citylink plugin inspect`: a plugin's descriptors, read in a child process so a plugin
// that crashes while loading is reported instead of taking the command down.
#include "child_answer.hpp"
#include "commands.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/plugin_library.hpp>
#include <citylink/host/version.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace citylink::cli {
namespace {

constexpr std::chrono::milliseconds kProbeTimeout{10000};

std::string join(const nlohmann::json& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s.get<std::string>();
  return out.empty() ? "-" : out;
}

}  // namespace

// The host's probe passes the SHA-256 it checked: the child loads those bytes or nothing, so a
// file swapped between the host's check and the probe never runs, not even in the child.
int cmd_probe(const Args& args) {
  if (args.size() != 1 && !(args.size() == 3 && args[1] == "--sha256"))
    throw std::runtime_error("usage: citylink __probe FILE [--sha256 HEX]");
  answer_on_own_stdout();
  nlohmann::json out;
  try {
    host::LoadPolicy policy;
    policy.rules.allow_symlinks = true;  // the host applied its link rule when it chose the file
    if (args.size() == 3) {
      const std::string expected = args[2];
      policy.admit = [expected](const host::PluginFile& f) {
        if (f.sha256() != expected)
          throw host::LoadError("plugin file '" + f.path().string() + "' changed after the host checked it (SHA-256 " +
                                f.sha256() + ", checked " + expected + "); it was not loaded. Find out who replaced it");
      };
    }
    auto lib = host::PluginLibrary::load(args[0], policy);
    out["file"] = lib->path().string();
    out["abi"] = host::abi_version_string(lib->abi_version());
    out["plugins"] = nlohmann::json::array();
    for (const auto& d : lib->descriptors()) out["plugins"].push_back(host::to_json(d));
    answer(out.dump());
    return kOk;
  } catch (const std::exception& e) {
    out["error"] = e.what();
    answer(out.dump());
    return kFailed;
  }
}

nlohmann::json probe_in_child(const std::string& file, std::chrono::milliseconds timeout) {
  const auto r = host::run_child({host::self_executable(), "__probe", file}, timeout);
  if (!r.ok() && r.exit_code != kFailed)
    throw std::runtime_error("plugin file '" + file + "' " + host::describe(r, timeout) +
                             " while loading; the plugin's init or descriptor code is broken (stderr: " + r.err + ")");
  nlohmann::json probe = nlohmann::json::parse(r.out, nullptr, false);
  if (probe.is_discarded() || !probe.is_object())
    throw std::runtime_error("plugin file '" + file + "' printed garbage while loading: " + r.out.substr(0, 200));
  if (probe.contains("error")) throw std::runtime_error(probe["error"].get<std::string>());
  return probe;
}

int cmd_inspect(const Args& args) {
  std::string file;
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json") json = true;
    else if (file.empty() && a.rfind("--", 0) != 0) file = a;
    else throw std::runtime_error("unknown option '" + a + "'; usage: citylink plugin inspect FILE [--json]");
  }
  if (file.empty()) throw std::runtime_error("usage: citylink plugin inspect FILE [--json]");

  auto report_error = [&](const std::string& message) {
    if (json) std::printf("%s\n", nlohmann::json{{"file", file}, {"error", message}}.dump(2).c_str());
    else std::fprintf(stderr, "error: %s\n", message.c_str());
    return kFailed;
  };

  // No plugin code runs in this process: the pre-flight only reads the file.
  try {
    host::preflight_plugin_file(file);
  } catch (const host::LoadError& e) {
    return report_error(e.what());
  }
  nlohmann::json probe;
  try {
    probe = probe_in_child(file, kProbeTimeout);
  } catch (const std::exception& e) {
    return report_error(e.what());
  }

  if (json) {
    std::printf("%s\n", probe.dump(2).c_str());
    return kOk;
  }
  std::printf("file        %s\nABI         %s\n", probe["file"].get<std::string>().c_str(),
              probe["abi"].get<std::string>().c_str());
  for (const auto& d : probe["plugins"]) {
    std::printf("\nplugin      %s\n", d["id"].get<std::string>().c_str());
    std::printf("  name        %s\n", d["name"].get<std::string>().c_str());
    std::printf("  vendor      %s\n", d["vendor"].get<std::string>().c_str());
    std::printf("  version     %s\n", d["version"].get<std::string>().c_str());
    std::printf("  kind        %s\n", d["kind"].get<std::string>().c_str());
    // The lists are a request; say which parts the city config can never grant, or grants
    // only to an instance bound to a recipient, so the operator reviews them before enabling.
    std::printf("  publishes   %s   (requested)\n", join(d["publishes"]).c_str());
    std::printf("  subscribes  %s   (requested)\n", join(d["subscribes"]).c_str());
    nlohmann::json engine_only = nlohmann::json::array(), addressed = nlohmann::json::array();
    for (const auto& t : d["publishes"])
      if (host::pattern_inside_engine_only(t.get<std::string>())) engine_only.push_back(t);
    for (const auto& t : d["subscribes"])
      if (host::pattern_inside_recipient_addressed(t.get<std::string>())) addressed.push_back(t);
    if (!engine_only.empty())
      std::printf("  never granted    %s (published only by the scenario engine)\n", join(engine_only).c_str());
    if (!addressed.empty())
      std::printf("  needs recipient  %s (agency traffic: granted only with `recipient:` in the city config)\n",
                  join(addressed).c_str());
    std::printf("  extensions  %s\n", join(d["extensions"]).c_str());
    if (!d["description"].get<std::string>().empty())
      std::printf("  description %s\n", d["description"].get<std::string>().c_str());
    std::printf("  config      %s\n", d["config_schema"].is_null() ? "(no schema)" : d["config_schema"].dump().c_str());
  }
  return kOk;
}

}  // namespace citylink::cli
