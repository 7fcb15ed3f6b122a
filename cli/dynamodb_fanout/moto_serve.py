"""moto's AWS stand-in on werkzeug's server, each response sent in one piece.

``python -m dynamodb_fanout.moto_serve -H 127.0.0.1 -p PORT`` is what ``moto_server``
runs (moto's WSGI app on werkzeug's threaded server, one log line per request),
with one difference: the status line, the headers and the body of a response
leave in a single ``sendall``. moto_server writes the headers and then the body,
two sends, so a client can read the headers alone.

The aws provider cannot afford that. Its SDK (aws-sdk-go-v2 on smithy-go) hands
a response on as soon as the headers are parsed, then closes the request body;
net/http's writer, if it has not yet finished with that body, reads the closed
body as an error and closes the connection. A body still in the socket is then
lost ("read tcp ...: use of closed network connection"), the SDK takes that for
a network error and sends the request again, and a create that moto already did
fails with "already exists" (a delete with "not found"). When the whole response
arrives with the headers, the client has it all before anything is closed.

"With the headers" means within the client's first read, 4 KiB (net/http's
read buffer). The provider's answers from moto in the demo and the upgrade test
are at most 3 KB; a larger one would still be exposed to the client's race.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import IO, Any

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

NO_BODY_STATUS = ("1", "204", "304")  # responses that carry no Content-Length (RFC 9110)


def whole_body(app: WSGIApp) -> WSGIApp:
    """The app's response as one body with its Content-Length, never a stream.

    werkzeug then writes the body with one call (it chunks only when the length
    is unknown), so the handler below can send headers and body together.
    """

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: list[Any] = []
        written: list[bytes] = []  # through the legacy write() callable, ahead of the iterable

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return written.append

        chunks = app(environ, capture)
        try:
            body = b"".join([*written, *chunks])
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers, exc_info = captured
        names = {name.lower() for name, _ in headers}
        headers = [(n, v) for n, v in headers if n.lower() != "transfer-encoding"]
        if (
            "content-length" not in names
            and environ.get("REQUEST_METHOD") != "HEAD"
            and not status.startswith(NO_BODY_STATUS)
        ):
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers, exc_info)
        return [body]

    return wrapped


class _HeldWriter:
    """Holds what is written until flush(), then sends it with one call."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._held: list[bytes] = []

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def write(self, data: bytes) -> int:
        self._held.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._raw.write(data)  # werkzeug's unbuffered socket writer: one sendall
        self._raw.flush()

    def close(self) -> None:
        if not self._raw.closed:
            self.flush()
        self._raw.close()


class OneSendRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, its output held until werkzeug flushes a response.

    werkzeug flushes once per body write, and ``whole_body`` makes that one
    write per response, so a response leaves in one send.
    """

    wfile: Any

    def setup(self) -> None:
        super().setup()
        self.wfile = _HeldWriter(self.wfile)

    def handle_expect_100(self) -> bool:
        """Send the interim 100 Continue at once: the client waits for it to send the body."""
        self.send_response_only(HTTPStatus.CONTINUE)
        self.end_headers()
        self.wfile.flush()
        del self.headers["Expect"]  # answered; werkzeug's run_wsgi would send another
        return True


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto_server, each response in one send")
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, required=True, help="port to bind")
    args = parser.parse_args(argv)

    # As moto_server does: moto reads it where it points code back at itself (Lambda, Batch).
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGINT, _exit)
    signal.signal(signal.SIGTERM, _exit)

    app = whole_body(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=OneSendRequestHandler)


if __name__ == "__main__":
    main()
