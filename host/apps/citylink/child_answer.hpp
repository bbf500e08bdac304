// How a child of `citylink` (the probe, a verify check) answers its parent: on the stdout it
// was started with. Plugin code runs in the same process, so from answer_on_own_stdout() on
// the process's fd 1 is its stderr: a plugin that prints a verdict and exits does not pass a
// check it never ran (review L1). Plugin code that hunts for the descriptor on purpose is
// out of reach of any in-process scheme; verify is a conformance aid, not a certification.
#pragma once

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace citylink::cli {

namespace detail {
inline int& answer_fd() {
  static int fd = STDOUT_FILENO;
  return fd;
}
}  // namespace detail

// Call before any plugin code runs: moves the answer channel off fd 1.
inline void answer_on_own_stdout() {
  std::fflush(stdout);
  const int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return;  // then the answer stays on fd 1, as before
  if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    close(fd);
    return;
  }
  detail::answer_fd() = fd;
}

// Writes one line to the parent.
inline void answer(const std::string& text) {
  std::fflush(stdout);
  const std::string line = text + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(detail::answer_fd(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace citylink::cli
