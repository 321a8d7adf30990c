"""safesignal under a real gunicorn, started with the exact command `make run` uses.

gunicorn answers malformed requests itself, before the application, and logs them; these tests send
such requests over raw sockets (IPv4 and, where the machine has it, IPv6) and read what gunicorn
answered and wrote: JSON answers that never quote the request, and no client address in any log
line. They also ask a worker, through a test-only app, how many threads its BLAS runs with.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = b"zq9marker"  # in every malformed request: an answer must never repeat it

# (name, raw request, the status gunicorn answers)
MALFORMED = [
    ("bad request line", b"GARBAGE-" + MARKER + b"\r\n\r\n", 400),
    ("bad method", b"G@T-" + MARKER + b" / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bad HTTP version", b"GET /" + MARKER + b" HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    ("URI too long", b"GET /" + MARKER + b"a" * 8200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("header too large", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + MARKER + b"a" * 9000 + b"\r\n\r\n", 431),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, MARKER) for i in range(120)) + b"\r\n", 431),
    ("invalid header name", b"GET / HTTP/1.1\r\nHost: x\r\nBad " + MARKER + b": 1\r\n\r\n", 400),
    ("bad content length", b"POST /v1/devices/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: " + MARKER + b"\r\n\r\n", 400),
    ("length and chunked", b"POST /v1/devices/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("unknown transfer coding", b"POST /v1/devices/enroll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + MARKER + b"\r\n\r\n", 501),
    ("bad chunk size", b"POST /v1/devices/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n" + MARKER + b"\r\n{}\r\n0\r\n\r\n", 400),
]


def _free_port(family: socket.AddressFamily, host: str) -> int:
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _has_ipv6() -> bool:
    try:
        _free_port(socket.AF_INET6, "::1")
    except OSError:
        return False
    return True


def make_run_gunicorn(port: int) -> list[str]:
    """The gunicorn command line `make run` runs, as make prints it for this port."""
    printed = subprocess.run(
        ["make", "-s", "-n", "run", "HOST=127.0.0.1", f"PORT={port}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for line in printed.splitlines():
        words = shlex.split(line) if "gunicorn" in line else []
        if words and words[0].endswith("/gunicorn"):
            return words
    raise AssertionError(f"no gunicorn command in `make -n run`:\n{printed}")


def deployment_env(directory: Path) -> dict[str, str]:
    """A production configuration on SQLite files in `directory`, migrated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESIGNAL_") and not k.endswith("_NUM_THREADS")}
    secret = lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # noqa: E731
    env.update(
        SAFESIGNAL_ENV="production",
        SAFESIGNAL_DATABASE_URL=f"sqlite:///{directory / 'safesignal.db'}",
        SAFESIGNAL_KEYS_DATABASE_URL=f"sqlite:///{directory / 'keys.db'}",
        SAFESIGNAL_KEK=secret(),
        SAFESIGNAL_PSEUDONYM_KEY=secret(),
        SAFESIGNAL_AUDIT_SIGNING_KEY=secret(),
        SAFESIGNAL_AUDIT_MAC_KEY=secret(),
        SAFESIGNAL_TRACING_TOKEN_KEY=secret(),
        SAFESIGNAL_WEB_SECRET_KEY=secret(),
    )
    subprocess.run([sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def _get(host: str, port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Gunicorn:
    """A gunicorn process whose output (stdout and stderr) goes to a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get("127.0.0.1", port, "/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"gunicorn did not start:\n{self.output()[-3000:]}")

    def stop(self) -> str:
        """Stop it (SIGTERM, gracefully) and return everything it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def send_raw(family: socket.AddressFamily, host: str, port: int, data: bytes) -> bytes:
    """Send `data` as is and read the answer until gunicorn closes the connection."""
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(15)
        client.connect((host, port))
        client.sendall(data)
        answer = b""
        try:
            while chunk := client.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass  # gunicorn closed with our unread bytes pending; what came before is the answer
        return answer


@pytest.fixture(scope="module")
def malformed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every malformed request sent to `make run`'s gunicorn over IPv4 (and IPv6): answers and log."""
    directory = tmp_path_factory.mktemp("gunicorn")
    port = _free_port(socket.AF_INET, "127.0.0.1")
    command = make_run_gunicorn(port)
    targets = [(socket.AF_INET, "127.0.0.1", port)]
    if _has_ipv6():
        port6 = _free_port(socket.AF_INET6, "::1")
        command[1:1] = ["--bind", f"[::1]:{port6}"]
        targets.append((socket.AF_INET6, "::1", port6))
    server = Gunicorn(command, deployment_env(directory), directory / "gunicorn.log", port)
    answers: dict[tuple[str, str], bytes] = {}
    try:
        for family, host, target_port in targets:
            for name, data, _ in MALFORMED:
                answers[(host, name)] = send_raw(family, host, target_port, data)
    finally:
        log = server.stop()
    return {"answers": answers, "log": log, "hosts": [host for _, host, _ in targets]}


def test_no_log_line_holds_a_client_address(malformed_run: dict[str, Any]) -> None:
    """gunicorn logs each malformed request (gunicorn's own: "Invalid request from ip=..."), without the address."""
    log = malformed_run["log"]
    assert "Invalid request" in log  # it did log them: the test is not reading an empty file
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert address not in log, [line for line in log.splitlines() if address in line][:3]
    assert "ip=" not in log
    assert MARKER.decode() not in log


@pytest.mark.parametrize(("name", "status"), [(name, status) for name, _, status in MALFORMED])
def test_gunicorns_own_answers_are_json(malformed_run: dict[str, Any], name: str, status: int) -> None:
    """gunicorn's 400/414/431/501 answers have the API's error shape and never quote the request."""
    for host in malformed_run["hosts"]:
        answer = malformed_run["answers"][(host, name)]
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *headers = head.decode("latin-1").split("\r\n")
        assert status_line.split(" ", 2)[1] == str(status), answer[:300]
        assert "content-type: application/json" in [h.lower() for h in headers]
        assert "x-content-type-options: nosniff" in [h.lower() for h in headers]  # as every answer of the API
        error = json.loads(body)
        assert set(error) == {"code", "status", "message"}
        assert error["code"] == status and error["message"]
        assert MARKER not in answer


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("Invalid request from ip=127.0.0.1: bad", "Invalid request from ip=[address]: bad"),
    ("Invalid request from ip=::1: bad", "Invalid request from ip=[address]: bad"),
    ("from ::1 and [::1]:8000 and fe80::1%eth0", "from [address] and [address]:8000 and [address]"),
    ("peer ('2001:db8::7', 51234, 0, 0)", "peer ('[address]', 51234, 0, 0)"),
    ("mapped ::ffff:10.0.0.1 and 192.168.1.20:443", "mapped [address] and [address]:443"),
    ("[2026-12-06 14:58:58 +0000] [123] [INFO] version 1.2.3 took 0.5 s", "[2026-12-06 14:58:58 +0000] [123] [INFO] version 1.2.3 took 0.5 s"),
])
def test_scrub_addresses(text: str, scrubbed: str) -> None:
    """Every IPv4 and IPv6 form goes; times of day and version numbers stay."""
    from service.gunicorn import scrub_addresses

    assert scrub_addresses(text) == scrubbed


def test_a_worker_runs_one_blas_thread(tmp_path: Path) -> None:
    """OPENBLAS_NUM_THREADS=1 takes effect in a worker of `make run`'s gunicorn (set after numpy loads, it would not)."""
    port = _free_port(socket.AF_INET, "127.0.0.1")
    command = make_run_gunicorn(port)
    assert command[-1] == "service:create_app()"
    command[-1] = "tests.gunicorn_probe_app:app"  # the same app, plus the test-only probe
    server = Gunicorn(command, deployment_env(tmp_path), tmp_path / "gunicorn.log", port)
    try:
        status, body = _get("127.0.0.1", port, "/_probe/blas")
        logged = _get("127.0.0.1", port, "/_probe/log-address")[0]
    finally:
        log = server.stop()
    # The application's own logging goes through the same filter (post_worker_init).
    assert logged == 204 and "request from [address]" in log and "127.0.0.1" not in log
    assert status == 200
    blas = [library for library in json.loads(body) if library["user_api"] == "blas"]
    assert blas, "numpy's BLAS is not loaded in the worker"
    assert [library["num_threads"] for library in blas] == [1] * len(blas)


def test_the_safesignal_command_runs_one_blas_thread(tmp_path: Path) -> None:
    """`safesignal` (the scheduler, the CLI) sets the BLAS threads before a command loads numpy."""
    env = deployment_env(tmp_path)
    probe = (
        "import json, sys\n"
        "from service.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'numpy' in sys.modules, 'the command did not load numpy'\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps([lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas']))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert threads and threads == [1] * len(threads)
