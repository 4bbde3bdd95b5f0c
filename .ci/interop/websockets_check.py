"""Python's `websockets` client (permessage-deflate on by default) against
the demo's /ws: the extension is negotiated, and text and binary messages
of 64 B to 2 MiB come back unchanged, compressed both ways.

usage: python websockets_check.py HOST:PORT
"""
import asyncio
import sys

from websockets.asyncio.client import connect

failed = 0


def check(name, ok, detail=""):
    global failed
    print(f"{'ok  ' if ok else 'FAIL'} websockets: {name}{'' if ok else ': ' + detail}")
    if not ok:
        failed += 1


def text(n):
    unit = '{"user":"ada","text":"né hello ✓ the same words again"} '
    return (unit * (n // len(unit) + 1))[:n]


async def main(target):
    mib = 1 << 20
    async with connect(f"ws://{target}/ws", max_size=4 * mib) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        check("permessage-deflate is negotiated", "permessage-deflate" in agreed, agreed)
        names = [type(e).__name__ for e in ws.protocol.extensions]
        check("the connection compresses", names == ["PerMessageDeflate"], repr(names))
        cases = [
            ("64 B text", text(64)),
            ("16 KiB text", text(16 * 1024)),
            ("1 MiB text", text(mib)),
            ("2 MiB binary", bytes((i * 31) % 251 for i in range(2 * mib))),
        ]
        for name, payload in cases:
            await ws.send(payload)
            echoed = await ws.recv()
            check(f"{name} echoed unchanged", echoed == payload, f"{len(echoed)} back")
        await ws.close()
        check("clean close", ws.close_code == 1000, f"code {ws.close_code}")


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 60))
print(f"websockets: {'all checks passed' if failed == 0 else f'{failed} failed'}")
sys.exit(0 if failed == 0 else 1)
