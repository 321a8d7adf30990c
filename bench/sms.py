"""Text messages: inbound webhooks per second against a bare endpoint, and the outbox's sending rate.

Issue 14's "done when": bench/ measures inbound webhooks per second against a bare endpoint in the
same run (target at least 40%), and the outbox's throughput against the emulator.

For each database (SQLite files with the service's own settings; PostgreSQL when reachable, in
databases named bench_sms_* (--pg-prefix), fresh every run), one deployment in production mode with
throwaway keys and SMS configured as a real deployment configures Twilio: explicit credentials
(SAFESIGNAL_SMS_TWILIO_*), SMS_PROVIDER=twilio, SMS_TWILIO_API_URL at the gateway emulator
(service.sms.emulator, run as its own process, `python -m service.sms.emulator`, so that its work
does not share a Python interpreter with the bench), SMS_WEBHOOK_URL the service's own address (what
Twilio signs), SMS_INBOUND_PER_MINUTE high enough that the rate guard never answers 429 here.

  inbound    POST /v1/sms/twilio/inbound under gunicorn as `make run` serves it (gunicorn.conf.py,
             2 gthread workers x 4 threads), from --clients client PROCESSES (not threads: a client
             signs each webhook, and threads of one interpreter would share its lock with each
             other; the other HTTP benches use processes too), a new connection per request, as
             Twilio opens them. Each webhook is Twilio's form as the emulator builds it (From, To,
             Body, MessageSid, NumSegments, SmsSid, AccountSid ...), a MessageSid never sent
             before, signed with service.sms.gateways.twilio_signature over SMS_WEBHOOK_URL + path.
             Senders: every client has its own block of numbers and sends TEXTS_PER_NUMBER texts
             from each (flood control allows 10 a day, replies 3), so a series comes from
             thousands of distinct numbers and all of them are stored and replied to. Bodies:
             BODIES, keywords of the demo's SMS file in four languages with a postcode and a
             short note (screened and encrypted by intake), a keyword alone (MASKER19: no reply),
             and texts with no keyword (the catch-all); chosen at random per text.
             The reply path: the view queues the reply in the request's transaction and sends it
             after the answer has gone out (response.call_on_close), on the same worker thread;
             the emulator then posts two signed status callbacks ("sent", "delivered") to the
             service, which the service verifies and applies (the second deletes the outbox row).
             So the service's rate includes what each text costs it in full, reply and receipts
             included (the thread is busy until its reply is sent; receipts take threads from
             the next webhooks), while the latency is that of the answer alone, as Twilio sees
             it. After each series the bench waits until every reply queued has reached the
             emulator and says how long that took after the last answer ("drain"), and counts
             what was stored: reports of the sms channel == webhooks answered 200, and the
             service's own counts (reported, replied) alike.
             ceiling: a bare Flask endpoint on the same gunicorn settings (bench/bare_app.py's app
             plus the route this file adds: bench.sms:bare_app()) that parses the same form body
             and answers the same empty TwiML (TwilioGateway.acknowledgement), posted the same
             signed bodies by the same clients.
             Warm-up, untimed: a second of each. Then --repeat rounds of --seconds each, the two
             interleaved (order alternating), best rate kept with its latencies, as bench/intake.py
             does.
  outbox     --texts texts queued in-process with service.sms.outbox.enqueue (create_app with the
             same settings, inside an app context; sealed under the day's sms_outbox key as
             replies are), committed, the database ANALYZEd; then service.sms.jobs.run_outbox(state)
             timed: claim, decrypt, send to the emulator over real HTTP (the gateway's keep-alive
             httpx client), hash the provider id, commit, text by text.
             ceiling: the same number of sends of the same form (To, From, Body, StatusCallback) to
             the same emulator by a plain httpx.Client with keep-alive and basic auth, one after
             another as the outbox sends: the ratio is what the outbox adds per text (claim,
             decrypt, commits). The service is stopped by then, so the emulator's status callbacks
             find nobody (for both alike); the rows sent are deleted before the next round.
             --repeat rounds, the two interleaved, best kept.

Figures are printed beside their ceilings as ratios; nothing here asserts on time.
Usage: .venv/bin/python bench/sms.py [--quick] [--databases sqlite,postgresql] [--texts 2000]
--quick: 2 s series, one round, 300 texts: about a minute per database.
"""

from __future__ import annotations

import argparse
import base64
import gc
import http.client
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# Light imports only up here: gunicorn imports this module to serve bare_app().
from bench.intake import PG_ADMIN_URL, start_gunicorn, stop  # noqa: E402
from bench.signals import Databases, percentile, run_databases  # noqa: E402

PG_PREFIX = "bench_sms"
# Ports of their own, so this bench can run beside the others.
BARE_PORT, SERVICE_PORT, EMULATOR_PORT = 8795, 8796, 8797
INBOUND = "/v1/sms/twilio/inbound"
BARE_INBOUND = "/v1/bare/sms/twilio/inbound"
MUNICIPAL = "+3215000000"  # the demo SMS file's number
TARGET = 0.40
TEXTS_PER_NUMBER = 2
NUMBERS_PER_BLOCK = 50_000  # numbers +3247xxxxxxx: 200 blocks, one per client and series
POSTCODES = ("2800", "2801", "2811", "2812")
# What residents text (the demo's SMS file): keyword, postcode, a short note; a keyword alone; none.
BODIES = (
    "HULP {pc} ik slaap al een week op straat",
    "hulp {pc} geen geld meer voor de huur",
    "WONEN {pc} we moeten volgende maand uit ons huis",
    "voedsel {pc} geen eten meer voor de kinderen",
    "AIDE {pc} je n'ai plus de logement depuis lundi",
    "CRISIS {pc} het gaat echt niet meer",
    "MASKER19 {pc}",
    "GEWELD {pc} ruzie thuis, de politie is al geweest",
    "NAALD {pc} spuit in het park naast de speeltuin",
    "EENZAAM {pc} niemand komt nog langs",
    "HELP {pc} need somewhere to sleep tonight",
    "goeiemorgen, er is iets mis in onze straat",
    "Hallo wie leest dit?",
)


# --- the ceiling -------------------------------------------------------------------------------------


def bare_app() -> Any:
    """bench/bare_app.py's app with the ceiling of an inbound webhook: parse the same form body and
    answer the same empty TwiML. gunicorn serves 'bench.sms:bare_app()'."""
    from flask import Response, request

    from bench.bare_app import app
    from service.sms.gateways import TwilioGateway

    gateway = TwilioGateway("ACbare", "bare")
    body, content_type = gateway.acknowledgement()
    gateway.close()

    def inbound():  # type: ignore[no-untyped-def]
        request.form.to_dict()
        return Response(body, 200, content_type=content_type, headers={"Cache-Control": "no-store"})

    if "bare_sms_inbound" not in app.view_functions:
        app.add_url_rule(BARE_INBOUND, "bare_sms_inbound", inbound, methods=["POST"])
    return app


# --- load generation ---------------------------------------------------------------------------------


def _sender(block: int, n: int) -> str:
    return f"+3247{block * NUMBERS_PER_BLOCK + n // TEXTS_PER_NUMBER:07d}"


def webhook(url: str, account: str, token: str, sender: str, text: str) -> tuple[bytes, str]:
    """Twilio's inbound form as the emulator builds it, with a fresh MessageSid; (body, signature)."""
    from service.sms.emulator import segments
    from service.sms.gateways import twilio_signature

    sid = "SM" + uuid.uuid4().hex
    fields = {"ToCountry": "BE", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
              "Body": text, "FromCountry": "BE", "To": MUNICIPAL, "NumSegments": str(segments(text)), "MessageSid": sid,
              "AccountSid": account, "From": sender, "ApiVersion": "2010-04-01"}
    signature = twilio_signature(token, url, {name: [value] for name, value in fields.items()})
    return urllib.parse.urlencode(fields).encode("ascii"), signature


def _client(port: int, path: str, url: str, account: str, token: str, seconds: float, block: int, queue) -> None:  # type: ignore[no-untyped-def]
    """One client process: signed webhooks from its block of numbers until the time is up."""
    rng = random.Random(block)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        text = rng.choice(BODIES).format(pc=rng.choice(POSTCODES))
        body, signature = webhook(url, account, token, _sender(block, n), text)
        n += 1
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        began = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        latencies.append(1000 * (time.perf_counter() - began))
        statuses[response.status] = statuses.get(response.status, 0) + 1
    queue.put((statuses, latencies))


def load(port: int, path: str, url: str, deployment: "SmsDeployment", seconds: float, clients: int, series: int) -> dict[str, Any]:
    """Webhooks per second answered 200 from `clients` client processes; number blocks of `series`."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_client, args=(port, path, url, deployment.account, deployment.token, seconds,
                                                               series * clients + seed, queue))
                 for seed in range(clients)]
    began = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - began
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    for partial, lat in results:
        latencies += lat
        for status, n in partial.items():
            statuses[status] = statuses.get(status, 0) + n
    return {"per_s": statuses.get(200, 0) / elapsed, "ok": statuses.get(200, 0), "statuses": statuses,
            "seconds": elapsed, "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "max_ms": max(latencies)}


# --- the deployment ----------------------------------------------------------------------------------


class SmsDeployment:
    """The bench's deployment: its databases, keys, Twilio credentials and the in-process app."""

    def __init__(self, databases: Databases):
        self.databases = databases
        self.name = "sms"
        self.account = "AC" + secrets.token_hex(16)
        self.token = secrets.token_hex(16)
        self.webhook_url = f"http://127.0.0.1:{SERVICE_PORT}"
        self.settings: dict[str, Any] = {
            "ENV": "production", "LOG_LEVEL": "WARNING",
            **{name: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
               for name in ("KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY", "AUDIT_MAC_KEY", "TRACING_TOKEN_KEY", "WEB_SECRET_KEY")},
            "DATABASE_URL": databases.url(self.name), "KEYS_DATABASE_URL": databases.url(self.name + "_keys"),
            "SMS_PROVIDER": "twilio", "SMS_TWILIO_ACCOUNT_SID": self.account, "SMS_TWILIO_AUTH_TOKEN": self.token,
            "SMS_TWILIO_API_URL": f"http://127.0.0.1:{EMULATOR_PORT}", "SMS_WEBHOOK_URL": self.webhook_url,
            # The rate guard is per worker; the bench must measure the service, not the guard.
            "SMS_INBOUND_PER_MINUTE": 10_000_000,
        }
        self.app: Any = None
        self.state: Any = None

    def create(self) -> None:
        """Empty, migrated databases."""
        from database.engines import make_engine
        from service.migrations import upgrade

        for database, target in ((self.name, "main"), (self.name + "_keys", "keys")):
            engine = make_engine(self.databases.create(database))
            upgrade(engine, target=target)  # type: ignore[arg-type]
            engine.dispose()

    def open(self) -> None:
        """The service's state on these databases, in this process."""
        from service import create_app

        self.app = create_app(dict(self.settings))
        self.state = self.app.extensions["safesignal"]
        if self.state.sms.file is None or "twilio" not in self.state.sms.gateways:
            raise RuntimeError("the SMS channel is off in the bench deployment")

    def env(self) -> dict[str, str]:
        """The deployment's settings as SAFESIGNAL_* variables, for gunicorn and the emulator."""
        env = dict(os.environ)
        env.update({f"SAFESIGNAL_{key}": str(value) for key, value in self.settings.items()})
        return env

    def settle(self) -> None:
        """What autovacuum would have done (it is off on the bench server), then a checkpoint."""
        self.databases.settle(self.name)

    def tallies(self) -> dict[str, int]:
        """Reports of the sms channel, rows in the outbox, and the service's own counts by outcome."""
        from sqlalchemy import func, select

        from service.reports.models import Report
        from service.sms.models import SmsCount, SmsOutbox

        with self.state.sessions() as session:
            found = {"reports": session.scalar(select(func.count()).select_from(Report).where(Report.channel == "sms")),
                     "outbox_rows": session.scalar(select(func.count()).select_from(SmsOutbox))}
            for outcome, n in session.execute(select(SmsCount.outcome, func.sum(SmsCount.n)).group_by(SmsCount.outcome)):
                found[outcome] = int(n)
        return found

    def close(self) -> None:
        if self.state is not None:
            self.state.engine.dispose()
            self.state.keys_engine.dispose()
            self.state = self.app = None


class Emulator:
    """The gateway emulator as its own process (`python -m service.sms.emulator`), its log in bench/out."""

    def __init__(self, deployment: SmsDeployment, log: Path):
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.sms.emulator", "--port", str(EMULATOR_PORT), "--service", deployment.webhook_url],
            cwd=ROOT, env=deployment.env(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                self.messages()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the emulator did not start")

    def _request(self, method: str, path: str) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", EMULATOR_PORT, timeout=30)
        try:
            connection.request(method, path, body=b"{}" if method == "POST" else None)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def messages(self) -> int:
        """How many texts the emulator has taken since its last reset."""
        return len(self._request("GET", "/emulator/messages"))

    def reset(self) -> None:
        self._request("POST", "/emulator/reset")

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


@contextmanager
def servers(deployment: SmsDeployment, args: argparse.Namespace) -> Iterator[None]:
    """The bare app and the service under gunicorn, stopped on exit; logs in bench/out/sms-gunicorn-*.log."""
    processes, logs = [], []
    try:
        for label, port, spec, env in (("bare", BARE_PORT, "bench.sms:bare_app()", dict(os.environ)),
                                       ("service", SERVICE_PORT, "service:create_app()", deployment.env())):
            logs.append(open(HERE / "out" / f"sms-gunicorn-{label}.log", "ab"))
            processes.append(start_gunicorn(spec, port, env, args.workers, args.threads, stderr=logs[-1]))
        yield
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()


# --- inbound -----------------------------------------------------------------------------------------


def drain(deployment: SmsDeployment, emulator: Emulator, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until every reply the service queued (its `replied` count) has reached the emulator; how long."""
    began = time.perf_counter()
    while True:
        expected, taken = deployment.tallies().get("replied", 0), emulator.messages()
        if taken >= expected or time.perf_counter() - began > timeout:
            return {"drain_s": time.perf_counter() - began, "replies_expected": expected, "replies_taken": taken}
        time.sleep(0.05)


def measure_inbound(deployment: SmsDeployment, emulator: Emulator, args: argparse.Namespace,
                    say: Callable[[str], None]) -> dict[str, Any]:
    """The service and the bare endpoint, interleaved, --repeat rounds; best of each, and the sanity counts."""
    service_url = deployment.webhook_url + INBOUND
    bare_url = f"http://127.0.0.1:{BARE_PORT}{BARE_INBOUND}"
    runs: dict[str, list[dict[str, Any]]] = {"service": [], "bare": []}
    series = 0
    answered = 0

    def service(seconds: float) -> dict[str, Any]:
        nonlocal series, answered
        deployment.settle()
        run = load(SERVICE_PORT, INBOUND, service_url, deployment, seconds, args.clients, series)
        series += 1
        answered += run["ok"]
        run.update(drain(deployment, emulator))
        return run

    def bare(seconds: float) -> dict[str, Any]:
        return load(BARE_PORT, BARE_INBOUND, bare_url, deployment, seconds, args.clients, 0)

    with servers(deployment, args):
        service(1.0)  # warm-up: data keys made, SQL compiled, connections opened
        bare(1.0)
        for round_ in range(args.repeat):
            for name in (("bare", "service") if round_ % 2 == 0 else ("service", "bare")):
                runs[name].append(service(args.seconds) if name == "service" else bare(args.seconds))
            s, b = runs["service"][-1], runs["bare"][-1]
            say(f"round {round_ + 1}: service {s['per_s']:.0f}/s (p95 {s['p95_ms']:.1f} ms, drain {s['drain_s']:.1f} s), "
                f"bare {b['per_s']:.0f}/s (p95 {b['p95_ms']:.1f} ms): {s['per_s'] / b['per_s']:.0%}")
        time.sleep(1.0)  # the last receipts
        found = deployment.tallies()
    result = {name: dict(max(values, key=lambda run: run["per_s"]), all_per_s=[round(run["per_s"], 1) for run in values])
              for name, values in runs.items()}
    result["stored"] = {**found, "webhooks_answered_200": answered, "emulator_took": emulator.messages()}
    return result


# --- outbox ------------------------------------------------------------------------------------------


def queue_texts(deployment: SmsDeployment, count: int, offset: int) -> str:
    """`count` replies queued with outbox.enqueue as the inbound path queues them; the text used."""
    from service.sms.outbox import enqueue

    state = deployment.state
    sms = state.sms
    text = sms.file.reply_text(sms.file.read("HULP 2800"))
    with deployment.app.app_context(), state.sessions() as session:
        now = state.clock()
        for i in range(count):
            enqueue(session, state, provider="twilio", to=f"+3248{offset + i:07d}", sender=MUNICIPAL, text=text,
                    purpose="reply", now=now, rules=sms.outbox_rules)
            if i % 500 == 499:
                session.commit()
        session.commit()
    deployment.settle()
    return text


def clear_outbox(deployment: SmsDeployment) -> None:
    """Delete the rows sent (their receipts never come: the service is stopped)."""
    from sqlalchemy import delete

    from service.sms.models import SmsOutbox

    with deployment.state.sessions() as session:
        session.execute(delete(SmsOutbox))
        session.commit()
    deployment.settle()


def time_outbox(deployment: SmsDeployment, count: int, offset: int) -> dict[str, Any]:
    """Queue `count` texts (untimed), then time one run_outbox sending them all."""
    from service.sms.jobs import run_outbox

    clear_outbox(deployment)
    queue_texts(deployment, count, offset)
    gc.collect()
    with deployment.app.app_context():
        began = time.perf_counter()
        done = run_outbox(deployment.state)
        seconds = time.perf_counter() - began
    if (done.sent, done.retrying, done.failed) != (count, 0, 0):
        raise RuntimeError(f"outbox: {done} of {count} queued")
    return {"per_s": count / seconds, "seconds": seconds, "sent": done.sent}


def time_plain(deployment: SmsDeployment, count: int, offset: int, text: str) -> dict[str, Any]:
    """The same sends by a plain keep-alive httpx client, one after another; its rate."""
    import httpx

    url = f"http://127.0.0.1:{EMULATOR_PORT}/2010-04-01/Accounts/{deployment.account}/Messages.json"
    status_url = f"{deployment.webhook_url}/v1/sms/twilio/status"
    with httpx.Client(timeout=10.0, auth=(deployment.account, deployment.token)) as client:
        began = time.perf_counter()
        for i in range(count):
            answer = client.post(url, data={"To": f"+3249{offset + i:07d}", "From": MUNICIPAL, "Body": text,
                                            "StatusCallback": status_url})
            if answer.status_code != 201 or not answer.json().get("sid"):
                raise RuntimeError(f"plain send: HTTP {answer.status_code}")
        seconds = time.perf_counter() - began
    return {"per_s": count / seconds, "seconds": seconds}


def measure_outbox(deployment: SmsDeployment, emulator: Emulator, args: argparse.Namespace,
                   say: Callable[[str], None]) -> dict[str, Any]:
    """run_outbox and the plain client, interleaved, --repeat rounds, best kept."""
    text = queue_texts(deployment, 0, 0)
    time_outbox(deployment, 50, 0)  # warm-up
    time_plain(deployment, 50, 0, text)
    runs: dict[str, list[dict[str, Any]]] = {"outbox": [], "plain": []}
    for round_ in range(args.repeat):
        offset = (round_ + 1) * args.texts
        for name in (("plain", "outbox") if round_ % 2 == 0 else ("outbox", "plain")):
            emulator.reset()
            gc.collect()
            runs[name].append(time_outbox(deployment, args.texts, offset) if name == "outbox"
                              else time_plain(deployment, args.texts, offset, text))
        o, p = runs["outbox"][-1], runs["plain"][-1]
        say(f"outbox round {round_ + 1}: {o['per_s']:.0f} texts/s, plain client {p['per_s']:.0f}/s: {o['per_s'] / p['per_s']:.0%}")
    clear_outbox(deployment)
    return {name: dict(max(values, key=lambda run: run["per_s"]), all_per_s=[round(run["per_s"], 1) for run in values])
            for name, values in runs.items()}


# --- the run -----------------------------------------------------------------------------------------


def mix(sms_file: Any) -> dict[str, int]:
    """The categories the bodies are read as by the deployment's SMS file (printed, so the mix is seen)."""
    found: dict[str, int] = {}
    for body in BODIES:
        category = sms_file.read(body.format(pc=POSTCODES[0])).category
        found[category] = found.get(category, 0) + 1
    return found


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{kind} {time.perf_counter() - began:5.0f} s] {text}", flush=True)

    databases = Databases(kind, args.postgres, args.pg_prefix)
    deployment = SmsDeployment(databases)
    result: dict[str, Any] = {"database": kind, "workers": args.workers, "threads": args.threads, "clients": args.clients,
                              "seconds": args.seconds, "repeat": args.repeat, "texts": args.texts}
    emulator = None
    try:
        deployment.create()
        deployment.open()
        result["mix"] = mix(deployment.state.sms.file)
        say(f"the {len(BODIES)} bodies are read as: {result['mix']}")
        emulator = Emulator(deployment, HERE / "out" / f"sms-emulator-{kind}.log")
        say("inbound webhooks over HTTP")
        result["inbound"] = measure_inbound(deployment, emulator, args, say)
        say(f"outbox: {args.texts} texts per round")
        result["outbox"] = measure_outbox(deployment, emulator, args, say)
    finally:
        if emulator is not None:
            emulator.stop()
        deployment.close()
        databases.close()
    result["seconds_total"] = time.perf_counter() - began
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """The figures of one database, as printed."""
    inbound, outbox = result["inbound"], result["outbox"]
    s, b, stored = inbound["service"], inbound["bare"], inbound["stored"]
    ratio = s["per_s"] / b["per_s"]
    lines = [f"## {result['database']}: gunicorn {result['workers']} gthread workers x {result['threads']} threads, "
             f"{result['clients']} client processes, best of {result['repeat']} x {result['seconds']:g} s"]
    lines.append(f"- inbound webhooks: **{s['per_s']:.0f}/s** (p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms) vs bare "
                 f"{b['per_s']:.0f}/s (p50 {b['p50_ms']:.1f} ms, p95 {b['p95_ms']:.1f} ms) = **{ratio:.0%}** "
                 f"(target >= {TARGET:.0%}: {'met' if ratio >= TARGET else 'MISSED'}); all rounds {s['all_per_s']} vs {b['all_per_s']}")
    lines.append(f"- replies of the best round all at the emulator {s['drain_s']:.2f} s after the last answer "
                 f"({s['replies_taken']} of {s['replies_expected']} queued in the run so far)")
    lines.append(f"- stored: {stored['reports']} sms reports for {stored['webhooks_answered_200']} webhooks answered 200 "
                 f"({'equal' if stored['reports'] == stored['webhooks_answered_200'] else 'DIFFERENT'}); the service counted "
                 f"reported {stored.get('reported', 0)}, replied {stored.get('replied', 0)}, delivered {stored.get('delivered', 0)}, "
                 f"throttled {stored.get('throttled', 0)}, refused {stored.get('refused', 0)}; the emulator took "
                 f"{stored['emulator_took']} texts; {stored['outbox_rows']} rows left in the outbox")
    o, p = outbox["outbox"], outbox["plain"]
    lines.append(f"- outbox: {result['texts']} texts by run_outbox: **{o['per_s']:.0f} texts/s** ({o['seconds']:.2f} s) vs a plain "
                 f"httpx client {p['per_s']:.0f}/s = **{o['per_s'] / p['per_s']:.0%}**; all rounds {o['all_per_s']} vs {p['all_per_s']}")
    bad = {name: inbound[name]["statuses"] for name in ("service", "bare") if set(inbound[name]["statuses"]) != {200}}
    if bad:
        lines.append(f"- UNEXPECTED ANSWERS: {bad}")
    return lines


def table(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table for docs/benchmarks.md."""
    if not results:
        return []
    names = ["SQLite" if r["database"] == "sqlite" else "PostgreSQL" for r in results]
    rows: dict[str, list[str]] = {}
    for r in results:
        s, b, st = r["inbound"]["service"], r["inbound"]["bare"], r["inbound"]["stored"]
        o, p = r["outbox"]["outbox"], r["outbox"]["plain"]
        rows.setdefault("**inbound webhooks/s** (p50 / p95)", []).append(
            f"{s['per_s']:.0f}/s ({s['p50_ms']:.1f} / {s['p95_ms']:.1f} ms) = **{s['per_s'] / b['per_s']:.0%}** of bare")
        rows.setdefault("bare endpoint, same bodies (p50 / p95)", []).append(
            f"{b['per_s']:.0f}/s ({b['p50_ms']:.1f} / {b['p95_ms']:.1f} ms)")
        rows.setdefault("all rounds, service vs bare", []).append(
            f"{', '.join(f'{x:.0f}' for x in s['all_per_s'])} vs {', '.join(f'{x:.0f}' for x in b['all_per_s'])}")
        rows.setdefault("replies all out after the last answer", []).append(f"{s['drain_s']:.2f} s")
        rows.setdefault("stored: sms reports / webhooks answered 200", []).append(
            f"{st['reports']:,} / {st['webhooks_answered_200']:,}; replies {st.get('replied', 0):,}, "
            f"delivered {st.get('delivered', 0):,}")
        rows.setdefault(f"**outbox, {r['texts']:,} texts** (run_outbox)", []).append(
            f"{o['per_s']:.0f} texts/s = **{o['per_s'] / p['per_s']:.0%}** of a plain client")
        rows.setdefault("plain httpx client, same sends", []).append(f"{p['per_s']:.0f}/s")
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {row} | " + " | ".join(values) + " |" for row, values in rows.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s series, one round, 300 texts")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=PG_ADMIN_URL, help="PostgreSQL server (admin URL)")
    parser.add_argument("--pg-prefix", default=PG_PREFIX, help="prefix of the bench's PostgreSQL databases")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each inbound series")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each figure and its ceiling, interleaved; best kept")
    parser.add_argument("--texts", type=int, default=2000, help="texts queued per outbox round")
    parser.add_argument("--clients", type=int, default=8, help="client processes posting webhooks at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.repeat = 2.0, 1
        if args.texts == parser.get_default("texts"):
            args.texts = 300
    (HERE / "out").mkdir(exist_ok=True)
    run_databases("sms", bench_database, summary, table, args)


if __name__ == "__main__":
    main()
