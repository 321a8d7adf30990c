"""The GDPR Art. 30 record of processing activities, generated from the policy file.

Art. 30(1) asks for the controller and DPO contacts, the purposes, the categories of data
subjects and of personal data, the recipients, the envisaged time limits for erasure and a
general description of the security measures. All of it comes from the one policy file the
retention jobs follow (and, for when a period starts, from the deployment's holdings), so the record
and the schedule cannot disagree.
"""

from __future__ import annotations

from typing import Any

from retention.holdings import Holdings
from retention.policy import Expiry, Policies

EXPIRY_TEXT = {
    Expiry.SHRED: "data key destroyed (crypto-shredding), then rows deleted",
    Expiry.DELETE: "rows deleted",
    Expiry.ANONYMISE: "identifying fields overwritten",
}


def record(policies: Policies, holdings: Holdings) -> dict[str, Any]:
    """The record as a JSON-ready dict."""
    document = policies.document
    activities = []
    for name, policy in document.data_classes.items():
        activities.append({
            "data_class": name,
            "description": policy.description,
            "purpose": policy.purpose,
            "legal_basis": policy.legal_basis,
            "data_subjects": list(policy.data_subjects),
            "categories_of_data": list(policy.categories),
            "recipients": list(policy.recipients),
            "time_limit_for_erasure": {
                "period_days": policy.period_days,
                "counted_from": holdings[name].counted_from,
                "at_expiry": EXPIRY_TEXT[policy.on_expiry],
                "on_expiry": policy.on_expiry.value,
            },
        })
    return {
        "controller": {"name": document.controller.name, "contact": document.controller.contact},
        "data_protection_officer": {"contact": document.controller.dpo_contact},
        "transfers_to_third_countries": document.controller.transfers_to_third_countries,
        "security_measures": list(document.security_measures.measures),
        "processing_activities": activities,
        "policy_source": policies.source.rsplit("/", 1)[-1],
    }


def markdown(data: dict[str, Any]) -> str:
    """The record as Markdown, for a DPO's register."""
    lines = [
        "# Record of processing activities (GDPR Art. 30)",
        "",
        f"- Controller: {data['controller']['name']} ({data['controller']['contact']})",
        f"- Data-protection officer: {data['data_protection_officer']['contact']}",
        f"- Transfers to third countries: {data['transfers_to_third_countries']}",
        "",
        "| Data class | Purpose | Legal basis | Retention | At expiry |",
        "|---|---|---|---|---|",
    ]
    for activity in data["processing_activities"]:
        limit = activity["time_limit_for_erasure"]
        lines.append(
            f"| {activity['data_class']} | {activity['purpose']} | {activity['legal_basis']} "
            f"| {limit['period_days']} days from {limit['counted_from']} | {limit['at_expiry']} |"
        )
    for activity in data["processing_activities"]:
        lines += [
            "",
            f"## {activity['data_class']}",
            "",
            activity["description"],
            "",
            f"- Data subjects: {'; '.join(activity['data_subjects']) or 'none'}",
            f"- Categories of data: {'; '.join(activity['categories_of_data'])}",
            f"- Recipients: {'; '.join(activity['recipients']) or 'none'}",
        ]
    lines += ["", "## Security measures (Art. 32)", ""]
    lines += [f"- {measure}" for measure in data["security_measures"]]
    return "\n".join(lines) + "\n"
