"""`python -m bulkmail` runs the command line."""

from bulkmail.cli import entry

entry()
