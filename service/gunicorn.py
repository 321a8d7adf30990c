"""How safesignal runs under gunicorn: its settings, a logger that cannot write a client address, and
a worker whose own error answers have the API's JSON error shape.

`gunicorn.conf.py` at the top of the repository imports these settings (`make run` uses it); from an
installed wheel, `gunicorn -c python:service.gunicorn` reads the same module.

Why a logger of our own: gunicorn itself writes client addresses. Its worker logs every malformed
request as "Invalid request from ip=<address>: ..." at warning level, and its access log format
starts with `%(h)s`, the remote address, with `%({x-forwarded-for}i)s` or `%({remote_addr}e)s` a
format away. A service that promises never to record who reported cannot have its front door do it.
So every message of gunicorn's error and access logs passes through `scrub_addresses` (the message,
its arguments, a traceback), the `h` atom of the access log is always "-", the worker logs what
went wrong without the address, and the access log stays off (`accesslog = None`). The filter is
also put on the worker's root handlers, which the application's own logging uses.

Why a worker of our own: gunicorn answers a request it cannot parse (bad request line, header too
large, request line too long, bad chunked body...) itself, before the application sees it, with an
HTML page that quotes the offending input. `JsonErrorWorker.handle_error` answers the same statuses
with `{"code", "status", "message"}`, a fixed message per status that never repeats the input.
What it cannot change: a connection gunicorn drops without an answer (a client that disconnects, a
request that times out, a worker killed by the arbiter), TLS handshake failures, and HTTP/2
protocol errors (answered by h2 frames, not a body).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import ssl
import threading
from typing import Any

from gunicorn import glogging, util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

# One BLAS thread per process: the suppression audit's eigendecomposition is small, and OpenBLAS's
# own threads fought gunicorn's on a 2-core machine (release p95 0.5 s -> 1.3 s, bench/signals.py).
# OpenBLAS reads this once, when numpy first loads it, so it must be set here, in the arbiter, before
# any worker imports the application (create_app imports numpy through shapely before it could set
# it). An operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# gunicorn settings (see gunicorn.conf.py); the command line overrides them.
wsgi_app = "service:create_app()"
bind = ["127.0.0.1:8000"]
worker_class = "service.gunicorn.JsonErrorWorker"
threads = 4
logger_class = "service.gunicorn.PrivateLogger"
# No access log: it would record client addresses. If an operator turns it on, the `h` atom is "-"
# and every line is scrubbed, but a log of who asked when is still a log of who reported.
accesslog = None
errorlog = "-"
# No control socket (gunicorn 24+ opens one in the home directory): nothing here manages gunicorn
# through it, and two instances on one machine would share its path.
control_socket_disable = True

ADDRESS_PLACEHOLDER = "[address]"
_IPV6_CANDIDATE = re.compile(r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?:%[\w.]+)?")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def _ipv6_or_same(match: re.Match[str]) -> str:
    text = match.group(0)
    # The candidate may have swallowed the colon after an address ("ip=::1: Invalid request").
    for candidate in (text, text.rstrip(":")):
        try:
            ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            continue
        return ADDRESS_PLACEHOLDER + text[len(candidate):]
    return text  # a time of day such as 14:58:58, not an address


def scrub_addresses(text: str) -> str:
    """`text` with every IPv4 and IPv6 address replaced by "[address]"."""
    scrubbed = _IPV4.sub(ADDRESS_PLACEHOLDER, _IPV6_CANDIDATE.sub(_ipv6_or_same, text))
    return scrubbed.replace(f"[{ADDRESS_PLACEHOLDER}]", ADDRESS_PLACEHOLDER)  # http://[::1]:8000


class AddressFilter(logging.Filter):
    """Rewrites a record's message and traceback without client addresses; drops nothing."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place (before any handler formats it)."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed format: keep only the template, never the arguments
            message = str(record.msg)
        record.msg, record.args = scrub_addresses(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_addresses(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_addresses(record.stack_info)
        return True


ADDRESS_FILTER = AddressFilter()


class PrivateLogger(glogging.Logger):
    """gunicorn's logger with every error and access message scrubbed of client addresses."""

    def setup(self, cfg: Any) -> None:
        """Set up gunicorn's handlers, then put the address filter on both loggers."""
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if ADDRESS_FILTER not in log.filters:
                log.addFilter(ADDRESS_FILTER)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """The access log's atoms, with the remote address `h` blanked."""
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = "-"
        return atoms


# gunicorn's status for each error it answers itself (workers/base.py handle_error), with a fixed
# message: gunicorn's own quotes the offending request line or header.
_ANSWERS: tuple[tuple[tuple[type[BaseException], ...], int, str, str], ...] = (
    ((http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName), 500, "Internal Server Error",
     "The server could not answer this request."),
    ((http_errors.LimitRequestLine,), 414, "URI Too Long", "The request line is too long."),
    ((http_errors.LimitRequestHeaders,), 431, "Request Header Fields Too Large",
     "The request has too many headers, or one is too large."),
    ((http_errors.ExpectationFailed,), 417, "Expectation Failed", "The request's Expect header cannot be met."),
    ((http_errors.ForbiddenProxyRequest, ssl.SSLError), 403, "Forbidden", "The request is not allowed from here."),
    ((http_errors.UnsupportedTransferCoding,), 501, "Not Implemented", "The request's transfer coding is not supported."),
    ((http_errors.ConfigurationProblem,), 500, "Internal Server Error", "The server could not answer this request."),
    ((http_errors.ParseException,), 400, "Bad Request", "The request is not valid HTTP."),
)


def error_answer(exc: BaseException) -> tuple[int, str, str]:
    """The status, reason and message gunicorn's own answer to `exc` carries."""
    for classes, status, reason, message in _ANSWERS:
        if isinstance(exc, classes):
            return status, reason, message
    return 500, "Internal Server Error", "The server could not answer this request."


_SERVER_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName, http_errors.ConfigurationProblem)


def _callers_fault(exc: BaseException) -> bool:
    return isinstance(exc, (http_errors.ParseException, ssl.SSLError)) and not isinstance(exc, _SERVER_FAULTS)


class _Body:
    """The request body as the application reads it: a body gunicorn cannot parse (a bad chunk size,
    a missing terminator) becomes a 400 in the API's shape instead of an exception in the view
    (which Flask would answer 500, logging a traceback that quotes the bad chunk)."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.broken = False

    def _guard(self, read: Any, *args: Any) -> Any:
        try:
            return read(*args)
        except http_errors.ParseException:
            from werkzeug.exceptions import BadRequest

            self.broken = True
            error = BadRequest()
            error.data = {"message": "The request body is not valid HTTP (its chunked encoding is broken)."}  # type: ignore[attr-defined]
            raise error from None

    def read(self, size: int | None = None) -> bytes:
        """Read the body (gunicorn's Body.read)."""
        return self._guard(self.body.read, size)  # type: ignore[no-any-return]

    def readline(self, size: int | None = None) -> bytes:
        """Read a line of the body (gunicorn's Body.readline)."""
        return self._guard(self.body.readline, size)  # type: ignore[no-any-return]

    def readlines(self, size: int | None = None) -> list[bytes]:
        """Read the body's lines (gunicorn's Body.readlines)."""
        return self._guard(self.body.readlines, size)  # type: ignore[no-any-return]

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        return self._guard(self.body.__next__)  # type: ignore[no-any-return]


class JsonErrorWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are JSON and whose logs hold no address."""

    def load_wsgi(self) -> None:
        """Load the application, wrapped so that an unparsable body is the caller's 400."""
        super().load_wsgi()
        application = self.wsgi
        self.current = threading.local()  # a gthread request runs in one thread, start to end

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgi.input"] = self.current.body = _Body(environ["wsgi.input"])
            return application(environ, start_response)

        self.wsgi = guarded

    def handle_request(self, req: Any, conn: Any) -> bool:
        """Serve the request; close the connection after a body that could not be parsed."""
        self.current.body = None
        keepalive = super().handle_request(req, conn)
        body, self.current.body = self.current.body, None
        # What follows a broken chunk cannot be framed as the next request.
        return bool(keepalive) and not (body is not None and body.broken)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Log what went wrong (never who sent it) and answer in the API's JSON error shape."""
        status, reason, message = error_answer(exc)
        if not _callers_fault(exc):
            path = getattr(req, "path", None)
            self.log.exception("Error handling request %s %s", getattr(req, "method", "-"), path or "(no URI read)")
        else:
            # The class says what was wrong; str(exc) would quote the caller's request line or header.
            self.log.warning("Invalid request answered %d: %s", status, type(exc).__name__)
        body = json.dumps({"code": status, "status": reason, "message": message}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")


def post_worker_init(worker: Any) -> None:
    """Put the address filter on the root handlers the application logs through (gunicorn hook)."""
    for handler in logging.getLogger().handlers:
        if ADDRESS_FILTER not in handler.filters:
            handler.addFilter(ADDRESS_FILTER)
