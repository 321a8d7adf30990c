"""Decentralised contact tracing: verification codes, key upload, signed key exports.

The exposure-notification protocol national apps used (Google/Apple Exposure Notification,
Corona-Warn-App, Belgium's Coronalert): phones keep their own contacts; a person who tests
positive uploads their own temporary exposure keys with a one-time code from a testing pharmacy;
every phone downloads the published keys and matches on the phone. docs/tracing.md has the design.
"""
