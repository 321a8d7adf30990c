// Runs service/web/static/js/audit-verify.js in Node for tests/web/test_audit_verify_js.py.
//
//   node tests/web/audit_verify_driver.mjs CASES.json
//
// CASES.json is a list of {op, args, options?, noEd25519?}; op is an export of the module
// (verifyLog, verifySavedCheckpoints, entryHash, checkpointMessage, publicKeyId) and args its
// arguments. Prints the list of results as JSON (bytes as hex); a case that throws prints
// {"thrown": "..."} so the test sees it. `noEd25519` stands in for a browser without Ed25519:
// the SubtleCrypto handed to the module refuses to import Ed25519 keys, as such a browser does.
//
// op "page" runs audit-page.js's `bind` on a stand-in for the browser (the smallest DOM it uses,
// and a network that serves the given log as the DPO API pages it):
//   args: [{dataset, entries, checkpointsText, status?, action: "verify"|"save"|"recheck", file?}]
// and returns {status, busy, details, downloads: [{name, body}], requests}.
import { readFileSync } from "node:fs";
import { resolveObjectURL } from "node:buffer";
import * as audit from "../../service/web/static/js/audit-verify.js";
import { bind } from "../../service/web/static/js/audit-page.js";

const real = globalThis.crypto.subtle;
const withoutEd25519 = {
  digest: (...args) => real.digest(...args),
  importKey: async (format, data, algorithm, ...rest) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (name === "Ed25519") throw new DOMException("Unrecognized algorithm name", "NotSupportedError");
    return real.importKey(format, data, algorithm, ...rest);
  },
  verify: () => Promise.reject(new DOMException("Unrecognized algorithm name", "NotSupportedError")),
};

function hexBytes(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function fakeElement(tag, downloads) {
  return {
    tagName: tag, dataset: {}, hidden: false, disabled: false, textContent: "", value: "", attributes: {}, children: [],
    listeners: {}, files: null, href: "", download: "",
    setAttribute(name, value) { this.attributes[name] = String(value); },
    addEventListener(type, listener) { (this.listeners[type] ??= []).push(listener); },
    replaceChildren(...children) { this.children = children; },
    append(child) { this.children.push(child); },
    remove() {},
    click() { if (this.tagName === "a") downloads.push({ href: this.href, name: this.download }); },
    // The module's handlers return their work; a browser drops it, the driver awaits it.
    fire(type) { return Promise.all((this.listeners[type] ?? []).map((listener) => listener())); },
  };
}

async function page({ dataset, entries, checkpointsText, status = 200, action, file }, subtle) {
  const downloads = [];
  const requests = [];
  const parts = { status: fakeElement("p", downloads), details: fakeElement("ul", downloads) };
  const controls = { verify: fakeElement("button", downloads), save: fakeElement("button", downloads), recheck: fakeElement("input", downloads) };
  const root = fakeElement("div", downloads);
  root.dataset = dataset;
  root.querySelector = (selector) => {
    const m = /^\[data-(role|action)="([a-z]+)"\]$/.exec(selector);
    return m ? (m[1] === "role" ? parts : controls)[m[2]] ?? null : null;
  };
  const doc = { baseURI: "https://dpo.example/dpo/audit", createElement: (tag) => fakeElement(tag, downloads) };
  const fetch = async (url, init) => {
    const u = new URL(url);
    requests.push({ path: u.pathname, query: u.search, credentials: init.credentials });
    let body;
    if (u.pathname === new URL(dataset.checkpointsUrl, doc.baseURI).pathname) {
      body = checkpointsText;
    } else {
      const after = Number(u.searchParams.get("after"));
      const limit = Number(u.searchParams.get("limit"));
      const rest = entries.filter((entry) => entry.seq > after);
      const items = rest.slice(0, limit);
      body = JSON.stringify({ entries: items, next_after: rest.length > limit ? items[items.length - 1].seq : null });
    }
    return { ok: status === 200, status, text: async () => body };
  };
  bind(root, { document: doc, fetch, now: () => Date.UTC(2026, 10, 29, 12), subtle });
  if (action === "recheck") controls.recheck.files = [{ text: async () => file }];
  await controls[action].fire(action === "recheck" ? "change" : "click");
  const saved = [];
  for (const { href, name } of downloads) saved.push({ name, body: await resolveObjectURL(href).text() });
  return {
    status: parts.status.textContent, busy: parts.status.attributes["aria-busy"], details: parts.details.children.map((c) => c.textContent),
    disabled: Object.values(controls).some((c) => c.disabled), downloads: saved, requests,
  };
}

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const { op, args, options = {}, noEd25519 = false } of cases) {
  const opts = noEd25519 ? { ...options, subtle: withoutEd25519 } : options;
  try {
    let value;
    if (op === "page") {
      value = await page(args[0], noEd25519 ? withoutEd25519 : undefined);
    } else if (op === "checkpointMessage") {
      value = audit.bytesToHex(audit.checkpointMessage(args[0], hexBytes(args[1]), args[2]));
    } else if (op === "verifyLog" || op === "verifySavedCheckpoints" || op === "entryHash" || op === "publicKeyId") {
      value = await audit[op](...args, opts);
    } else {
      throw new Error(`unknown op ${op}`);
    }
    results.push(value);
  } catch (error) {
    results.push({ thrown: String(error && error.stack ? error.stack : error) });
  }
}
// Exit once written: the page module leaves a timer behind to revoke its download URL.
process.stdout.write(JSON.stringify(results), () => process.exit(0));
