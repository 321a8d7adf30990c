"""The outbox's scheduled run: delete what waited too long, send what is due."""

from __future__ import annotations

from typing import Any

from service.sms import outbox

# Rows per pass; a run goes on until nothing is due (or a pass sends nothing: all are failing).
BATCH = 200


def run_outbox(state: Any) -> outbox.Delivery:
    """One run of the outbox (the scheduler's job, `safesignal sms outbox`)."""
    sms = state.sms
    total = outbox.Delivery()
    with state.sessions() as session:
        outbox.expire(session, state.clock())
        session.commit()
        if sms.file is None:
            return total
        while True:
            ids = outbox.due(session, state.clock(), BATCH)
            session.commit()
            if not ids:
                return total
            done = outbox.deliver(state.sessions, state, sms.gateways, ids, status_url=sms.status_url,
                                  now=state.clock, rules=sms.outbox_rules)
            total.sent, total.retrying, total.failed = (total.sent + done.sent, total.retrying + done.retrying,
                                                        total.failed + done.failed)
            if done.sent == 0 and done.failed == 0:
                return total
