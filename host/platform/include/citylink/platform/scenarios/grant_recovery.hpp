// What a host that stopped without revoking (a crash, a kill) left live at the agencies,
// read back from the audit log so the next start can revoke it openly.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/host/audit_store.hpp>
#include <citylink/v1/audit.pb.h>

#include <cstdint>
#include <vector>

namespace citylink::platform::scenarios {

// Grants the audit log shows as issued or renewed, still valid at `now_ns`, and never
// revoked or expired afterwards: the last issue/renew record of each, in log order.
// Grant lifetimes are capped at 7 days (max_grant_minutes), so older records are not read.
std::vector<citylink::v1::AuditRecord> grants_left_alive(const AuditStore& store, int64_t now_ns);

}  // namespace citylink::platform::scenarios
