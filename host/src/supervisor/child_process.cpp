// Child processes via posix_spawn, with pipes, a poll loop and a deadline that holds (H3 of
// the review: once the child closed its pipes, the wait had no limit).
#include <citylink/host/child_process.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace citylink::host {
namespace {

// Kills the child's whole process group and reaps the child, on every way out of run_child.
// The group is killed before the child is reaped, so its id cannot have been reused.
struct Reaper {
  pid_t pid;
  bool reaped = false;
  bool status_known = false;  // false when the system reaped it for us (SIGCHLD ignored)
  int status = 0;
  ~Reaper() { reap(); }
  // True once the child has exited; leaves it unreaped (a zombie keeps its group id). With
  // SIGCHLD ignored in this process (a plugin in it may have done that) the system reaps it
  // and waitid says ECHILD: it is gone, and its status with it (review L3).
  bool exited() const {
    siginfo_t info{};
    int rc;
    while ((rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT)) < 0 && errno == EINTR) {
    }
    return info.si_pid == pid || (rc < 0 && errno == ECHILD);
  }
  void reap() {
    if (reaped) return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);  // in case it left its group (setpgid), so the wait below cannot block forever
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    status_known = got == pid;
    reaped = true;
  }
};

void append_capped(std::string& to, const char* data, std::size_t n, bool& truncated) {
  const std::size_t room = kMaxChildOutput > to.size() ? kMaxChildOutput - to.size() : 0;
  to.append(data, std::min(n, room));
  if (n > room && !truncated) {
    truncated = true;
    to += "\n[output truncated at " + std::to_string(kMaxChildOutput) + " bytes]\n";
  }
}

// Every child in its own process group, so a kill reaches its children too, and with no
// signal blocked: the host's threads block SIGINT and SIGTERM (review M1), and a mask
// survives exec, so a worker spawned from one of them would otherwise never see a SIGTERM.
void init_child_attributes(posix_spawnattr_t& attr) {
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
}

}  // namespace

int spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  if (argv.empty()) throw std::runtime_error("spawn_process: empty command");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start '" + argv[0] + "': " + std::strerror(rc));
  return pid;
}

ChildResult run_child(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::vector<std::string>* env) {
  if (argv.empty()) throw std::runtime_error("run_child: empty command");
  std::vector<char*> envp;
  if (env) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("run_child: pipe failed: ") + std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error(std::string("run_child: pipe failed: ") + std::strerror(errno));
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  // L2 of the review: nothing of the host's (sockets, plugin files, the audit log) leaks in.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  init_child_attributes(attr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot start '" + argv[0] + "': " + std::strerror(rc));
  }

  ChildResult r;
  Reaper reaper{pid};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  bool truncated[2] = {false, false};
  char buf[4096];
  auto close_pipes = [&] {
    for (auto& f : fds)
      if (f.fd >= 0) {
        close(f.fd);
        f.fd = -1;
      }
  };
  // Reads what is ready on the pipes, waiting up to `wait_ms`; returns poll's count.
  auto read_ready = [&](int wait_ms) {
    const int n = poll(fds, 2, wait_ms);
    for (int i = 0; n > 0 && i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        append_capped(i == 0 ? r.out : r.err, buf, static_cast<std::size_t>(got), truncated[i]);
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    return n;
  };
  auto pipes_open = [&] { return fds[0].fd >= 0 || fds[1].fd >= 0; };
  try {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        r.timed_out = true;
        break;
      }
      // While the pipes are open, wake now and then to notice a child that exited while a
      // grandchild holds them; once they are closed, wait for the exit in short steps.
      const int wait_ms = static_cast<int>(std::min<long long>(left.count(), pipes_open() ? 200 : 10));
      if (!pipes_open()) {
        if (reaper.exited()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        continue;
      }
      if (read_ready(wait_ms) < 0 && errno != EINTR) break;
      // Checked on every pass, not only when the pipes are quiet: a grandchild that keeps
      // writing must not make a child that exited look hung. What the child wrote before it
      // exited is still read, for a bounded time.
      if (reaper.exited()) {
        const auto drain_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        while (pipes_open() && std::chrono::steady_clock::now() < drain_until && read_ready(0) > 0) {
        }
        break;  // whatever still holds the pipes goes with the group
      }
    }
  } catch (...) {
    close_pipes();
    throw;  // the reaper kills and reaps
  }
  close_pipes();
  // The child's group goes in every case: after a timeout the child too, after an exit the
  // grandchildren it left behind.
  reaper.reap();
  if (!reaper.status_known) {
    r.status_lost = true;  // never read as an exit 0
    return r;
  }
  const int status = reaper.status;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status) && !r.timed_out) r.signal = WTERMSIG(status);
  return r;
}

std::string describe(const ChildResult& r, std::chrono::milliseconds timeout) {
  if (r.status_lost)
    return "ended with an unknown status: SIGCHLD is ignored in this process, so the system reaped it (a plugin "
           "loaded here may have set that; restart the host)";
  if (r.timed_out) return "hung: no exit within " + std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s";
  if (r.signal) {
    const char* name = sigabbrev_np(r.signal);
    return "crashed: killed by signal " + std::to_string(r.signal) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited with status " + std::to_string(r.exit_code);
}

const std::vector<std::string>& plugin_environment() {
  static const std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
  return env;
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace citylink::host
