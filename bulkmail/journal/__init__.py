"""The journal: what earlier runs did, so that the same command finishes what a crash left.

store (SQLite entries, the row digest), db (schema and statements), plan (what a re-run does
with a row), lock (one run per journal).
"""
