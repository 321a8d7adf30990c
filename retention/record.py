"""The GDPR Art. 30 record of processing activities, generated from the policy file.

Art. 30(1) asks for the controller and DPO contacts, the purposes, the categories of data
subjects and of personal data, the recipients, the envisaged time limits for erasure and a
general description of the security measures; a register also needs the processors (Art. 28),
the impact assessment (Art. 35) and how people exercise their rights (Art. 12-22), which the
policy file's [controller] section gives. Fields the controller has not filled in yet are listed
under `to_complete`. All of it comes from the one policy file the
retention jobs follow (and, for when a period starts, from the deployment's holdings), so the record
and the schedule cannot disagree.
"""

from __future__ import annotations

from typing import Any

from retention.holdings import Holdings
from retention.policy import TO_COMPLETE, Expiry, Policies

EXPIRY_TEXT = {
    Expiry.SHRED: "data key destroyed (crypto-shredding), then rows deleted",
    Expiry.DELETE: "rows deleted",
    Expiry.ANONYMISE: "identifying fields overwritten",
}


def days(count: int) -> str:
    """'1 day', '35 days'."""
    return f"{count} day" if count == 1 else f"{count} days"


def record(policies: Policies, holdings: Holdings) -> dict[str, Any]:
    """The record as a JSON-ready dict."""
    document = policies.document
    controller = document.controller
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
    filled = {
        "processors": controller.processors, "dpia_reference": [controller.dpia_reference],
        "data_subject_rights": [controller.data_subject_rights],
    }
    return {
        "controller": {"name": controller.name, "contact": controller.contact},
        "data_protection_officer": {"contact": controller.dpo_contact},
        "transfers_to_third_countries": controller.transfers_to_third_countries,
        "processors": list(controller.processors),
        "dpia_reference": controller.dpia_reference,
        "data_subject_rights": controller.data_subject_rights,
        "security_measures": list(document.security_measures.measures),
        "processing_activities": activities,
        "policy_source": policies.source.rsplit("/", 1)[-1],
        "to_complete": [name for name, values in filled.items() if any(v.startswith(TO_COMPLETE) for v in values)],
    }


def markdown(data: dict[str, Any]) -> str:
    """The record as Markdown, for a DPO's register."""
    lines = [
        "# Record of processing activities (GDPR Art. 30)",
        "",
        f"- Controller: {data['controller']['name']} ({data['controller']['contact']})",
        f"- Data-protection officer: {data['data_protection_officer']['contact']}",
        f"- Transfers to third countries: {data['transfers_to_third_countries']}",
        f"- Data-protection impact assessment: {data['dpia_reference']}",
        f"- How data subjects exercise their rights: {data['data_subject_rights']}",
        "",
    ]
    if data["to_complete"]:
        lines += [f"**Incomplete: the controller still has to fill in {', '.join(data['to_complete'])}.**", ""]
    lines += [
        "## Processors (Art. 28)",
        "",
        *[f"- {processor}" for processor in data["processors"]],
        "",
        "| Data class | Purpose | Legal basis | Retention | At expiry |",
        "|---|---|---|---|---|",
    ]
    for activity in data["processing_activities"]:
        limit = activity["time_limit_for_erasure"]
        lines.append(
            f"| {activity['data_class']} | {activity['purpose']} | {activity['legal_basis']} "
            f"| {days(limit['period_days'])} from {limit['counted_from']} | {limit['at_expiry']} |"
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
