// The management API's JSON shapes of the runtime's objects (the platform's are in
// host/platform/src/api/views.hpp): one function per object the operator sees. What an
// operator does not need is left out on purpose (incident content and items, personal data,
// stream URIs, which may carry camera credentials); see docs/api.md.
#pragma once

#include <citylink/host/audit_store.hpp>
#include <citylink/host/host.hpp>

#include <nlohmann/json.hpp>

namespace citylink::host::http {

nlohmann::json counters_json(const CounterSnapshot& c);
nlohmann::json instance_json(const InstanceReport& r);
nlohmann::json audit_json(const StoredAuditRecord& r);
nlohmann::json verify_json(const AuditVerifyResult& r);

}  // namespace citylink::host::http
