"""Run: send the jobs through a bounded pool of workers, and build every outcome.

jobs (a valid row -> the Job that sends it, and what the journal says), pool (the workers,
the create's retry loop), sessions (one login and one listing per portal user), retry
(backoff with jitter, Retry-After), outcomes (every Outcome, and the Ledger that keeps one
per row), progress (a bar or log lines).
"""
