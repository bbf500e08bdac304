// `citylink worker`: the process an isolated plugin runs in (isolation: process). It loads
// the plugin file the host checked, creates the instance with the one host table, and
// turns each worker-protocol request into the ABI call and each host-table call into a
// message back (sdk/proto/citylink/worker/v1/worker.proto).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citylink::host {

// The worker protocol's version (Hello.protocol); both sides are built from one release.
inline constexpr unsigned kWorkerProtocol = 1;

// args: --endpoint ipc://DIR --plugin FILE --sha256 HEX --instance NAME --parent PID
//       [--memory-mb N] [--open-files N] [--cpu-seconds N]
// Returns the process exit code: 0 after destroy, 2 on bad arguments, 3 when the host went away.
int run_worker(const std::vector<std::string>& args);

}  // namespace citylink::host
