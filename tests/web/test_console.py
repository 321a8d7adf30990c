"""The DPO's console through the app: every page shows what the DPO API's services give after a
real retention run, only to the dpo role, and the in-browser check's data routes answer exactly
the API's bytes. (The check itself, in Chromium: tests/browser/test_console.py.)"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import text

from retention import policy as retention_policy
from support import bearer

NOTE = "Mevrouw Peeters, 0470 12 34 56, vroeg naar CAW"
PAGES = ("/dpo/", "/dpo/runs", "/dpo/inventory", "/dpo/record", "/dpo/audit",
         "/dpo/audit/entries.json", "/dpo/audit/checkpoints.json")


def _submit(client, token, clock, count):  # type: ignore[no-untyped-def]
    reports = [{"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=5)).isoformat(), "note": NOTE}
               for _ in range(count)]
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert response.get_json()["accepted"] == count


@pytest.fixture
def held(app, client, partners, clock):  # type: ignore[no-untyped-def]
    """Three reports past their period and shredded by a real run, two held from today; the DPO's API token."""
    token = partners.pharmacy()
    _submit(client, token, clock, 3)
    clock.advance(days=36)
    outcome = app.extensions["safesignal"].retention.run()
    assert outcome.checkpoint
    _submit(client, token, clock, 2)
    return bearer(partners.add("dpo_office", "DPO Mechelen")[1])


def _text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def test_a_dpo_lands_on_the_compliance_page(people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("dpo")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/dpo/"


def test_the_overview_shows_each_class_on_time_or_overdue_and_the_last_run(app, client, partners, people, clock):  # type: ignore[no-untyped-def]
    _submit(client, partners.pharmacy(), clock, 3)
    clock.advance(days=36)
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/"))
    assert "Not compliant" in page and "never" in page
    row = re.search(r"<code>pharmacy_reports</code></th>(.*?)</tr>", page, re.S).group(1)  # type: ignore[union-attr]
    assert "Overdue" in row and re.findall(r'class="num">([^<]*)<', row)[-2:] == ["3", "1"]
    assert "records past the period: 3; data keys still alive: 1" in page

    outcome = app.extensions["safesignal"].retention.run()
    page = _text(dpo.get("/dpo/"))
    statuses = app.extensions["safesignal"].retention.status()
    assert "Not compliant" not in page and "Overdue" not in page
    assert page.count("On time") == len(statuses) and f"{len(statuses)}</span> <span>data classes on time" in page
    # The last run's time, as the runs list records it, in the page's format.
    assert outcome.started_at[:10] == clock.now.date().isoformat()
    assert clock.now.strftime("%b %-d, %Y") in page


def test_the_runs_page_lists_what_the_run_did(held, people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/runs"))
    assert page.count("<h2 id=\"run-") == 1 and "Every data class succeeded" in page
    row = re.search(r"<code>pharmacy_reports</code></th>(.*?)</tr>", page, re.S).group(1)  # type: ignore[union-attr]
    assert "Crypto-shredding" in row and re.findall(r'class="num">([^<]*)<', row)[:2] == ["3", "1"]
    assert "Done" in row


def test_the_runs_page_shows_each_run_whole_newest_first(app, held, people, clock):  # type: ignore[no-untyped-def]
    retention = app.extensions["safesignal"].retention
    first = retention.runs(1)[0]["run_id"]
    clock.advance(hours=1)
    second = retention.run().run_id
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/runs"))
    assert page.count('<h2 id="run-') == 2 and page.index(second) < page.index(first)
    classes = [holding.data_class for holding in retention.holdings]
    for run_id in (first, second):
        section = page.split(run_id, 1)[1].split("</section>", 1)[0]
        # Every data class, in the purge order.
        assert re.findall(r"<th scope=\"row\"><code>([a-z_]+)</code>", section) == classes


def test_the_runs_page_agrees_with_the_api(held, client, people):  # type: ignore[no-untyped-def]
    runs = client.get("/v1/dpo/retention/runs", headers=held).get_json()
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/runs"))
    assert runs and all(f"<code>{run['data_class']}</code>" in page for run in runs)
    assert runs[0]["run_id"] in page


def test_the_inventory_page_draws_the_days_held_and_lists_them(held, client, people, clock):  # type: ignore[no-untyped-def]
    rows = client.get("/v1/dpo/inventory", headers=held).get_json()
    assert {"data_class": "pharmacy_reports", "epoch": clock.now.date().isoformat(), "age_days": 0, "records": 2,
            "key": "live"} in rows
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/inventory"))
    assert '<svg viewBox="0 0 720 300" role="img" aria-labelledby="chart-title chart-desc"' in page
    assert f"{clock.now.strftime('%b %-d, %Y')}, pharmacy_reports: 2</title>" in page
    table = page.split("The numbers", 1)[1]
    assert table.count("<tr>") == len(rows) + 1
    assert f'<time datetime="{clock.now.date().isoformat()}">' in table and "exists" in table
    # What was shredded is gone from both.
    assert (clock.now - dt.timedelta(days=36)).date().isoformat() not in page


def test_the_inventory_page_without_records_says_so(people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/inventory"))
    assert "<svg viewBox" not in page and "No records of the data classes kept by day are held." in page


def test_the_record_page_is_the_art30_record_with_every_data_class(app, people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/record"))
    policies = retention_policy.load()
    controller = policies.document.controller
    assert controller.name in page and controller.dpo_contact in page
    for name, policy in policies.document.data_classes.items():
        assert f'<section class="activity" id="class-{name}"' in page, name
        assert policy.purpose in page
    reports = page.split('id="class-pharmacy_reports"', 1)[1].split("</section>", 1)[0]
    assert "Time limit for erasure (days)</dt><dd>35</dd>" in reports
    assert "data key destroyed (crypto-shredding), then rows deleted" in reports
    # Fields still to be completed are named; the security measures are listed.
    assert "Incomplete" in page and "Data-protection impact assessment (Art. 35)</li>" in page
    for measure in policies.document.security_measures.measures:
        assert measure in page
    # Printable: the console's CSS has print rules, and the site's hides the menu when printed.
    with dpo.get(re.search(r'href="(/dpo/static/console/[^"]+\.css)"', page).group(1)) as css:  # type: ignore[union-attr]
        assert css.status_code == 200 and b"@media print" in css.data
    with dpo.get("/static/web/css/site.css") as response:
        site = response.get_data(as_text=True)
    assert re.search(r"@media print \{ header\.site[^}]*display: none", site)


def test_the_record_page_speaks_the_persons_language_and_marks_the_policys(people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo", language="nl")
    page = _text(dpo.get("/dpo/record"))
    assert '<html lang="nl">' in page and "Register van de verwerkingsactiviteiten" in page
    assert '<td lang="en">' in page


def test_the_audit_page_shows_the_servers_verdict_and_wires_the_browser_check(app, held, people):  # type: ignore[no-untyped-def]
    retention = app.extensions["safesignal"].retention
    dpo, _ = people.signed_in("dpo")
    response = dpo.get("/dpo/audit")
    page = _text(response)
    result = retention.verify_audit()
    assert result.valid
    assert "Verified" in page and f"Entries 1 to {result.last_seq}" in page
    assert re.search(r'<div id="audit-verify"\s+data-entries-url="/dpo/audit/entries.json"\s+'
                     r'data-checkpoints-url="/dpo/audit/checkpoints.json"', page)
    # The key is pinned from the server's configuration, and its id shown for comparison.
    assert f'data-public-key="{retention.public_key.hex()}"' in page
    assert f'data-period-days="{retention.policies["audit_log"].period_days}"' in page
    assert retention.signer.key_id in page
    assert 'data-msg-check-entry-hash="an entry was altered: its content does not match its hash"' in page
    for action in ("verify", "save", "recheck"):
        assert f'data-action="{action}"' in page
    assert '<label for="recheck-file">' in page and 'data-role="status" role="status"' in page
    assert '<script type="module" src="/static/web/js/audit-page.js"></script>' in page
    # Under the shell's CSP: no inline script or style.
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page


def test_the_audit_page_names_an_edited_entry(app, held, people, db_engine):  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        seq = connection.execute(text("SELECT min(seq) FROM audit_entry WHERE kind = 'retention.purged'")).scalar_one()
    with db_engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET detail = :detail WHERE seq = :seq"),
                           {"detail": '{"rows":0}', "seq": seq})
    dpo, _ = people.signed_in("dpo")
    page = _text(dpo.get("/dpo/audit"))
    assert "Does not verify" in page and f"The audit log breaks at entry {seq}." in page


def test_the_browser_checks_data_is_the_apis_byte_for_byte(app, held, client, people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    for query in ("", "?after=0&limit=4", "?after=4&limit=3", "?limit=5000", "?after=999999"):
        mine = dpo.get(f"/dpo/audit/entries.json{query}")
        api = client.get(f"/v1/dpo/audit/entries{query}", headers=held)
        assert mine.status_code == api.status_code == 200, query
        assert mine.mimetype == "application/json" and mine.data == api.data, query
        assert mine.headers["Cache-Control"] == "no-store"
    paged = dpo.get("/dpo/audit/entries.json?after=0&limit=4").get_json()
    assert len(paged["entries"]) == 4 and paged["next_after"] == 4
    mine = dpo.get("/dpo/audit/checkpoints.json")
    api = client.get("/v1/dpo/audit/checkpoints", headers=held)
    assert mine.status_code == 200 and mine.data == api.data and mine.get_json()["checkpoints"]
    assert mine.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("query", ["limit=0", "limit=5001", "limit=abc", "after=-1", "after=%C2%B2", "limit=" + "9" * 50])
def test_bad_paging_gets_422_not_500(people, query):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    response = dpo.get(f"/dpo/audit/entries.json?{query}")
    assert response.status_code == 422


def test_the_data_routes_take_only_get(people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    assert dpo.post("/dpo/audit/entries.json").status_code in (400, 405)
    assert dpo.delete("/dpo/audit/checkpoints.json").status_code == 405


@pytest.mark.parametrize("role", ["pharmacy", "coordinator", "analyst", "admin"])
def test_other_roles_get_403_on_every_page(people, role):  # type: ignore[no-untyped-def]
    other, _ = people.signed_in(role)
    for path in PAGES:
        response = other.get(path)
        assert response.status_code == 403, (role, path)
        assert b"prev_hash" not in response.data and b"pharmacy_reports" not in response.data


def test_nobody_is_sent_to_sign_in_and_back(app):  # type: ignore[no-untyped-def]
    anonymous = app.test_client()
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/sign-in?next={path}", path


def test_no_page_shows_report_content_or_a_token(held, people):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo")
    for path in PAGES:
        body = dpo.get(path).get_data(as_text=True)
        for secret in ("Peeters", "CAW", "ss_", held["Authorization"].split()[1]):
            assert secret not in body, (path, secret)


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_every_page_is_translated(people, language):  # type: ignore[no-untyped-def]
    dpo, _ = people.signed_in("dpo", language=language)
    for path in PAGES[:5]:
        page = _text(dpo.get(path))
        assert f'<html lang="{language}">' in page
        for english in ("Retention compliance", "Retention runs</h1>", "Inventory per data class and day",
                        "Record of processing activities", "Audit log verification", "Data class</th>"):
            assert english not in page, (path, english)


def test_the_chart_stacks_each_day_in_scale_with_a_slot_for_every_day():
    from service.console.chart import HEIGHT, TOP, BOTTOM, nice_step, stacked
    from service.dpo.schemas import InventoryRow

    rows = [InventoryRow("pharmacy_reports", "2026-11-01", 3, 6, "live"),
            InventoryRow("field_reports", "2026-11-01", 3, 4, "live"),
            InventoryRow("pharmacy_reports", "2026-11-04", 0, 5, "live")]
    chart = stacked(rows)
    assert chart is not None and chart.total == 15
    assert [bar.epoch.isoformat() for bar in chart.bars] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert [bar.total for bar in chart.bars] == [10, 0, 0, 5]
    first = chart.bars[0]
    assert [s.data_class for s in first.segments] == ["pharmacy_reports", "field_reports"]
    plot = HEIGHT - TOP - BOTTOM
    # Scale 0..10 (step 5): the first day fills the plot, its parts 6:4, the second on the first.
    assert [t[1] for t in chart.ticks] == [0, 5, 10]
    assert first.segments[0].height == pytest.approx(plot * 0.6) and first.segments[1].height == pytest.approx(plot * 0.4)
    assert first.segments[1].y + first.segments[1].height == pytest.approx(first.segments[0].y)
    assert first.segments[1].y == pytest.approx(TOP)
    assert chart.bars[3].segments[0].height == pytest.approx(plot * 0.5)
    assert dict(chart.legend)["pharmacy_reports"] != dict(chart.legend)["field_reports"]
    assert stacked([]) is None
    assert [nice_step(n) for n in (1, 4, 7, 10, 95, 1234)] == [1, 1, 2, 5, 50, 500]


def test_a_policy_language_that_is_not_a_language_tag_is_refused(app_with):  # type: ignore[no-untyped-def]
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="SAFESIGNAL_CONSOLE_POLICY_LANGUAGE"):
        app_with(CONSOLE_POLICY_LANGUAGE='en" onclick="x')
    assert app_with(CONSOLE_POLICY_LANGUAGE="nl-BE").config["CONSOLE_POLICY_LANGUAGE"] == "nl-BE"
