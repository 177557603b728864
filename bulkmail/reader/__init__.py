"""Read: any spreadsheet or CSV people save -> a Table of text cells, headers matched to fields.

table (read, headers, cells as the spreadsheet shows them), sheet (workbooks through
calamine), csv (delimiter, records), encoding (which code page), defaults (--set and the
TOML file), refeed (a fixed Failed sheet's masked passwords filled from the original).
"""
