// The subcommands of the `citylink` command line; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace citylink::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_inspect(const Args& args);
int cmd_verify(const Args& args);
int cmd_version(const Args& args);

// Hidden: the child-process halves of inspect and verify.
int cmd_probe(const Args& args);
int cmd_verify_check(const Args& args);

// Exit codes.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // the command ran and found a problem (a check failed)
inline constexpr int kUsage = 2;   // bad arguments, unreadable config or plugin file

}  // namespace citylink::cli
