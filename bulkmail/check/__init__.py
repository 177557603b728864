"""`bulkmail check`: test each valid row's mail servers from this machine, as the portal would.

`pipeline` reads, validates, checks and reports; `checker` checks one row within the mail
servers' limits; `probes` shares one unauthenticated probe per server; `protocols` speaks
IMAP, POP3 and SMTP through Python's standard clients; `failures` turns their errors into the
import's codes; `targets` says what a row connects to.
"""

from __future__ import annotations

from bulkmail.check.pipeline import CheckSettings, check_async, check_file

__all__ = ["CheckSettings", "check_async", "check_file"]
