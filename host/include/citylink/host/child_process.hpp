// Running a command as a child process with a time limit, capturing what it prints.
// Used wherever plugin code must run where a crash cannot take the caller down.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace citylink::host {

struct ChildResult {
  int exit_code = -1;      // when it exited normally
  int signal = 0;          // when a signal killed it
  bool timed_out = false;  // killed by us after the time limit
  bool status_lost = false;  // reaped by the system (SIGCHLD ignored here): how it ended is unknown
  std::string out;         // stdout
  std::string err;         // stderr
  bool ok() const { return !timed_out && !status_lost && signal == 0 && exit_code == 0; }
};

// Runs argv[0] with argv in a process group of its own, with stdin from /dev/null and no
// descriptor of ours but the two output pipes. The deadline holds whatever the child does
// with its pipes: at `timeout` the whole group is killed (SIGKILL), and when the child exits
// the group is killed too, so a grandchild holding the pipes never keeps us waiting nor
// survives as an orphan. Each stream keeps at most kMaxChildOutput bytes. `env`: exactly
// that environment (null: ours). Throws std::runtime_error only when the child cannot be
// started at all.
inline constexpr std::size_t kMaxChildOutput = 1 << 20;
ChildResult run_child(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::vector<std::string>* env = nullptr);
// The environment plugin code gets in a child (a worker, a scanner): nothing of the host's
// (keys, tokens, library paths).
const std::vector<std::string>& plugin_environment();

// Starts argv[0] with argv and exactly `env` as its environment, in a process group of its
// own, stdin from /dev/null, stdout and stderr shared with ours (so a crash report reaches
// the host's log) and no other descriptor of ours. Returns its pid; the caller reaps it.
// Throws std::runtime_error when it cannot be started.
int spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env);

// "exited with status 3", "crashed: killed by signal 11 (SIGSEGV)", "hung: no exit within 10 s".
std::string describe(const ChildResult& r, std::chrono::milliseconds timeout);

// The path of the running executable (for re-running ourselves as a child).
std::string self_executable();

}  // namespace citylink::host
