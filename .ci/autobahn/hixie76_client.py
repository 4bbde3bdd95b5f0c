# A real third-party hixie-76 (hybi-00) client against the demo's /ws:
# Autobahn|Python's, the library the test suite is built on, which sends the
# eight key bytes as a body with `Content-Length: 8`. It sends text messages
# (ASCII and multi-byte UTF-8), expects each echoed unchanged, then runs the
# closing handshake and requires it to be clean.
#
#   python2.7 hixie76_client.py ws://127.0.0.1:PORT/ws
#
# Exit status 0 when every echo came back and the close was clean.
from __future__ import print_function

import sys

from autobahn.twisted.websocket import (WebSocketClientFactory,
                                        WebSocketClientProtocol, connectWS)
from twisted.internet import reactor

MESSAGES = [u"hello from hixie-76", u"h\u00e9llo w\u00f6rld \u20ac", u"x" * 70000]
result = {"echoed": 0, "clean": False, "error": None}


class Client(WebSocketClientProtocol):
    def onOpen(self):
        self.pending = list(MESSAGES)
        self.sendMessage(self.pending[0].encode("utf-8"), isBinary=False)

    def onMessage(self, payload, isBinary):
        want = self.pending.pop(0)
        if isBinary or payload.decode("utf-8") != want:
            result["error"] = "echo mismatch: %r" % (payload[:60],)
            self.sendClose()
            return
        result["echoed"] += 1
        if self.pending:
            self.sendMessage(self.pending[0].encode("utf-8"), isBinary=False)
        else:
            self.sendClose()

    def onClose(self, wasClean, code, reason):
        result["clean"] = wasClean
        if not wasClean and result["error"] is None:
            result["error"] = "unclean close: %s" % (reason,)
        reactor.stop()


def main():
    url = sys.argv[1]
    factory = WebSocketClientFactory(url)
    factory.setProtocolOptions(version=0, allowHixie76=True)
    factory.protocol = Client
    connectWS(factory)
    reactor.callLater(30, lambda: (result.update(error="timed out"), reactor.stop()))
    reactor.run()
    ok = result["echoed"] == len(MESSAGES) and result["clean"] and result["error"] is None
    print("hixie-76 client: %d of %d echoes, clean close: %s%s" % (
        result["echoed"], len(MESSAGES), result["clean"],
        "" if ok else ", error: %s" % (result["error"],)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
