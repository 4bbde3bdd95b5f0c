// Node's `ws` client (which offers permessage-deflate by default) against
// the demo's /ws: the extension is negotiated, and text and binary
// messages of 64 B to 2 MiB come back unchanged, compressed both ways.
// usage: node ws_check.mjs HOST:PORT
import WebSocket from "ws";

const target = process.argv[2];
if (!target) { console.error("usage: node ws_check.mjs HOST:PORT"); process.exit(2); }
const deadline = setTimeout(() => { console.error("ws: timed out"); process.exit(1); }, 60000);

let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ws: ${name}${ok ? "" : `: ${detail}`}`);
  if (!ok) failed++;
}

const ws = new WebSocket(`ws://${target}/ws`, { perMessageDeflate: { threshold: 0 } });
let answer = "";
ws.once("upgrade", (res) => { answer = res.headers["sec-websocket-extensions"] || ""; });
await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
check("permessage-deflate is in use", ws.extensions === "permessage-deflate", JSON.stringify(ws.extensions));
check("the server keeps no context", answer.includes("server_no_context_takeover"), JSON.stringify(answer));

// Compressible text (and JSON-like repetition) and a binary pattern.
const mib = 1 << 20;
const text = (n) => {
  const unit = '{"user":"ada","text":"né hello ✓ the same words again"} ';
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
};
const binary = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31) % 251; return b; };
const cases = [
  ["64 B text", text(64)],
  ["16 KiB text", text(16 * 1024)],
  ["1 MiB text", text(mib)],
  ["2 MiB binary", binary(2 * mib)],
];
for (const [name, payload] of cases) {
  const echoed = await new Promise((resolve) => {
    ws.once("message", (data, isBinary) => resolve({ data, isBinary }));
    ws.send(payload);
  });
  const same = typeof payload === "string"
    ? !echoed.isBinary && echoed.data.toString("utf8") === payload
    : echoed.isBinary && Buffer.compare(echoed.data, payload) === 0;
  check(`${name} echoed unchanged`, same, `${echoed.data.length} bytes back`);
}
const closed = await new Promise((resolve) => { ws.once("close", (code) => resolve(code)); ws.close(1000); });
check("clean close", closed === 1000, `code ${closed}`);
clearTimeout(deadline);
console.log(`ws: ${failed === 0 ? "all checks passed" : `${failed} failed`}`);
process.exit(failed === 0 ? 0 : 1);
