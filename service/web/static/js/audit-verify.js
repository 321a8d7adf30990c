/**
 * The DPO's own check of the audit log, in the browser (or in Node >= 20): the hash chain and the
 * Ed25519 checkpoint signatures, recomputed from the entries and checkpoints alone, so that the
 * DPO need not trust the server that wrote the log (and that also says whether it verifies).
 *
 * The format is the docstring of crypto/audit.py, reproduced byte for byte:
 *
 *   length_prefixed(f1, f2, ...) = for each field: its length as 4 bytes big-endian, its bytes
 *   hash(n) = SHA-256(length_prefixed("safesignal/audit-entry", 0x01, hash(n-1), seq (8 bytes BE),
 *                                     at, kind, actor, detail))
 *   checkpoint message = length_prefixed("safesignal/audit-checkpoint", 0x01, seq (8 bytes BE),
 *                                        hash(seq), at), signed with Ed25519 (RFC 8032)
 *
 * Text is UTF-8. `at` and `detail` are hashed exactly as the API serves them: `at` is already the
 * signed form (YYYY-MM-DDTHH:MM:SS.ffffffZ) and `detail` is served as the canonical JSON *text*
 * (sorted keys, no spaces, non-ASCII as \uXXXX escapes), so nothing here re-serialises JSON: a
 * detail is only parsed to read an audit.pruned entry's fields. hash(0) is 32 zero bytes, or, in a
 * pruned log, the hash of the entry before the first one kept (served as that entry's prev_hash).
 *
 * A pruned log (service/audit/log.py, `prune`) starts at its anchor, entry base+1, which a
 * checkpoint signs; an audit.pruned entry after it names the anchor's hash, `through_seq` = base,
 * the cutoff and the period. Checkpoints before the anchor are deleted by the prune, so a saved
 * checkpoint below the start can no longer be compared: it is reported as pruned, not as tampering,
 * provided the served start is anchored and its prune recorded (and a saved checkpoint at exactly
 * `base` must equal the served base hash).
 *
 * What this cannot check: the entries' and the head's MACs (HMAC under a key only the service
 * holds). Every result says so (`macChecked: false` and a note).
 *
 * WebCrypto only: SHA-256 with crypto.subtle.digest, Ed25519 with importKey('raw') and verify
 * (Chromium >= 137, Firefox >= 129, Safari >= 17, Node 20). Where either is missing (an old
 * browser, or a page not served over HTTPS, where crypto.subtle does not exist) the result says so
 * (check "unsupported") instead of throwing. Functions never throw on bad input: malformed data
 * is a problem in the result.
 *
 * Results (both functions):
 *   { ok, supported, macChecked: false, entriesChecked, firstSeq, lastSeq, checkpointsChecked,
 *     lastCheckpoint, unsignedEntries, keyId, base: {seq, hash}, problem, problems, notes, ... }
 * `problem` is the first problem (lowest entry; problems about the input or the browser as a
 * whole, with seq null, come first) as {seq, check, message}; `problems` lists them all in that
 * order. `check` is a stable code a page can translate (CHECKS); `message` is English.
 * `checkpoints` (verifyLog) and `saved` (verifySavedCheckpoints) give each checkpoint's
 * {seq, at, status}: "matched", "base" (equals the served base hash of a pruned log), "pruned"
 * (before the log's start: signature checked, entry gone), or the check code of its problem.
 * `checkpointsChecked` counts those matched (and, for saved ones, "base").
 */

const ENTRY_DOMAIN = "safesignal/audit-entry";
const CHECKPOINT_DOMAIN = "safesignal/audit-checkpoint";
const PRUNED = "audit.pruned";
const VERSION = Uint8Array.of(1);
const HASH_HEX = /^[0-9a-f]{64}$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;
const AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
// Python's datetime.isoformat() of an aware time, as a prune writes its cutoff.
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:(Z)|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const CLOCK_SKEW_US = 5n * 60n * 1000000n; // as service/audit/log.py's CLOCK_SKEW
const DAY_US = 86400n * 1000000n;
const encoder = new TextEncoder();

/** The English text of each check code; a page may show its own translation instead. */
export const CHECKS = Object.freeze({
  "unsupported": "this browser cannot verify Ed25519 signatures (or has no WebCrypto: is the page served over HTTPS?)",
  "malformed": "the data is not in the audit log's format",
  "public-key": "the public key is not a 32-byte Ed25519 key in hex",
  "key-changed": "the saved checkpoints name another public key than the one given",
  "entry-missing": "an entry is missing (removed, or the entries are out of order)",
  "entry-order": "an entry is out of order or repeated",
  "entry-link": "an entry does not follow the entry before it (removed or reordered)",
  "entry-hash": "an entry was altered: its content does not match its hash",
  "entry-time": "an entry's time is before the previous entry's, or in the future",
  "checkpoint-key": "a checkpoint was signed by another key",
  "checkpoint-signature": "a checkpoint's signature does not verify",
  "checkpoint-mismatch": "a signed checkpoint does not match the hash recomputed at its entry",
  "checkpoint-beyond": "a signed checkpoint covers an entry past the end of the log: entries were removed",
  "start-unanchored": "the start of the pruned log is not anchored by a signed checkpoint",
  "start-unrecorded": "the log starts after entry 1 but no audit.pruned entry records the prune",
  "prune-invalid": "an audit.pruned entry does not justify the log's start",
});

const MAC_NOTE = "the entries' MACs cannot be checked here (only the service holds the MAC key): "
  + "this check rests on the hash chain and the signed checkpoints";

// --- bytes ----------------------------------------------------------------------------------------

/** Bytes from lower-case hex, or null if `hex` is not hex of that many bytes. */
export function hexToBytes(hex, length) {
  if (typeof hex !== "string" || hex.length !== length * 2 || !/^[0-9a-f]*$/.test(hex)) return null;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Lower-case hex of bytes. */
export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** crypto/_encoding.py's length_prefixed: each field's length (4 bytes big-endian), then the field. */
export function lengthPrefixed(...fields) {
  const parts = fields.map((field) => (typeof field === "string" ? encoder.encode(field) : field));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length, false);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

function seqBytes(seq) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(seq), false);
  return out;
}

function isSeq(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

function equalBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function subtleOf(options) {
  if (options && options.subtle) return options.subtle;
  return globalThis.crypto && globalThis.crypto.subtle ? globalThis.crypto.subtle : null;
}

async function sha256(subtle, bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// --- time -----------------------------------------------------------------------------------------

function microseconds(year, month, day, hour, minute, second, fraction) {
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  return BigInt(ms) * 1000n + BigInt((fraction || "").padEnd(6, "0"));
}

/** Microseconds since 1970 of a served time (YYYY-MM-DDTHH:MM:SS.ffffffZ), or null. */
export function parseAt(at) {
  const m = typeof at === "string" ? AT.exec(at) : null;
  return m ? microseconds(...m.slice(1, 8)) : null;
}

// Microseconds of a Python isoformat() time; "naive" without a zone; null if unreadable.
function parseIso(text) {
  const m = typeof text === "string" ? ISO.exec(text) : null;
  if (!m) return null;
  if (!m[8] && !m[9]) return "naive";
  let value = microseconds(...m.slice(1, 8));
  if (m[9]) {
    const offset = (BigInt(m[10]) * 3600n + BigInt(m[11]) * 60n + BigInt(m[12] || "0")) * 1000000n;
    value = m[9] === "+" ? value - offset : value + offset;
  }
  return value;
}

// --- the format -----------------------------------------------------------------------------------

async function entryHashBytes(subtle, prevHash, entry) {
  return sha256(subtle, lengthPrefixed(
    ENTRY_DOMAIN, VERSION, prevHash, seqBytes(entry.seq), entry.at, entry.kind, entry.actor, entry.detail,
  ));
}

/** The hash (hex) of a served entry after the entry whose hash is `prevHash` (hex); null if it cannot be computed. */
export async function entryHash(prevHash, entry, options = {}) {
  const subtle = subtleOf(options);
  const prev = hexToBytes(prevHash, 32);
  if (!subtle || !prev || entryProblem({ ...entry, prev_hash: prevHash, hash: prevHash })) return null;
  return bytesToHex(await entryHashBytes(subtle, prev, entry));
}

/** The bytes a checkpoint's signature covers. */
export function checkpointMessage(seq, hash, at) {
  return lengthPrefixed(CHECKPOINT_DOMAIN, VERSION, seqBytes(seq), hash, at);
}

/** crypto.audit.public_key_id: the first 8 bytes of the key's SHA-256, in hex. */
export async function publicKeyId(publicKeyHex, options = {}) {
  const key = hexToBytes(publicKeyHex, 32);
  if (!key || !subtleOf(options)) return null;
  return bytesToHex(await sha256(subtleOf(options), key)).slice(0, 16);
}

// --- results --------------------------------------------------------------------------------------

class Result {
  constructor() {
    Object.assign(this, {
      ok: true, supported: true, macChecked: false, entriesChecked: 0, firstSeq: 1, lastSeq: 0,
      checkpointsChecked: 0, lastCheckpoint: null, unsignedEntries: 0, keyId: null,
      base: { seq: 0, hash: "0".repeat(64) }, problem: null, problems: [], notes: [MAC_NOTE],
    });
  }

  fail(seq, check, detail) {
    const message = detail ? `${CHECKS[check]}: ${detail}` : CHECKS[check];
    this.problems.push({ seq, check, message });
    // Stable: the first found stays first among problems at the same entry.
    this.problems.sort((a, b) => (a.seq === null ? -1 : a.seq) - (b.seq === null ? -1 : b.seq));
    this.problem = this.problems[0];
    this.ok = false;
  }

  // A plain object (no class) so it serialises and compares as data.
  done() {
    return { ...this };
  }
}

function unsupported(result, why) {
  result.supported = false;
  result.fail(null, "unsupported", why);
  return result.done();
}

// The public key as a WebCrypto key; a string naming why not ("unsupported" / "public-key").
async function importPublicKey(subtle, publicKeyHex) {
  const raw = hexToBytes(typeof publicKeyHex === "string" ? publicKeyHex.toLowerCase() : publicKeyHex, 32);
  if (!raw) return "public-key";
  try {
    return await subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    // DataError: the browser knows Ed25519 and refuses this key. Anything else (NotSupportedError,
    // a TypeError from an old engine): the browser cannot verify Ed25519 at all.
    return error && error.name === "DataError" ? "public-key" : "unsupported";
  }
}

// --- the chain ------------------------------------------------------------------------------------

function entryProblem(entry) {
  if (!entry || typeof entry !== "object") return "an entry is not an object";
  if (!isSeq(entry.seq)) return "an entry's seq is not a whole number";
  for (const name of ["at", "kind", "actor", "detail"]) {
    if (typeof entry[name] !== "string") return `entry ${entry.seq}: ${name} is not text`;
  }
  if (!HASH_HEX.test(entry.prev_hash) || !HASH_HEX.test(entry.hash)) return `entry ${entry.seq}: a hash is not 32 bytes of hex`;
  return null;
}

/**
 * Recompute the chain from `base` over `entries` (in the order given) and check each entry's
 * seq, link, hash and time. Returns {chain: Map seq -> recomputed hash bytes, first, last} or null
 * when the input is not entries at all (the problem is in `result`).
 */
async function walkChain(subtle, entries, base, result, nowUs) {
  if (!Array.isArray(entries)) {
    result.fail(null, "malformed", "the entries are not a list");
    return null;
  }
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) {
      result.fail(null, "malformed", problem);
      return null;
    }
  }
  let baseSeq;
  let baseHash;
  if (base) {
    baseSeq = base.seq;
    baseHash = hexToBytes(base.hash, 32);
    if (!isSeq(baseSeq) || !baseHash) {
      result.fail(null, "malformed", "base is not {seq, hash}");
      return null;
    }
  } else if (entries.length && entries[0].seq > 1) {
    // A pruned log: it starts after the entry whose hash the first entry links to. Whether
    // that start is legitimate is checked below (anchor and recorded prune).
    baseSeq = entries[0].seq - 1;
    baseHash = hexToBytes(entries[0].prev_hash, 32);
  } else {
    baseSeq = 0;
    baseHash = new Uint8Array(32);
  }
  result.base = { seq: baseSeq, hash: bytesToHex(baseHash) };
  result.firstSeq = baseSeq + 1;
  const chain = new Map([[baseSeq, baseHash]]);
  let expected = baseSeq + 1;
  let served = baseHash; // the previous entry's hash as served
  let recomputed = baseHash; // ... and as recomputed from the base
  let previousAt = null;
  for (const entry of entries) {
    const seq = entry.seq;
    if (seq > expected) {
      result.fail(expected, "entry-missing", `entry ${expected} is missing; the next entry is ${seq}`);
    } else if (seq < expected) {
      result.fail(seq, "entry-order", `entry ${seq} comes after entry ${expected - 1}`);
    } else if (entry.prev_hash !== bytesToHex(served)) {
      result.fail(seq, "entry-link", `entry ${seq}`);
    }
    const prev = hexToBytes(entry.prev_hash, 32);
    const digest = await entryHashBytes(subtle, prev, entry);
    if (bytesToHex(digest) !== entry.hash) {
      result.fail(seq, "entry-hash", `entry ${seq}`);
    }
    // What a checkpoint is compared with: the hash recomputed from the base through every entry
    // served, never a hash the server wrote.
    recomputed = equalBytes(prev, recomputed) ? digest : await entryHashBytes(subtle, recomputed, entry);
    if (!chain.has(seq)) chain.set(seq, recomputed);
    const at = parseAt(entry.at);
    if (at === null) {
      result.fail(seq, "malformed", `entry ${seq}: its time is not YYYY-MM-DDTHH:MM:SS.ffffffZ`);
    } else {
      if (previousAt !== null && at < previousAt) result.fail(seq, "entry-time", `entry ${seq} is dated before entry ${seq - 1}`);
      if (nowUs !== null && at > nowUs + CLOCK_SKEW_US) result.fail(seq, "entry-time", `entry ${seq} is dated in the future`);
      previousAt = at;
    }
    served = hexToBytes(entry.hash, 32);
    expected = Math.max(expected, seq + 1);
    result.entriesChecked += 1;
  }
  result.lastSeq = expected - 1;
  return { chain, baseSeq, baseHash, last: expected - 1 };
}

// The prune that made the log start at base+1 must be recorded in it (service/audit/log.py's
// _prune_problem): through_seq = base, the anchor's hash, and a cutoff after the anchor's time and
// at least the period before the prune. `periodDays` is the policy's; without it, the entry's claim.
function checkPrune(entries, walked, result, periodDays) {
  const base = walked.baseSeq;
  const anchor = entries.find((entry) => entry.seq === base + 1);
  if (!anchor) return;
  const anchorHash = walked.chain.get(base + 1);
  let recorded = false;
  for (const entry of entries) {
    if (entry.kind !== PRUNED || entry.seq <= anchor.seq) continue;
    let detail;
    try {
      detail = JSON.parse(entry.detail);
    } catch {
      result.fail(entry.seq, "prune-invalid", `entry ${entry.seq}: its detail is not readable`);
      continue;
    }
    if (!detail || detail.through_seq !== base) continue;
    recorded = true;
    if (detail.anchor_hash !== bytesToHex(anchorHash)) {
      result.fail(entry.seq, "prune-invalid", `entry ${entry.seq} names another anchor than the log's first entry`);
      continue;
    }
    const cutoff = parseIso(detail.cutoff);
    const period = periodDays ?? detail.period_days;
    if (cutoff === null || cutoff === "naive" || !Number.isSafeInteger(period)) {
      result.fail(entry.seq, "prune-invalid", `entry ${entry.seq}: its cutoff or period is not readable`);
      continue;
    }
    if (!(parseAt(anchor.at) < cutoff && cutoff <= parseAt(entry.at) - BigInt(period) * DAY_US)) {
      result.fail(entry.seq, "prune-invalid", `entry ${entry.seq} records a prune of entries younger than the period`);
    }
  }
  if (!recorded) result.fail(base + 1, "start-unrecorded", `the log starts at entry ${base + 1}`);
}

// --- checkpoints ----------------------------------------------------------------------------------

function checkpointProblem(point) {
  if (!point || typeof point !== "object") return "a checkpoint is not an object";
  if (!isSeq(point.seq) || point.seq === 0) return "a checkpoint's seq is not a positive whole number";
  if (!HASH_HEX.test(point.hash)) return `checkpoint ${point.seq}: its hash is not 32 bytes of hex`;
  if (!SIGNATURE_HEX.test(point.signature)) return `checkpoint ${point.seq}: its signature is not 64 bytes of hex`;
  if (typeof point.at !== "string") return `checkpoint ${point.seq}: at is not text`;
  return null;
}

// Whether a checkpoint is signed by the key: "ok", "key" (another key id) or "signature".
async function checkSignature(subtle, key, keyId, point) {
  if (point.key_id !== undefined && point.key_id !== keyId) return "key";
  const message = checkpointMessage(point.seq, hexToBytes(point.hash, 32), point.at);
  let valid = false;
  try {
    valid = await subtle.verify({ name: "Ed25519" }, key, hexToBytes(point.signature, 64), message);
  } catch {
    valid = false;
  }
  return valid ? "ok" : "signature";
}

/**
 * Check each checkpoint's signature and compare it with the recomputed chain. Returns the seqs
 * of checkpoints that are signed and match (the anchors a pruned start may rest on), and the
 * status of each checkpoint: "matched", "base" (matched the served base hash), "pruned" (before
 * the log's start: cannot be compared), or the check code of its problem.
 */
async function checkCheckpoints(subtle, key, keyId, points, walked, result, what) {
  const matched = new Set();
  const statuses = [];
  for (const point of points) {
    const seq = point.seq;
    const signature = await checkSignature(subtle, key, keyId, point);
    let status;
    if (signature === "key") {
      status = "checkpoint-key";
      result.fail(seq, status, `${what} ${seq} names key ${String(point.key_id)}, not ${keyId}`);
    } else if (signature !== "ok") {
      status = "checkpoint-signature";
      result.fail(seq, status, `${what} ${seq}`);
    } else if (seq > walked.last) {
      status = "checkpoint-beyond";
      result.fail(walked.last + 1, status, `${what} ${seq} is past the log's last entry, ${walked.last}`);
    } else if (seq < walked.baseSeq) {
      status = "pruned";
    } else if (!equalBytes(walked.chain.get(seq), hexToBytes(point.hash, 32))) {
      status = "checkpoint-mismatch";
      const since = Math.max(walked.baseSeq, ...[...matched].filter((m) => m < seq)) + 1;
      result.fail(seq, status, `${what} ${seq}: an entry from ${since} to ${seq} differs from what was signed`);
    } else {
      status = seq === walked.baseSeq ? "base" : "matched";
      matched.add(seq);
      result.checkpointsChecked += 1;
    }
    statuses.push({ seq, at: point.at, status });
  }
  return { matched, statuses };
}

function checkpointList(document) {
  if (Array.isArray(document)) return document;
  if (document && Array.isArray(document.checkpoints)) return document.checkpoints;
  return null;
}

function finish(result, walked, matched) {
  if (walked.baseSeq > 0 && !matched.has(walked.baseSeq + 1)) {
    result.fail(walked.baseSeq + 1, "start-unanchored", `the log starts at entry ${walked.baseSeq + 1}`);
  }
  const signed = [...matched].filter((seq) => seq > walked.baseSeq && seq <= walked.last);
  result.lastCheckpoint = signed.length ? Math.max(...signed) : null;
  result.unsignedEntries = walked.last - (result.lastCheckpoint ?? walked.baseSeq);
  if (walked.last > walked.baseSeq && result.lastCheckpoint === null) {
    result.notes.push("no checkpoint covers these entries: nothing is vouched for by a signature");
  } else if (result.unsignedEntries) {
    result.notes.push(`${result.unsignedEntries} entries after the last checkpoint are chained but not yet signed`);
  }
}

async function prepare(options, publicKeyHex, result) {
  const subtle = subtleOf(options);
  if (!subtle) return { error: unsupported(result, "no crypto.subtle") };
  const key = await importPublicKey(subtle, publicKeyHex);
  if (key === "unsupported") return { error: unsupported(result, "Ed25519 is not available") };
  if (key === "public-key") {
    result.fail(null, "public-key");
    return { error: result.done() };
  }
  result.keyId = await publicKeyId(publicKeyHex.toLowerCase(), { subtle });
  return { subtle, key };
}

function nowOf(options) {
  if (options.now === undefined || options.now === null) return null;
  const ms = options.now instanceof Date ? options.now.getTime() : Number(options.now);
  return Number.isFinite(ms) ? BigInt(Math.trunc(ms)) * 1000n : null;
}

// --- the two checks -------------------------------------------------------------------------------

/**
 * Verify the log: every entry's seq, link and hash, recomputed from the base; every checkpoint's
 * signature, and its hash against the recomputed chain; a pruned start's anchor and prune record.
 *
 * `entries`: the served entries in order (all pages of GET /v1/dpo/audit/entries, concatenated).
 * `checkpoints`: the checkpoints document of GET /v1/dpo/audit/checkpoints, or its list.
 * `publicKeyHex`: the Ed25519 key (pin it where you can; the document's own key is the server's word).
 * `base`: optional {seq, hash}, where the log is expected to start (default: entry 1 after 32 zero
 *   bytes, or for a log whose first entry is later, that entry's prev_hash, anchored and recorded).
 * Options: `periodDays` (the audit log's retention period; default: what the prune entry states),
 *   `now` (Date or ms: entries dated more than 5 minutes after it fail), `subtle` (a SubtleCrypto).
 */
export async function verifyLog({ entries, checkpoints, publicKeyHex, base } = {}, options = {}) {
  const result = new Result();
  const ready = await prepare(options, publicKeyHex, result);
  if (ready.error) return ready.error;
  const points = checkpointList(checkpoints);
  if (!points || points.some(checkpointProblem)) {
    result.fail(null, "malformed", points ? points.map(checkpointProblem).find(Boolean) : "the checkpoints are not a list");
    return result.done();
  }
  const walked = await walkChain(ready.subtle, entries, base, result, nowOf(options));
  if (!walked) return result.done();
  const { matched, statuses } = await checkCheckpoints(ready.subtle, ready.key, result.keyId, points, walked, result, "checkpoint");
  const pruned = statuses.filter((s) => s.status === "pruned").length;
  if (pruned) result.notes.push(`${pruned} checkpoints are of entries before the log's start and cannot be compared`);
  finish(result, walked, matched);
  if (walked.baseSeq > 0) checkPrune(entries, walked, result, options.periodDays);
  result.checkpoints = statuses;
  return result.done();
}

/**
 * Re-check checkpoints the DPO saved earlier (the JSON text or object of the checkpoints document,
 * or its list) against the log served now: each must be signed by the key, and the hash
 * recomputed at its entry must equal the saved one, so the log still holds exactly what it held
 * when the checkpoint was saved. A saved checkpoint before the start of a pruned log is reported
 * as "pruned" (not a problem) when the served start is anchored by a signed checkpoint and its
 * prune recorded; one at exactly the served base must equal the served base hash.
 *
 * `entries`: as for verifyLog. `publicKeyHex`: default the saved document's own key (the copy the
 * DPO kept); when both are given they must be the same key. `checkpoints`: optional, the served
 * checkpoints, which may anchor a pruned start that no saved checkpoint does. `base`, options: as
 * for verifyLog. The result's `saved` lists each saved checkpoint's status.
 */
export async function verifySavedCheckpoints(savedJson, { entries, publicKeyHex, checkpoints, base } = {}, options = {}) {
  const result = new Result();
  let saved = savedJson;
  if (typeof saved === "string") {
    try {
      saved = JSON.parse(saved);
    } catch {
      saved = null;
    }
  }
  const points = checkpointList(saved);
  const savedKey = saved && !Array.isArray(saved) && typeof saved.public_key === "string" ? saved.public_key.toLowerCase() : null;
  const key = publicKeyHex ? publicKeyHex.toLowerCase() : savedKey;
  if (!points || points.some(checkpointProblem)) {
    result.fail(null, "malformed", points ? points.map(checkpointProblem).find(Boolean) : "the file does not hold checkpoints");
    return result.done();
  }
  const ready = await prepare(options, key, result);
  if (ready.error) return ready.error;
  if (savedKey !== null && savedKey !== key) result.fail(null, "key-changed", `saved ${savedKey}, given ${key}`);
  const served = checkpoints === undefined ? [] : checkpointList(checkpoints);
  if (!served || served.some(checkpointProblem)) {
    result.fail(null, "malformed", "the served checkpoints are not a list of checkpoints");
    return result.done();
  }
  const walked = await walkChain(ready.subtle, entries, base, result, nowOf(options));
  if (!walked) return result.done();
  const mine = await checkCheckpoints(ready.subtle, ready.key, result.keyId, points, walked, result, "saved checkpoint");
  // The served ones only anchor a pruned start; their own problems are verifyLog's to report.
  const scratch = new Result();
  const theirs = await checkCheckpoints(ready.subtle, ready.key, result.keyId, served, walked, scratch, "checkpoint");
  const anchors = new Set([...mine.matched, ...[...theirs.matched].filter((seq) => seq === walked.baseSeq + 1)]);
  finish(result, walked, anchors);
  if (walked.baseSeq > 0) checkPrune(entries, walked, result, options.periodDays);
  result.checkpointsChecked = mine.statuses.filter((s) => s.status === "matched" || s.status === "base").length;
  result.saved = mine.statuses;
  const pruned = mine.statuses.filter((s) => s.status === "pruned").length;
  if (pruned) {
    result.notes.push(`${pruned} saved checkpoints are of entries the log has since pruned (before entry ${walked.baseSeq + 1}): `
      + "their signatures verify, their entries can no longer be compared");
  }
  return result.done();
}
