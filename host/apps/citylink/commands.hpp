// The subcommands of the `citylink` command line; each returns the process exit code.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace citylink::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_inspect(const Args& args);
int cmd_verify(const Args& args);
int cmd_version(const Args& args);

// Loads a plugin file in a `citylink __probe` child and returns its descriptors as JSON
// ({"file", "abi", "plugins"}). Throws std::runtime_error with a message naming the file
// when the child crashes, hangs, or the library cannot be loaded.
nlohmann::json probe_in_child(const std::string& file, std::chrono::milliseconds timeout);

// Hidden: the child-process halves of inspect and verify.
int cmd_probe(const Args& args);
int cmd_verify_check(const Args& args);

// Exit codes.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // the command ran and found a problem (a check failed)
inline constexpr int kUsage = 2;   // bad arguments, unreadable config or plugin file
// run: the city ran, but without some of what its config enabled (an instance that did not
// start, or failed while running), so a supervisor or a smoke test does not take it for a
// success (review L5). 4, not 3: agency-sim's 3 means "told to die".
inline constexpr int kDegraded = 4;

// `citylink audit verify|export|purge|keygen`: the tamper-evident audit log (docs/audit.md).
// verify: kOk when the chain verifies, kFailed when tampering was found (the problem is
// printed); unusable input (no such file, not an audit log, bad key) throws -> kUsage.
int cmd_audit_verify(const Args& args);
int cmd_audit_export(const Args& args);
// `citylink audit transparency DB --month YYYY-MM`: the public monthly report as JSON.
int cmd_audit_transparency(const Args& args);
int cmd_audit_purge(const Args& args);
int cmd_audit_keygen(const Args& args);

// `citylink new-plugin NAME --kind KIND [--lang cpp|c] [--dir D]`: writes a plugin project
// (CMakeLists.txt, src/NAME.cpp or .c, README.md, test/smoke.sh) into D (default ./NAME)
// that builds against the installed SDK and passes `plugin verify`. A bad name, kind or
// language, or an existing non-empty D, throws -> kUsage.
int cmd_new_plugin(const Args& args);

// Packages (docs/packages.md). package: a vendor's library into a package folder, with a
// manifest and, given a key, a signature. install: checks a package (hash, signature with
// --vendor-key, the plugins it really provides) and installs it; any mismatch throws.
// keygen: an ed25519 (--sign) or CURVE (--curve) key pair; the secret goes to a new 0600 file.
int cmd_package(const Args& args);
int cmd_install(const Args& args);
int cmd_keygen(const Args& args);

// `citylink agency-sim`: a receiving agency for the agency-link plugin (docs/delivery.md).
// Runs until SIGINT/SIGTERM (or --for); exits 3 when told to die (--die-after).
int cmd_agency_sim(const Args& args);

}  // namespace citylink::cli
