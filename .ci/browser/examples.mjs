// Opens the pages of the seed examples in headless Chromium (Debian's
// package, driven by playwright-core) and checks the text a person would
// see in each page's textarea; saves a screenshot of each under
// target/browser/. It starts every example itself from EXAMPLES_DIR (the
// release build) on port 0 and stops it afterwards.
// With REDIS_URL set, it also runs two chat processes on that Redis and
// checks that a message typed in a page of one appears in a page of the
// other, and back.
// usage: [REDIS_URL=redis://HOST:PORT/] node examples.mjs EXAMPLES_DIR [CHROMIUM]
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

// Whether the page's chat log gets a line equal to `text` in time.
async function logShows(page, text, timeout = 10000) {
  return page.waitForFunction((t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === t),
    text, { timeout }).then(() => true, () => false);
}

// Joins the room of `page` as `name`.
async function join(page, name) {
  await page.waitForFunction(() => document.getElementById("status").textContent === "connected");
  await page.fill("#username", name);
  await page.click("#join-button");
}

// The chat in two pages of one room, a page of another room, and the
// room's read-only feed.
async function checkChat(addr) {
  const base = `http://${addr}`;
  const [alice, bob, other, feed] = await Promise.all([1, 2, 3, 4].map(() => browser.newPage()));
  const errors = [];
  for (const p of [alice, bob, other, feed]) p.on("pageerror", (e) => errors.push(String(e)));
  await alice.goto(`${base}/?room=lobby`);
  await bob.goto(`${base}/?room=lobby`);
  await other.goto(`${base}/?room=elsewhere`);
  await feed.goto(`${base}/feed.html?room=lobby`);
  await join(alice, "alice");
  await join(bob, "  bob  ");
  await join(other, "eve");
  check("chat: the join reaches the other page", await logShows(alice, "bob joined"), "no join line");
  await alice.fill("#message", "hello from alice");
  await alice.click("#send");
  check("chat: a message typed in one page appears in the other", await logShows(bob, "alice: hello from alice"), "not shown");
  check("chat: the read-only feed shows the room's messages", await logShows(feed, "alice: hello from alice"), "not in the feed");
  await bob.screenshot({ path: `${shots}chat-bob.png` });
  await bob.close();
  check("chat: the leave notice appears when a page closes", await logShows(alice, "bob left"), "no leave line");
  const leaked = await logShows(other, "alice: hello from alice", 500);
  check("chat: a page in another room sees none of it", !leaked, "the other room saw the message");
  check("chat: no script errors", errors.length === 0, errors.join("; "));
  await alice.screenshot({ path: `${shots}chat-alice.png` });
  await other.screenshot({ path: `${shots}chat-other-room.png` });
  await feed.screenshot({ path: `${shots}chat-feed.png` });
  for (const p of [alice, other, feed]) await p.close();
}

// Two chat processes sharing a room through Redis: Alice's page is served
// by A, Bob's by B.
async function checkChatAcrossProcesses(addrA, addrB) {
  const [alice, bob] = await Promise.all([1, 2].map(() => browser.newPage()));
  const errors = [];
  for (const p of [alice, bob]) p.on("pageerror", (e) => errors.push(String(e)));
  await alice.goto(`http://${addrA}/?room=kitchen`);
  await bob.goto(`http://${addrB}/?room=kitchen`);
  await join(alice, "alice");
  await join(bob, "bob");
  check("chat on two processes: B's join reaches A's page", await logShows(alice, "bob joined"), "no join line");
  await alice.fill("#message", "typed on A");
  await alice.click("#send");
  check("chat on two processes: a message typed on A appears on B", await logShows(bob, "alice: typed on A"), "not shown");
  await bob.fill("#message", "typed on B");
  await bob.click("#send");
  check("chat on two processes: and one typed on B appears on A", await logShows(alice, "bob: typed on B"), "not shown");
  check("chat on two processes: no script errors", errors.length === 0, errors.join("; "));
  await alice.screenshot({ path: `${shots}chat-redis-a.png` });
  await bob.screenshot({ path: `${shots}chat-redis-b.png` });
  for (const p of [alice, bob]) await p.close();
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

  // ws_client.html straight from the file system, against ws_serve.
  const echo = await start("ws_serve", ["--addr", "127.0.0.1:0"], 1);
  running.push(echo.child);
  const echoAddr = echo.lines[0].replace("listening on ", "");
  const clientPage = new URL("../../examples/ws_client.html", import.meta.url).href;
  {
    const page = await browser.newPage();
    try {
      await page.goto(`${clientPage}?url=ws://${echoAddr}/`);
      await page.waitForFunction(() => document.getElementById("status").textContent === "open", null, { timeout: 10000 });
      await page.click("#send");
      await page.waitForFunction(() => document.getElementById("log").value.includes("Hello world!"), null, { timeout: 10000 });
      check("ws_client.html from a file: the echo shows", true);
    } catch (e) {
      check("ws_client.html from a file: the echo shows", false, e.message);
    } finally {
      await page.screenshot({ path: `${shots}ws_client.png` }).catch(() => {});
      await page.close();
    }
  }

  const chat = await start("chat", ["--addr", "127.0.0.1:0"], 1);
  running.push(chat.child);
  await checkChat(chat.lines[0].replace("listening on ", ""));

  if (process.env.REDIS_URL) {
    const args = ["--addr", "127.0.0.1:0", "--redis", process.env.REDIS_URL];
    const a = await start("chat", args, 1);
    running.push(a.child);
    const b = await start("chat", args, 1);
    running.push(b.child);
    await checkChatAcrossProcesses(a.lines[0].replace("listening on ", ""), b.lines[0].replace("listening on ", ""));
  }
} finally {
  for (const child of running) child.kill();
  await browser.close();
  clearTimeout(deadline);
}
console.log(failed === 0 ? "examples: all pages checked" : `examples: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
