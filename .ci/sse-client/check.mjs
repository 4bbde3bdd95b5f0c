// Drives the demo's /events with the third-party `eventsource` package:
// multi-line data, event types and ids arrive intact, and after the
// connection drops the client resumes with Last-Event-ID and receives only
// what it missed. usage: node check.mjs HOST:PORT
import net from "node:net";
import { EventSource } from "eventsource";

const target = process.argv[2];
if (!target) { console.error("usage: node check.mjs HOST:PORT"); process.exit(2); }
const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
const deadline = setTimeout(() => { console.error("sse-client: timed out"); process.exit(1); }, 30000);

// A proxy in front of the demo so the test can cut the stream like a
// network failure would, and see the headers of each request.
const requests = [];
const live = new Set();
const proxy = net.createServer((client) => {
  const upstream = net.connect(port, host);
  live.add(client); live.add(upstream);
  let head = "";
  client.on("data", (d) => { if (!head.includes("\r\n\r\n")) { head += d.toString("latin1"); if (head.includes("\r\n\r\n")) requests.push(head); } upstream.write(d); });
  upstream.on("data", (d) => client.write(d));
  const end = () => { client.destroy(); upstream.destroy(); live.delete(client); live.delete(upstream); };
  client.on("close", end); upstream.on("close", end); client.on("error", end); upstream.on("error", end);
});
await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
const proxied = `http://127.0.0.1:${proxy.address().port}`;

async function publish(query, body) {
  const res = await fetch(`http://${target}/publish?${query}`, { method: "POST", body });
  if (res.status !== 204) throw new Error(`publish answered ${res.status}`);
}

const got = [];
let waiters = [];
function record(type) {
  return (e) => { got.push({ type, data: e.data, id: e.lastEventId }); waiters.forEach((w) => w()); };
}
function until(n) {
  return new Promise((resolve) => { const check = () => { if (got.length >= n) resolve(); }; waiters.push(check); check(); });
}

const es = new EventSource(`${proxied}/events`);
es.addEventListener("message", record("message"));
es.addEventListener("greeting", record("greeting"));
await new Promise((resolve, reject) => { es.onopen = resolve; es.onerror = (e) => reject(new Error("open failed: " + e.message)); });
es.onerror = () => {};

await publish("id=1&event=greeting", "line one\nline two\r\nline three");
await publish("id=2", "second");
await until(2);

// Cut the stream; publish while the client is away; it must come back
// with Last-Event-ID: 2 and get exactly the missed event.
for (const s of live) s.destroy();
await new Promise((r) => setTimeout(r, 200));
await publish("id=3", "missed while away");
await until(3);
es.close();

const expect = [
  { type: "greeting", data: "line one\nline two\nline three", id: "1" },
  { type: "message", data: "second", id: "2" },
  { type: "message", data: "missed while away", id: "3" },
];
const fail = (msg) => { console.error("sse-client: FAIL " + msg); console.error(JSON.stringify(got, null, 1)); process.exit(1); };
if (got.length !== expect.length) fail(`expected ${expect.length} events, got ${got.length}`);
expect.forEach((e, i) => { for (const k of Object.keys(e)) if (got[i][k] !== e[k]) fail(`event ${i} ${k}: ${JSON.stringify(got[i][k])} != ${JSON.stringify(e[k])}`); });
if (requests.length < 2) fail("the client never reconnected");
if (!/^last-event-id: *2\r$/im.test(requests[1])) fail("the reconnect did not carry Last-Event-ID: 2:\n" + requests[1]);
clearTimeout(deadline);
proxy.close();
console.log("sse-client: 3 passed, 0 failed");
process.exit(0);
