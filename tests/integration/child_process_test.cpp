// H3 of the review: the child-process wait used by run, inspect, verify and the probe. Its
// deadline must hold whatever the child does with its pipes. Real processes via /bin/sh.
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <string>

using citylink::host::run_child;

namespace {

bool process_alive(const std::string& pid_text) {
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  if (kill(pid, 0) != 0) return false;
  // A zombie is dead for our purposes.
  std::ifstream stat("/proc/" + pid_text + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

}  // namespace

// A vendor SDK that redirects its output and then waits for a device: the pipes close, the
// child hangs. The wait used to have no limit once the pipes were closed.
TEST(ChildProcess, AChildThatClosesItsPipesAndHangsIsKilledAtTheDeadline) {
  const auto r = run_child({"/bin/sh", "-c", "exec >&- 2>&-; sleep 60"}, std::chrono::milliseconds(500));
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
}

// A child that exits while a grandchild holds its pipes is reported as it exited, and the
// grandchild does not survive it.
TEST(ChildProcess, AGrandchildHoldingThePipesNeitherDelaysTheResultNorSurvives) {
  const auto r = run_child({"/bin/sh", "-c", "sleep 60 & echo $!; exit 3"}, std::chrono::seconds(30));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  ASSERT_FALSE(r.out.empty());
  const std::string grandchild = r.out.substr(0, r.out.find('\n'));
  // SIGKILL is delivered when the process is next scheduled, not within kill() itself.
  EXPECT_TRUE(citylink::test::eventually([&] { return !process_alive(grandchild); }))
      << "grandchild " << grandchild << " survived";
}

TEST(ChildProcess, OutputIsCappedAndTheChildStillFinishes) {
  const auto r = run_child({"/bin/sh", "-c", "head -c 5000000 /dev/zero | tr '\\\\0' x; exit 0"}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LE(r.out.size(), citylink::host::kMaxChildOutput + 100);
  EXPECT_NE(r.out.find("[output truncated at"), std::string::npos);
}

// L2 of the review: the host's descriptors (sockets, plugin files, the audit log) do not
// leak into children; stdin is /dev/null.
TEST(ChildProcess, TheChildInheritsNoDescriptorButItsOutputPipes) {
  const auto r = run_child({"/bin/sh", "-c", "ls /proc/self/fd"}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 0, 1, 2 and the descriptor ls opens to read the folder.
  std::size_t lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_LE(lines, 4u) << r.out;
}

// A child that exited while a grandchild keeps writing to the pipes is reported as exited,
// with what it wrote, not as hung at the deadline.
TEST(ChildProcess, AChildThatExitedIsNotHungBecauseAGrandchildKeepsWriting) {
  const auto r = run_child({"/bin/sh", "-c", "echo started; (while true; do echo x; sleep 0.05; done) & exit 4"},
                           std::chrono::seconds(30));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out.rfind("started\n", 0), 0u) << r.out;
}

// Review L3: a plugin in this process that sets SIGCHLD to SIG_IGN makes the system reap our
// children. A child that failed must not then read as an exit 0, nor wait out the deadline
// as a hung one: its status is reported as unknown, at once, and the reason is named.
TEST(ChildProcess, WithSigchldIgnoredAnEndedChildIsNeitherASuccessNorHung) {
  const auto previous = std::signal(SIGCHLD, SIG_IGN);
  const auto failed = run_child({"/bin/sh", "-c", "echo partial; exit 3"}, std::chrono::seconds(30));
  const auto fine = run_child({"/bin/true"}, std::chrono::seconds(30));
  std::signal(SIGCHLD, previous);
  for (const auto& r : {failed, fine}) {
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.status_lost);
    EXPECT_FALSE(r.timed_out) << "waited out the deadline";
    EXPECT_NE(citylink::host::describe(r, std::chrono::seconds(30)).find("SIGCHLD is ignored in this process"),
              std::string::npos);
  }
  EXPECT_EQ(failed.out, "partial\n");
}
