/**
 * The DPO page's own audit check: buttons around audit-verify.js. Load it as
 *   <script type="module" src=".../static/js/audit-page.js"></script>
 * It works under a strict CSP (no inline script or style, no eval): it only sets text, attributes
 * and the `hidden` and `disabled` properties, and its download is a Blob object URL.
 *
 * The page provides one element with id "audit-verify" carrying these data- attributes:
 *
 *   data-entries-url       required. Answers GET with the body of GET /v1/dpo/audit/entries
 *                          ({entries, next_after}); the module adds ?after=N&limit=M and pages
 *                          until next_after is null. Same origin: the session cookie authenticates.
 *   data-checkpoints-url   required. Answers GET with the body of GET /v1/dpo/audit/checkpoints.
 *   data-public-key        optional. The Ed25519 public key (64 hex digits) to pin. Without it the
 *                          key the checkpoints document names is used, and its key id shown, for
 *                          the DPO to compare with the one they hold. A saved file is checked with
 *                          the key saved in it (the DPO's own copy) unless this is set.
 *   data-period-days       optional. The audit log's retention period from the policy: a prune is
 *                          judged by it (without it, by the period the prune entry states).
 *   data-page-size         optional. Entries per request (1..5000, default 1000).
 *   data-filename          optional. Name of the saved file; "{last}" and "{date}" are replaced
 *                          (default "safesignal-audit-checkpoints-{date}-{last}.json").
 *
 * Texts, so the server can translate them; "{name}" placeholders are replaced (text only, never
 * HTML). {seq} the first broken entry, {problem} what is wrong there, {first} {last} the entries
 * checked, {checkpoints} signed checkpoints that match, {unsigned} entries after the last one,
 * {key_id} the key's id, {matched} {pruned} saved checkpoints compared / before a pruned start,
 * {status} an HTTP status:
 *   data-msg-working       while fetching and checking
 *   data-msg-ok            the log verifies
 *   data-msg-broken        the log does not verify, first at entry {seq}: {problem}
 *   data-msg-invalid       the data cannot be checked at all (malformed, bad key): {problem}
 *   data-msg-nokey         this browser cannot verify Ed25519 signatures (or has no WebCrypto)
 *   data-msg-fetch-error   the entries or checkpoints could not be fetched ({status})
 *   data-msg-saved-ok      a saved file's checkpoints still match the log
 *   data-msg-saved-broken  they do not, first at entry {seq}: {problem}
 *   data-msg-file-error    the chosen file could not be read as checkpoints
 *   data-msg-not-saved     "save" refused because the log does not verify (the status says why)
 *   data-msg-mac           that the MACs can only be checked by the server (shown with every verdict)
 *   data-msg-check-CODE    optional, one per check code of audit-verify.js's CHECKS (e.g.
 *                          data-msg-check-entry-hash): the {problem} text; default the English one
 * Every text has an English default.
 *
 * Inside the element:
 *   <button type="button" data-action="verify">        runs the check
 *   <button type="button" data-action="save">          checks, then downloads the checkpoints JSON
 *                                                      (the document as served: `safesignal audit
 *                                                      verify --checkpoints FILE` reads it too)
 *   <input type="file" accept="application/json,.json" data-action="recheck">
 *                                                      re-checks a saved file against the log now
 *   <p data-role="status" role="status" aria-live="polite">   the verdict (required)
 *   <ul data-role="details">                           optional: every problem and note, one per item
 */

import { CHECKS, verifyLog, verifySavedCheckpoints } from "./audit-verify.js";

const DEFAULTS = {
  working: "Fetching the audit log and checking it in this browser…",
  ok: "Verified in this browser: entries {first} to {last}, {checkpoints} signed checkpoints match (key {key_id}); "
    + "{unsigned} later entries are not signed yet.",
  broken: "The audit log does not verify in this browser, first at entry {seq}: {problem}",
  invalid: "The audit log cannot be checked: {problem}",
  nokey: "This browser cannot verify Ed25519 signatures: use a current browser (or `safesignal audit verify`).",
  fetchError: "The audit log could not be fetched (status {status}).",
  savedOk: "The saved checkpoints still match the audit log: {matched} compared, {pruned} of entries pruned since (key {key_id}).",
  savedBroken: "The audit log no longer matches the saved checkpoints, first at entry {seq}: {problem}",
  fileError: "The file could not be read as saved checkpoints.",
  notSaved: "Not saved: the audit log does not verify.",
  mac: "The entries' MACs can only be checked by the server: this check rests on the hash chain and the signatures.",
};
const FILENAME = "safesignal-audit-checkpoints-{date}-{last}.json";
const MAX_PAGES = 100000;

class FetchError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

function fill(template, values) {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function datasetKey(code) {
  return "msgCheck" + code.split("-").map((part) => part[0].toUpperCase() + part.slice(1)).join("");
}

/** Wire the check to the element `root`; `deps` replaces the browser's fetch, document, clock or SubtleCrypto (tests). */
export function bind(root, deps = {}) {
  const doc = deps.document ?? root.ownerDocument ?? globalThis.document;
  const fetcher = deps.fetch ?? globalThis.fetch.bind(globalThis);
  const clock = deps.now ?? (() => Date.now());
  const data = root.dataset;
  const status = root.querySelector('[data-role="status"]');
  const details = root.querySelector('[data-role="details"]');
  const buttons = ["verify", "save", "recheck"].map((name) => root.querySelector(`[data-action="${name}"]`));
  const [verifyButton, saveButton, fileInput] = buttons;

  const text = (name) => {
    const key = "msg" + name[0].toUpperCase() + name.slice(1);
    return data[key] || DEFAULTS[name];
  };
  const problemText = (problem) => data[datasetKey(problem.check)] || problem.message || CHECKS[problem.check];
  const options = () => {
    const period = Number.parseInt(data.periodDays ?? "", 10);
    return { now: clock(), ...(Number.isSafeInteger(period) ? { periodDays: period } : {}), ...(deps.subtle ? { subtle: deps.subtle } : {}) };
  };

  function show(message, lines = []) {
    status.textContent = message;
    if (!details) return;
    details.replaceChildren(...lines.map((line) => {
      const item = doc.createElement("li");
      item.textContent = line;
      return item;
    }));
    details.hidden = lines.length === 0;
  }

  function busy(on) {
    status.setAttribute("aria-busy", on ? "true" : "false");
    for (const control of buttons) if (control) control.disabled = on;
  }

  async function getJson(url) {
    const response = await fetcher(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new FetchError(response.status);
    const body = await response.text();
    return { body, json: JSON.parse(body) };
  }

  async function fetchLog() {
    // Checkpoints first: entries only grow, so every checkpoint fetched lies within the entries
    // fetched after it (fetched the other way round, a checkpoint signed in between would seem
    // to lie past the end of the log).
    const checkpoints = await getJson(new URL(data.checkpointsUrl, doc.baseURI ?? globalThis.location?.href));
    const size = Math.min(Math.max(Number.parseInt(data.pageSize ?? "1000", 10) || 1000, 1), 5000);
    const entries = [];
    let after = 0;
    for (let page = 0; after !== null && page < MAX_PAGES; page++) {
      const url = new URL(data.entriesUrl, doc.baseURI ?? globalThis.location?.href);
      url.searchParams.set("after", String(after));
      url.searchParams.set("limit", String(size));
      const { json } = await getJson(url);
      if (!json || !Array.isArray(json.entries)) throw new SyntaxError("not a page of entries");
      entries.push(...json.entries);
      const next = json.next_after ?? null;
      // A page must move forward, or a server could keep the page looping.
      if (next !== null && (!Number.isSafeInteger(next) || next <= after)) throw new SyntaxError("next_after does not move on");
      after = next;
    }
    return { entries, checkpoints };
  }

  function lines(result) {
    const out = result.problems.map((p) => (p.seq === null ? problemText(p) : `${p.seq}: ${problemText(p)}`));
    out.push(text("mac"));
    return out.concat(result.notes.filter((note) => !note.includes("MAC")));
  }

  function verdict(result, okName, brokenName, values) {
    if (!result.supported) return show(text("nokey"), lines(result));
    const p = result.problem;
    const all = {
      first: result.firstSeq, last: result.lastSeq, checkpoints: result.checkpointsChecked, unsigned: result.unsignedEntries,
      key_id: result.keyId ?? "", ...values,
    };
    if (result.ok) return show(fill(text(okName), all), lines(result));
    const name = p.seq === null ? "invalid" : brokenName;
    return show(fill(text(name), { ...all, seq: p.seq ?? "", problem: problemText(p) }), lines(result));
  }

  function failed(error) {
    if (error instanceof FetchError) return show(fill(text("fetchError"), { status: error.status }));
    return show(fill(text("invalid"), { problem: CHECKS.malformed }));
  }

  async function run() {
    const log = await fetchLog();
    const result = await verifyLog({
      entries: log.entries, checkpoints: log.checkpoints.json, publicKeyHex: data.publicKey || log.checkpoints.json.public_key,
    }, options());
    verdict(result, "ok", "broken", {});
    return { log, result };
  }

  async function guarded(work) {
    busy(true);
    show(text("working"));
    try {
      await work();
    } catch (error) {
      failed(error);
    } finally {
      busy(false);
    }
  }

  function download(body, result) {
    const name = fill(data.filename || FILENAME, {
      last: result.lastCheckpoint ?? 0, date: new Date(clock()).toISOString().slice(0, 10),
    });
    const url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    const link = doc.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    root.append(link);
    link.click();
    link.remove();
    // After the click has started the download; revoking at once can cancel it in some browsers.
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return name;
  }

  verifyButton?.addEventListener("click", () => guarded(run));
  saveButton?.addEventListener("click", () => guarded(async () => {
    const { log, result } = await run();
    // Only what verifies is worth keeping: a copy of checkpoints of a broken log vouches for nothing.
    if (!result.ok) {
      status.textContent = `${text("notSaved")} ${status.textContent}`;
      return;
    }
    download(log.checkpoints.body, result);
  }));
  fileInput?.addEventListener("change", () => guarded(async () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return show("");
    let saved;
    try {
      saved = JSON.parse(await file.text());
    } catch {
      return show(text("fileError"));
    } finally {
      fileInput.value = "";
    }
    const log = await fetchLog();
    const result = await verifySavedCheckpoints(saved, {
      entries: log.entries, checkpoints: log.checkpoints.json, publicKeyHex: data.publicKey || undefined,
    }, options());
    const saves = result.saved ?? [];
    if (!result.supported || !(result.problem && result.problem.check === "malformed" && result.problem.seq === null)) {
      return verdict(result, "savedOk", "savedBroken", {
        matched: result.checkpointsChecked, pruned: saves.filter((s) => s.status === "pruned").length,
      });
    }
    return show(text("fileError"), lines(result));
  }));
  return { run };
}

if (typeof document !== "undefined") {
  const root = document.getElementById("audit-verify");
  if (root) bind(root);
}
