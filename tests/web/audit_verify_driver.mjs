// Runs service/web/static/js/audit-verify.js in Node for tests/web/test_audit_verify_js.py.
//
//   node tests/web/audit_verify_driver.mjs CASES.json
//
// CASES.json is a list of {op, args, options?, noEd25519?}; op is an export of the module
// (verifyLog, verifySavedCheckpoints, entryHash, checkpointMessage, publicKeyId) and args its
// arguments. Prints the list of results as JSON (bytes as hex); a case that throws prints
// {"thrown": "..."} so the test sees it. `noEd25519` stands in for a browser without Ed25519:
// the SubtleCrypto handed to the module refuses to import Ed25519 keys, as such a browser does.
import { readFileSync } from "node:fs";
import * as audit from "../../service/web/static/js/audit-verify.js";

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

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const { op, args, options = {}, noEd25519 = false } of cases) {
  const opts = noEd25519 ? { ...options, subtle: withoutEd25519 } : options;
  try {
    let value;
    if (op === "checkpointMessage") {
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
process.stdout.write(JSON.stringify(results));
