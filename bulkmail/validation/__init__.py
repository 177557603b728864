"""Validate: every problem of every cell, and the account to send. Pure: no I/O.

table (required columns, duplicate mailboxes across rows, validate), rows (mailbox, logins,
portal identity; assembles the Account), servers (incoming and SMTP settings: what a blank
port, encryption or protocol means), cells (one parser per kind of cell).
"""
