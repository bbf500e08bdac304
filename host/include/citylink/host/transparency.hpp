// The public transparency report: per month, what video and personal data the city shared,
// for which purpose, on which legal basis, with whom, and for how long; computed from the
// audit log and holding no personal data, no camera ids and no incident numbers.
#pragma once

#include <citylink/host/audit_store.hpp>

#include <nlohmann/json.hpp>
#include <string>

namespace citylink::host {

// "2026-11" -> [first instant of the month, first instant of the next), UTC, in ns since
// the epoch. Throws std::invalid_argument naming the expected form.
std::pair<int64_t, int64_t> month_range(const std::string& month);

// The report for `month` ("YYYY-MM"). A grant issued in the month counts there; how it ended
// (revoked, expired, still live) is read from the records after it. See docs/transparency.md.
nlohmann::json transparency_report(const AuditStore& log, const std::string& month);

}  // namespace citylink::host
