"""`safesignal sms`: the gateway emulator, a simulated text, the outbox, the day's counts."""

from __future__ import annotations

import datetime as dt
import logging
import time

import click
from flask.cli import with_appcontext

from service.cli.context import current_state, now

sms_group = click.Group("sms", help="Text messages: simulate a resident's text, run the outbox, show the counts.")

EMULATOR_URL = "http://127.0.0.1:8025"


@sms_group.command("emulator")
@click.option("--port", default=8025, show_default=True, help="Port of the emulator (127.0.0.1).")
@click.option("--service", "service_url", default=None, help="Where the service's webhooks are (default: SAFESIGNAL_SMS_WEBHOOK_URL or PUBLIC_URL).")
@click.option("--provider", type=click.Choice(["twilio", "vonage", "generic"]), default="twilio", show_default=True,
              help="The provider whose webhooks `simulate` sends by default.")
@click.option("--log", "log_file", default=None, help="Also append the log to this file.")
@with_appcontext
def sms_emulator(port: int, service_url: str | None, provider: str, log_file: str | None) -> None:
    """Run the local gateway emulator (the providers' REST APIs and signed webhooks) until Ctrl-C.

    It signs with the service's own SMS settings (in development, the credentials derived for the
    emulator), so what it sends verifies. Its log names phones as phone-1, phone-2 ..., never by number.
    """
    from service.sms.emulator import main

    sms = current_state().sms
    argv = ["--port", str(port), "--service", service_url or sms.webhook_url, "--provider", provider]
    raise SystemExit(main(argv + (["--log", log_file] if log_file else []), settings=sms.settings))


@sms_group.command("simulate")
@click.option("--from", "sender", required=True, help="The resident's number, e.g. +32470000000 (only the emulator sees it).")
@click.option("--to", "recipient", default=None, help="The municipal number texted (default: the SMS file's first).")
@click.option("--provider", type=click.Choice(["twilio", "vonage", "generic"]), default=None,
              help="Whose webhook the emulator sends (default: SAFESIGNAL_SMS_PROVIDER).")
@click.option("--emulator", "emulator_url", default=None, help="The running emulator (default: SAFESIGNAL_SMS_EMULATOR).")
@click.argument("text")
@with_appcontext
def sms_simulate(sender: str, recipient: str | None, provider: str | None, emulator_url: str | None, text: str) -> None:
    """Have the emulator deliver TEXT as a resident's text, and show the report and the reply."""
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would drown what this prints
    state = current_state()
    sms = state.sms
    emulator_url = (emulator_url or sms.settings.get("SMS_EMULATOR") or EMULATOR_URL).rstrip("/")
    if sms.file is None:
        raise click.ClickException("the SMS channel is off: no SMS file fits this deployment (SAFESIGNAL_SMS_FILE)")
    provider = provider or sms.outbound or next(iter(sms.gateways), None)
    if provider is None:
        raise click.ClickException("no SMS provider is configured (SAFESIGNAL_SMS_PROVIDER and its credentials)")
    recipient = recipient or next(iter(sms.file.numbers))
    before = _messages(emulator_url)
    try:
        answer = httpx.post(f"{emulator_url}/emulator/inbound", timeout=30,
                            json={"from": sender, "to": recipient, "text": text, "provider": provider}).json()
    except httpx.HTTPError as error:
        raise click.ClickException(f"the emulator at {emulator_url} did not answer ({type(error).__name__}): start it "
                                   "with `safesignal sms emulator` (`make run` does), or give its address with --emulator "
                                   "or SAFESIGNAL_SMS_EMULATOR") from None
    status = answer.get("status")
    click.echo(f"{provider} webhook for a text to {recipient}: the service answered {status}")
    if status != 200:
        hint = {403: "the signature did not verify: SAFESIGNAL_SMS_WEBHOOK_URL (or PUBLIC_URL) must be the address "
                     f"the service is served at ({sms.webhook_url} here)",
                None: "the service did not answer: is it running at the address the emulator was given?"}
        raise click.ClickException(hint.get(status, "nothing was stored"))
    reading = sms.file.read(text)
    area = sms.file.area(recipient, reading.postcode)
    click.echo(f"report: channel sms, category {reading.category}, area {area}"
               + (f", keyword {reading.keyword} ({reading.language})" if reading.keyword else " (no keyword: the catch-all)")
               + (", with a note (screened, encrypted)" if reading.note else ""))
    expected = sms.file.reply_text(reading)
    if expected is None:
        click.echo("reply: none (this keyword sends no reply)")
        return
    for _ in range(50):
        after = _messages(emulator_url)
        if len(after) > len(before):
            click.echo(f"reply, as the emulator received it: {after[-1]['text']}")
            return
        time.sleep(0.1)
    click.echo("reply: queued, not sent yet (the outbox sends it within SAFESIGNAL_SMS_OUTBOX_INTERVAL_MINUTES; "
               "or a daily reply cap was reached)")


def _messages(emulator_url: str) -> list[dict[str, str]]:
    import httpx

    try:
        return list(httpx.get(f"{emulator_url}/emulator/messages", timeout=10).json())
    except httpx.HTTPError:
        return []


@sms_group.command("outbox")
@with_appcontext
def sms_outbox() -> None:
    """Send what the outbox holds that is due, and delete what waited past SAFESIGNAL_SMS_OUTBOX_HOURS."""
    from service.sms.jobs import run_outbox

    done = run_outbox(current_state())
    click.echo(f"outbox: {done.sent} sent, {done.retrying} to retry, {done.failed} failed")


@sms_group.command("counts")
@click.option("--days", default=7, show_default=True, help="How many UTC days back.")
@with_appcontext
def sms_counts(days: int) -> None:
    """What became of texts per day, provider and outcome (counts only)."""
    from service import per_request
    from service.sms.counts import counts

    since = now().date() - dt.timedelta(days=days - 1)
    rows = counts(per_request.session(), since)
    if not rows:
        click.echo("no texts since " + since.isoformat())
    for (day, provider, outcome), n in sorted(rows.items()):
        click.echo(f"{day.isoformat()}  {provider:8} {outcome:18} {n}")
