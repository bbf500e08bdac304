// The audit store: an append-only, hash-chained audit log in SQLite (WAL).
//
// Every citylink.v1.AuditRecord the scenario engine produces (video grant state changes,
// deliveries of personal data) is appended here. Each stored record carries
// previous_hash (the hash of the record before it) and hash:
//
//   hash = hex(SHA-256( previous_hash || seq || record ))
//     previous_hash  the 64 lowercase hex characters, as ASCII
//     seq            the record's sequence number, 8 bytes big-endian
//     record         the serialized AuditRecord with previous_hash set and hash cleared;
//                    exactly these bytes are stored in the `record` column
//
// The first record follows 64 '0' characters (kGenesisHash). Retention purges the oldest
// records and leaves a checkpoint {purged_up_to_seq, head_hash, time} signed with an
// ed25519 key, from which verification continues. See docs/audit.md.
//
// Thread-safety: every member may be called from any thread (one mutex per store).
// Several processes may open the same file: writers serialise on SQLite's write lock.
#pragma once

#include <citylink/v1/audit.pb.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citylink::host {

// The store cannot be opened, read or written. The message names the file, what failed
// and how to fix it (disk full, read-only file or directory, not an audit log, ...).
class AuditError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What verification found wrong, if anything.
enum class AuditProblem {
  none,
  edited,      // a record's content, columns or hash were changed
  deleted,     // records are missing from the chain
  inserted,    // a record that is not part of the chain was added
  reordered,   // records were moved to other positions (sequence numbers)
  checkpoint,  // the retention checkpoint was altered or its signature does not verify
  unreadable,  // a row or checkpoint cannot be read at all (bad hex, NULLs, ...)
};
const char* to_string(AuditProblem);

struct AuditVerifyResult {
  bool ok = true;
  uint64_t records_checked = 0;  // rows examined before the first problem (all rows when ok)
  int64_t first_bad_seq = 0;     // the record the problem is about; 0 when ok
  AuditProblem kind = AuditProblem::none;
  std::string problem;           // e.g. "record 17 was edited: its hash does not match its content"

  // The anchor the chain was verified from: 0 = the start of the log, else the latest
  // checkpoint (records up to and including this seq were purged).
  int64_t checkpoint_seq = 0;
  bool checkpoint_signature_checked = false;  // true only when a public key was given and it verified
  // The last record verified (seq 0 / the anchor's hash when the log holds no records).
  int64_t head_seq = 0;
  std::string head_hash;
};

// One record as stored: its sequence number and the record with previous_hash and hash set.
struct StoredAuditRecord {
  int64_t seq = 0;
  citylink::v1::AuditRecord record;
};

struct AuditQuery {
  std::optional<int64_t> from_ns;  // time_unix_ns >= from_ns
  std::optional<int64_t> to_ns;    // time_unix_ns <  to_ns
  std::string incident_id;         // empty: any
  std::string recipient;           // empty: any
  std::size_t limit = 0;           // 0: no limit
};

// A retention checkpoint: the records up to purged_up_to_seq were deleted; head_hash is
// the hash of record purged_up_to_seq, so the record after it must name it as previous.
struct AuditCheckpoint {
  int64_t purged_up_to_seq = 0;
  std::string head_hash;
  int64_t time_unix_ns = 0;      // when the purge ran
  uint64_t records_purged = 0;   // by this purge
  std::string public_key_hex;    // informational only: verification uses the key the caller gives
  std::string signature_hex;     // ed25519 over checkpoint_message(...)
};

struct AuditPurgeResult {
  uint64_t records_purged = 0;               // 0: nothing was old enough; no checkpoint written
  std::optional<AuditCheckpoint> checkpoint;  // the checkpoint written, when records were purged
};

// A libsodium ed25519 key pair, hex: secret 128 characters (64 bytes: seed || public key),
// public 64 characters (32 bytes).
struct AuditSigningKey {
  std::string public_key_hex;
  std::string secret_key_hex;
};

// purge_before() refused because the log does not verify (it will not sign a checkpoint
// over a tampered chain). result says what is wrong.
class AuditChainBroken : public AuditError {
 public:
  AuditChainBroken(const std::string& what, AuditVerifyResult r) : AuditError(what), result(std::move(r)) {}
  AuditVerifyResult result;
};

class AuditStore {
 public:
  enum class OpenMode {
    create,     // read-write; creates the file and the schema when missing (the host)
    existing,   // read-write; the file must exist and be an audit log (purge)
    read_only,  // the file must exist and be an audit log; nothing is written (verify, export)
  };

  // Opens (and in create mode creates) the log. Sets PRAGMA journal_mode=WAL and
  // synchronous=FULL. Throws AuditError naming the file and the fix.
  explicit AuditStore(const std::filesystem::path& path, OpenMode mode = OpenMode::create);
  ~AuditStore();
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  const std::filesystem::path& path() const;

  // Appends one record in one transaction and returns it as stored: previous_hash and
  // hash are overwritten, a time_unix_ns of 0 becomes now. Durable on return
  // (synchronous=FULL: one fsync per append). Throws AuditError on failure; nothing is
  // stored then.
  StoredAuditRecord append(citylink::v1::AuditRecord record);

  // Checks the whole chain from the latest checkpoint (or the start) to the last record:
  // every record's hash against its content and sequence number, every link, the
  // sequence without gaps, and the end against the highest sequence number ever issued.
  // With a public key (hex), every checkpoint's signature is checked too; without one
  // the checkpoint is trusted as an anchor (checkpoint_signature_checked stays false).
  // Reports the first problem found. Throws AuditError only when the file cannot be read
  // or the key is not 64 hex characters.
  AuditVerifyResult verify(const std::optional<std::string>& public_key_hex = std::nullopt) const;

  // Records matching the query, in sequence order, read from the stored (hashed) content.
  std::vector<StoredAuditRecord> query(const AuditQuery& q) const;

  // Inspector exports of the records with from <= time < to (either bound optional), in
  // sequence order. CSV: RFC 4180 (header row, CRLF, fields quoted when they hold a
  // comma, quote, CR or LF; lists joined with ';'). JSON: one object with the bounds and
  // a "records" array. Both return the number of records written.
  std::size_t export_csv(std::ostream& out, std::optional<int64_t> from_ns, std::optional<int64_t> to_ns) const;
  std::size_t export_json(std::ostream& out, std::optional<int64_t> from_ns, std::optional<int64_t> to_ns) const;

  // Retention: deletes the oldest records whose time_unix_ns < time_ns (the longest
  // prefix of the chain that is that old: a newer record stops the purge) and, in the
  // same transaction, writes a checkpoint signed with secret_key_hex. Verifies the log
  // first (with the key's public half) and throws AuditChainBroken instead of purging
  // when it does not verify, or when the latest checkpoint was signed by another key.
  AuditPurgeResult purge_before(int64_t time_ns, const std::string& secret_key_hex);

  // The latest checkpoint, if any purge ran.
  std::optional<AuditCheckpoint> latest_checkpoint() const;

  // ---- helpers (also used by the tests and the command line) ----

  // 64 '0' characters: what the first record of a log follows.
  static const std::string& genesis_hash();
  // hex(SHA-256(previous_hash || seq as 8 bytes big-endian || record_bytes)).
  static std::string compute_hash(std::string_view previous_hash, int64_t seq, std::string_view record_bytes);
  // The bytes a checkpoint signature covers:
  // "citylink-audit-checkpoint-v1" || seq (8 bytes BE) || head_hash (64 ASCII) || time (8 bytes BE).
  static std::string checkpoint_message(int64_t purged_up_to_seq, std::string_view head_hash, int64_t time_unix_ns);
  // A fresh ed25519 key pair (libsodium crypto_sign_keypair), hex.
  static AuditSigningKey generate_signing_key();
  // The public half of a secret key; throws AuditError if it is not 128 hex characters.
  static std::string public_key_of(const std::string& secret_key_hex);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citylink::host
