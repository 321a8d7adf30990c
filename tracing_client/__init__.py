"""A reference exposure-notification client: what a phone does, in a few hundred lines.

Used by the tests and the demo, and a starting point for an app team: `phone` keeps daily keys,
broadcasts and hears rolling proximity identifiers, and matches published keys; `api` talks to
the safesignal server (redeem a code, upload keys, download and verify the signed exports),
padding every request to one size and sending fake requests like real ones.
"""
