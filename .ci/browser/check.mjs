// Loads the demo's page in headless Chromium (Debian's package, driven by
// playwright-core) and checks what a person would see: the page's WebSocket
// echoes what is typed and sent over a permessage-deflate connection (a
// 1 MiB message too), its EventSource shows published events (including
// multi-line data), and a refused cross-origin WebSocket does not open.
// With a third argument, the base64 SHA-256 of the server key's SPKI, the
// demo is loaded over https (the page's WebSocket is then wss://), and
// Chromium trusts that one key and nothing else self-signed
// (--ignore-certificate-errors-spki-list); run it with NODE_EXTRA_CA_CERTS
// naming the certificate, for this script's own POST. usage: node check.mjs HOST:PORT [CHROMIUM]
import { chromium } from "playwright-core";

const target = process.argv[2];
const executablePath = process.argv[3] || "/usr/bin/chromium";
const spki = process.argv[4];
if (!target) { console.error("usage: node check.mjs HOST:PORT [CHROMIUM [SPKI]]"); process.exit(2); }
const [http, ws] = spki ? ["https", "wss"] : ["http", "ws"];
const base = `${http}://${target}`;
const deadline = setTimeout(() => { console.error("browser: timed out"); process.exit(1); }, 60000);

let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  if (!ok) failed++;
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ...(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : [])],
});
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(`${base}/`);
  if (spki) {
    const scheme = await page.evaluate(() => [location.protocol, socket.url]);
    check("the page is https and its WebSocket wss", scheme[0] === "https:" && scheme[1].startsWith("wss://"),
      JSON.stringify(scheme));
  }
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("open"));

  // The WebSocket echo, through the page's own form.
  const typed = "héllo from Chromium ✓";
  await page.waitForFunction(() => typeof socket !== "undefined" && socket.readyState === WebSocket.OPEN);
  await page.fill("#ws-input", typed);
  await page.click("#ws-send");
  await page.waitForFunction((t) => [...document.querySelectorAll("#ws-log li")].some((li) => li.textContent === t), typed, { timeout: 10000 })
    .then(() => check("WebSocket echo through the page's form", true),
      (e) => check("WebSocket echo through the page's form", false, e.message));

  // permessage-deflate: the page's socket negotiated it (Chromium offers
  // it), and large messages come back unchanged through the compressor.
  const extensions = await page.evaluate(() => socket.extensions);
  check("the page's WebSocket negotiated permessage-deflate",
    extensions.startsWith("permessage-deflate"), JSON.stringify(extensions));
  const compressed = await page.evaluate(() => new Promise((resolve) => {
    const ws = new WebSocket(socket.url);
    const unit = '{"user":"ada","text":"hello ✓ the same words again"} ';
    const big = unit.repeat(Math.ceil((1 << 20) / unit.length));
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 31) % 251);
    const got = [];
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { ws.send(big); ws.send(bytes); };
    ws.onmessage = (e) => {
      got.push(e.data);
      if (got.length < 2) return;
      const back = new Uint8Array(got[1]);
      resolve({
        extensions: ws.extensions,
        text: got[0] === big,
        binary: back.length === bytes.length && back.every((b, i) => b === bytes[i]),
      });
      ws.close(1000);
    };
    ws.onerror = () => resolve({ extensions: ws.extensions, text: false, binary: false });
    setTimeout(() => resolve({ extensions: ws.extensions, text: "timeout", binary: "timeout" }), 20000);
  }));
  check("a 1 MiB text and a 256 KiB binary message echo unchanged, compressed",
    compressed.text === true && compressed.binary === true && compressed.extensions.startsWith("permessage-deflate"),
    JSON.stringify(compressed));

  // Published events appear in the page's event log.
  await page.waitForFunction(() => events.readyState === EventSource.OPEN);
  const body = "first line\nsecond line";
  const res = await fetch(`${base}/publish?id=browser-1`, { method: "POST", body });
  check("POST /publish answers 204", res.status === 204, `status ${res.status}`);
  await page.waitForFunction((t) => [...document.querySelectorAll("#sse-log li")].some((li) => li.textContent === t), body, { timeout: 10000 })
    .then(() => check("EventSource shows the published multi-line event", true),
      (e) => check("EventSource shows the published multi-line event", false, e.message));

  // Cross-Site WebSocket Hijacking: a page from another origin cannot open
  // the demo's WebSocket (the server answers 403). The foreign origin is a
  // second loopback name for the same server.
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), target.slice(target.lastIndexOf(":") + 1)];
  if (host === "127.0.0.1") {
    const foreign = await browser.newPage();
    await foreign.goto(`${http}://localhost:${port}/plaintext`);
    const outcome = await foreign.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("refused");
      setTimeout(() => resolve("timeout"), 5000);
    }), `${ws}://127.0.0.1:${port}/ws`);
    check("a WebSocket from a foreign origin is refused", outcome === "refused", outcome);
  }
  check("no script errors on the page", consoleErrors.length === 0, consoleErrors.join("; "));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
console.log(`browser: ${failed === 0 ? "all checks passed" : `${failed} failed`}`);
process.exit(failed === 0 ? 0 : 1);
