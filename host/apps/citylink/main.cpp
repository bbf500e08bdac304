// `citylink`: run a city, inspect and verify plugins, verify and export the audit log.
#include "commands.hpp"

#include <citylink/host/logging.hpp>
#include <citylink/host/worker.hpp>

#include <csignal>
#include <cstdio>
#include <exception>

namespace {

constexpr const char* kUsageText = R"(usage: citylink <command> [options]

commands:
  run --config FILE [--for SECONDS] [--metrics FILE] [--strict-config] [--safe-mode]
                              run the city described by FILE (until Ctrl-C, or for SECONDS);
                              --safe-mode starts only plugins marked `trusted: true`;
                              exit 4: it ran degraded (an instance did not start or failed)
  plugin inspect FILE [--json]
                              print a plugin library's descriptors without starting it
  plugin verify FILE [--config JSON] [--timeout SECONDS] [--check NAME] [--json]
                              run a plugin through its lifecycle and bad input, in child processes
  plugin package FILE --out DIR [--sign-key-file FILE]
                              make a plugin package: the library, its manifest, a vendor signature
  plugin install PACKAGE --into DIR [--vendor-key HEX]
                              check a package (hash, signature, plugins) and install it
  keygen --sign|--curve --secret-key-file FILE
                              make a package-signing (ed25519) or CURVE key pair (prints the public key)
  new-plugin NAME --kind camera|analytics|sensor|wearable|bridge|sink [--lang cpp|c] [--dir D]
                              write a plugin project that builds against the installed SDK (default dir: ./NAME)
  audit verify DB [--public-key HEX] [--json]
                              check the audit log's hash chain (exit 1: tampered, the problem printed)
  audit export DB --format csv|json [--from TIME] [--to TIME] [--out FILE]
                              export records for an inspector (TIME: ISO 8601 with a zone, unix ns, or 30d)
  audit transparency DB --month YYYY-MM
                              the month's public transparency report (counts only, no personal data)
  audit purge DB --before TIME --secret-key-file FILE
                              delete old records, leaving a signed checkpoint
  audit keygen --secret-key-file FILE
                              make the checkpoint signing key (prints the public key)
  agency-sim --bind ENDPOINT --secret-key-file FILE --allow-key PUBLIC [--out FILE] [--slow-ms N]
             [--drop-every N] [--die-after N]
                              a receiving agency for agency-link (demos, tests): acks, de-duplicates
  version                     print the host and ABI versions
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace citylink::cli;
  // A plugin writing to a socket its peer closed, or `citylink run | head`, must not kill
  // the host with SIGPIPE (M2): the write fails with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsageText, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  const std::string cmd = args[0];
  Args rest(args.begin() + 1, args.end());
  try {
    if (cmd == "run") return cmd_run(rest);
    if (cmd == "version" || cmd == "--version") return cmd_version(rest);
    if (cmd == "new-plugin") return cmd_new_plugin(rest);
    if (cmd == "keygen") return cmd_keygen(rest);
    if (cmd == "agency-sim") return cmd_agency_sim(rest);
    if (cmd == "plugin" && !rest.empty()) {
      const std::string sub = rest[0];
      Args subargs(rest.begin() + 1, rest.end());
      if (sub == "inspect") return cmd_inspect(subargs);
      if (sub == "verify") return cmd_verify(subargs);
      if (sub == "package") return cmd_package(subargs);
      if (sub == "install") return cmd_install(subargs);
    }
    if (cmd == "audit" && !rest.empty()) {
      const std::string sub = rest[0];
      Args subargs(rest.begin() + 1, rest.end());
      if (sub == "verify") return cmd_audit_verify(subargs);
      if (sub == "export") return cmd_audit_export(subargs);
      if (sub == "transparency") return cmd_audit_transparency(subargs);
      if (sub == "purge") return cmd_audit_purge(subargs);
      if (sub == "keygen") return cmd_audit_keygen(subargs);
    }
    if (cmd == "__probe") return cmd_probe(rest);
    if (cmd == "worker") return citylink::host::run_worker(rest);
    if (cmd == "__verify-check") return cmd_verify_check(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "citylink %s: %s\n", cmd.c_str(), e.what());
    return kUsage;
  }
  std::fprintf(stderr, "citylink: unknown command '%s'\n\n%s", cmd.c_str(), kUsageText);
  return kUsage;
}
