"""The policy file fails closed: the service does not start unless every stored class is covered."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from retention import policy as retention_policy
from retention.policy import DEFAULT_POLICY_FILE, PolicyError, check_coverage, load
from retention.record import markdown, record
from service import create_app
from service.config import ConfigError
from service.holdings import holdings, stored_data_classes

HOLDINGS = holdings()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default() -> str:
    return DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


def _without_class(text: str, name: str) -> str:
    start = text.index(f"[data_classes.{name}]")
    end = text.find("\n[", start + 1)
    return text[:start] + (text[end + 1:] if end != -1 else "")


def test_every_stored_data_class_has_a_policy_and_a_purge():
    """Walks the models of both databases: a new table without a policy fails here (and at start)."""
    stored = stored_data_classes()
    policies = load()
    assert stored == set(policies) == {holding.data_class for holding in HOLDINGS}
    check_coverage(policies, stored, HOLDINGS.supported_actions())


def test_the_domains_holdings_come_in_the_purge_order():
    """The order is behaviour (a used enrollment code points at the credential it became, so codes
    go first; a session points at its person): it is that of the one global list the domains'
    declarations replaced, with the people's holdings before the partners' (a person points at
    their organisation, which is anonymised, never deleted)."""
    assert [holding.data_class for holding in HOLDINGS] == [
        "pharmacy_reports", "field_reports", "sms_reports", "idempotency_records", "enrollment_codes",
        "web_sessions", "sign_in_throttles", "people",
        # An alert subscription points at its organisation too.
        "sms_senders", "sms_message_ids", "sms_outbox", "sms_counts", "alert_subscriptions",
        "credentials", "organisations",
        "signal_tallies", "signal_releases", "privacy_budget_ledger", "exposure_keys", "export_batches",
        "verification_codes", "code_quotas", "upload_token_ids", "redeem_failure_counts", "data_keys", "audit_log", "leases",
    ]


def test_a_data_class_declared_twice_is_refused():
    from retention.holdings import Holdings

    (codes,) = [holding for holding in HOLDINGS if holding.data_class == "enrollment_codes"]
    with pytest.raises(ValueError, match="data class enrollment_codes is declared twice"):
        Holdings((*HOLDINGS, codes))


def test_a_stored_class_without_a_policy_stops_the_service(tmp_path, app_config):
    path = _write(tmp_path, _without_class(_default(), "field_reports"))
    with pytest.raises(ConfigError, match="no retention policy for stored data class\\(es\\): field_reports"):
        create_app({**app_config, "RETENTION_POLICY_FILE": str(path)})


def test_a_new_table_without_a_policy_is_refused():
    with pytest.raises(PolicyError, match="no retention policy for stored data class\\(es\\): new_things"):
        check_coverage(load(), stored_data_classes() | {"new_things"}, HOLDINGS.supported_actions())


def test_a_policy_for_something_not_stored_is_refused(tmp_path):
    text = _default() + '\n[data_classes.ghosts]\ndescription = "x"\npurpose = "x"\nlegal_basis = "x"\ndata_subjects = []\ncategories = ["x"]\nrecipients = []\nperiod_days = 5\non_expiry = "delete"\n'
    with pytest.raises(PolicyError, match="does not store: ghosts"):
        check_coverage(load(_write(tmp_path, text)), stored_data_classes(), HOLDINGS.supported_actions())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("period_days = 35", "period_days = 5000", 1), "period_days 5000 lies outside the bounds \\[1, 1095\\]"),
        (("period_days = 35", "period_days = 0", 1), "period_days 0 lies outside the bounds"),
        (('on_expiry = "shred"', 'on_expiry = "archive"', 1), "Invalid enum value"),
        (("period_days = 35", 'period_days = "35"', 1), "Expected `int`, got `str`"),
        (("max_days = 1095", "max_days = 1095\nmaximum = 3", 1), "unknown field `maximum`"),
        (("min_days = 1", "min_days = 2000", 1), "min_days is above max_days"),
    ],
)
def test_malformed_or_out_of_bounds_policies_are_refused_in_one_line(tmp_path, change, message):
    old, new, count = change
    path = _write(tmp_path, _default().replace(old, new, count))
    with pytest.raises(PolicyError, match=message) as caught:
        load(path)
    assert "\n" not in str(caught.value)


def test_only_encrypted_classes_can_be_shredded(tmp_path):
    before, after = _default().split("[data_classes.idempotency_records]")
    text = before + "[data_classes.idempotency_records]" + after.replace('on_expiry = "delete"', 'on_expiry = "shred"', 1)
    with pytest.raises(PolicyError, match="idempotency_records: on_expiry 'shred' is not possible"):
        check_coverage(load(_write(tmp_path, text)), stored_data_classes(), HOLDINGS.supported_actions())


def test_idempotency_records_must_outlive_the_intake_window_by_a_day(app_config, app_with):
    # Records go by whole days: one received at 23:59 of day 0 goes at the start of day 14.
    with pytest.raises(ConfigError, match="idempotency_records: period_days must exceed SAFESIGNAL_INTAKE_WINDOW_HOURS by a day"):
        create_app({**app_config, "INTAKE_WINDOW_HOURS": 14 * 24, "SIGNALS_RELEASE_DELAY_DAYS": 15})
    app_with(INTAKE_WINDOW_HOURS=13 * 24, SIGNALS_RELEASE_DELAY_DAYS=14)  # 13 days + the day: starts


def test_the_key_vault_must_be_another_database(app_config, tmp_path):
    for main, keys in [
        (f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/../{tmp_path.name}/a.db"),
        ("postgresql://db.example/safesignal", "postgresql+psycopg://db.example:5432/safesignal"),
    ]:
        with pytest.raises(ConfigError, match="KEYS_DATABASE_URL must name another database"):
            create_app({**app_config, "DATABASE_URL": main, "KEYS_DATABASE_URL": keys})


def test_unreadable_and_invalid_files_are_refused(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load(tmp_path / "missing.toml")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load(_write(tmp_path, "version = = 1"))


def test_the_record_comes_from_the_same_file_as_the_schedule(tmp_path):
    text = _default().replace("period_days = 35", "period_days = 28", 1)
    policies = load(_write(tmp_path, text))
    data = record(policies, HOLDINGS)
    (pharmacy,) = [a for a in data["processing_activities"] if a["data_class"] == "pharmacy_reports"]
    assert pharmacy["time_limit_for_erasure"]["period_days"] == 28 == policies["pharmacy_reports"].period_days
    assert data["security_measures"] == tomllib.loads(text)["security_measures"]["measures"]
    assert "| pharmacy_reports |" in markdown(data) and "28 days from" in markdown(data)


def test_the_cli_prints_the_record_in_both_formats(app):
    runner = app.test_cli_runner()
    as_markdown = runner.invoke(args=["dpo", "record"])
    assert as_markdown.exit_code == 0 and as_markdown.output.startswith("# Record of processing activities (GDPR Art. 30)")
    as_json = runner.invoke(args=["dpo", "record", "--format", "json"])
    assert {a["data_class"] for a in json.loads(as_json.output)["processing_activities"]} == set(retention_policy.load())


def test_the_record_names_processors_the_dpia_and_data_subject_rights_and_says_what_is_unfilled(tmp_path, app, partners):
    # The shipped file: every one of them present, and flagged as still to be completed.
    client = app.test_client()
    headers = {"Authorization": f"Bearer {partners.add('dpo_office', 'DPO')[1]}"}
    shipped = client.get("/v1/dpo/record", headers=headers).get_json()
    assert shipped["to_complete"] == ["processors", "dpia_reference", "data_subject_rights"]
    assert any("hosting" in processor for processor in shipped["processors"])
    assert "Art. 35" in shipped["dpia_reference"] and "Art. 12-22" in shipped["data_subject_rights"]
    as_markdown = client.get("/v1/dpo/record?format=markdown", headers=headers).get_data(as_text=True)
    assert "## Processors (Art. 28)" in as_markdown and "- Data-protection impact assessment: TO BE COMPLETED" in as_markdown
    assert "**Incomplete: the controller still has to fill in processors, dpia_reference, data_subject_rights.**" in as_markdown

    # A controller's own file, filled in: its values, and nothing left to complete.
    shipped_text = _default()
    start, end = shipped_text.index("processors = ["), shipped_text.index("\n\n[bounds]")
    text = shipped_text[:start] + (
        'processors = ["Hosting: Example Cloud NV, Brussels (EU), agreement DPA-2026-14"]\n'
        'dpia_reference = "DPIA-2026-03 of 2026-10-01"\n'
        'data_subject_rights = "privacy@example.org or at the town hall desk; answered within a month"'
    ) + shipped_text[end:]
    data = record(load(_write(tmp_path, text)), HOLDINGS)
    assert data["processors"] == ["Hosting: Example Cloud NV, Brussels (EU), agreement DPA-2026-14"]
    assert (data["dpia_reference"], data["to_complete"]) == ("DPIA-2026-03 of 2026-10-01", [])
    assert "Incomplete" not in markdown(data) and "- Hosting: Example Cloud NV" in markdown(data)

    # A file written before these fields existed still loads, and says what is missing.
    older = text.replace('processors = ["Hosting: Example Cloud NV, Brussels (EU), agreement DPA-2026-14"]\n', "", 1)
    assert record(load(_write(tmp_path, older)), HOLDINGS)["to_complete"] == ["processors"]


def test_a_one_day_period_reads_one_day(app):
    output = app.test_cli_runner().invoke(args=["dpo", "record"]).output
    assert "| leases |" in output and "| 1 day from the lease's expiry |" in output
    assert "1 days" not in output
