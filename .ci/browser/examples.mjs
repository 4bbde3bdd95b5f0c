// Opens the pages of the seed examples in headless Chromium (Debian's
// package, driven by playwright-core) and checks the text a person would
// see in each page's textarea; saves a screenshot of each under
// target/browser/. It starts every example itself from EXAMPLES_DIR (the
// release build) on port 0 and stops it afterwards.
// usage: node examples.mjs EXAMPLES_DIR [CHROMIUM]
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const dir = process.argv[2];
const executablePath = process.argv[3] || "/usr/bin/chromium";
if (!dir) { console.error("usage: node examples.mjs EXAMPLES_DIR [CHROMIUM]"); process.exit(2); }
const shots = new URL("../../target/browser/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const deadline = setTimeout(() => { console.error("examples: timed out"); process.exit(1); }, 120000);

let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  if (!ok) failed++;
}

// Starts an example and resolves with the first `count` lines it prints.
function start(name, args, count) {
  const child = spawn(`${dir}/${name}`, args, { stdio: ["ignore", "pipe", "ignore"] });
  const lines = [];
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      lines.push(line.trim());
      if (lines.length === count) resolve({ child, lines });
    });
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// Loads the page and waits until its textarea shows `text`.
async function sees(name, url, text, absent) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  try {
    await page.goto(url);
    await page.waitForFunction((t) => document.querySelector("textarea").value.includes(t), text, { timeout: 10000 });
    const value = await page.$eval("textarea", (t) => t.value);
    const clean = absent === undefined || !value.includes(absent);
    check(`${name}: the page shows "${text}"${absent ? " and not the live-only event" : ""}`, clean && errors.length === 0,
      `textarea ${JSON.stringify(value)}, errors ${errors.join("; ")}`);
  } catch (e) {
    check(`${name}: the page shows "${text}"`, false, e.message);
  } finally {
    await page.screenshot({ path: `${shots}${name}.png` }).catch(() => {});
    await page.close();
  }
}

const running = [];
try {
  for (const [name, text, absent] of [
    ["sse_same_port", "Hello world (sent with an id: replayed)", "never seen"],
    ["ws_same_port", "Hello world!"],
    ["ws_service_mapper", "Hello world!"],
  ]) {
    const ex = await start(name, ["--addr", "127.0.0.1:0"], 1);
    running.push(ex.child);
    const addr = ex.lines[0].replace("listening on ", "");
    await sees(name, `http://${addr}/`, text, absent);
  }
  const own = await start("sse_own_port", ["--addr", "127.0.0.1:0", "--sse-addr", "127.0.0.1:0"], 2);
  running.push(own.child);
  const pageAddr = own.lines[0].replace("listening on ", "");
  await sees("sse_own_port", `http://${pageAddr}/`, "Hello World! (from the other port)");
} finally {
  for (const child of running) child.kill();
  await browser.close();
  clearTimeout(deadline);
}
console.log(failed === 0 ? "examples: all pages checked" : `examples: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
