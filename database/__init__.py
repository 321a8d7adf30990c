"""The database core: the declarative base and types, engines, the group commit. No Flask here.

database.base     Base, UTCDateTime, the naming convention, READ_ONLY, ACCUMULATE, upsert_insert
database.engines  make_engine (SQLite: WAL, durable commits, queued writers), checkpoint_wal
database.group_commit  GroupCommit: one transaction and one fsync for many requests' writes

The per-request session lives in service.requests, which is the part that needs Flask.
"""
