"""A small deployment for the notices tests: two municipalities, an SMS file that fits them, and
weeks of tallies released as the scheduler would (the fixtures that serve them: conftest.py)."""

from __future__ import annotations

import datetime as dt
import re
import json
import uuid
from pathlib import Path

from sqlalchemy import insert

from service.signals.models import Tally
from service.signals.services import release_at, release_week

# "north" has two districts (n-centre: n1, n2; n-harbour: n3); "south" one.
AREAS = [("n1", "north", "n-centre", (4.00, 51.00)), ("n2", "north", "n-centre", (4.01, 51.00)),
         ("n3", "north", "n-harbour", (4.02, 51.00)), ("s1", "south", "s-centre", (4.00, 50.99))]
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"


def area_file(path: Path) -> Path:
    d = 0.009
    features = [
        {"type": "Feature", "properties": {"code": code, "name": code.upper(), "district": district, "municipality": town},
         "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}}
        for code, town, district, (x, y) in AREAS
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def sms_file(path: Path) -> Path:
    """The demo's SMS file with its areas renamed to this deployment's."""
    from service.sms.domain import DEFAULT_FILE

    text = Path(DEFAULT_FILE).read_text()
    # The demo's places ([lat, lon] in Mechelen) become this deployment's area codes.
    for key, area in (('"+3215000000"', "n1"), ('"2800"', "n1"), ('"2801"', "n2"), ('"2811"', "n3"), ('"2812"', "s1")):
        text = re.sub(rf'^{re.escape(key)} = \[[^\]]*\]', f'{key} = "{area}"', text, count=1, flags=re.M)
    path.write_text(text)
    return path


def seed(state, weeks: list[dt.date], rise: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Tallies for each week (dv_mask19: `rise[i]` reporters in n1, six in n2 and in n3, one report each;
    housing_need: six in s1), each week released at its release time, as the scheduler would."""
    rules = state.signals.rules
    with state.sessions() as session:
        for week, n1 in zip(weeks, rise):
            rows = [("n1", "dv_mask19", n1), ("n2", "dv_mask19", 6), ("n3", "dv_mask19", 6), ("s1", "housing_need", 6)]
            session.execute(insert(Tally), [
                {"week": week, "area": area, "category": category, "reporter": uuid.uuid4().bytes, "n": 1}
                for area, category, count in rows for _ in range(count)
            ])
            session.flush()
            release_week(session, state.signals, week, release_at(week, rules), state.audit, "test", since=weeks[0])
        session.commit()
