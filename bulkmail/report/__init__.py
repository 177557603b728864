"""Report: each outcome into succeeded.csv / failed.csv, then report.xlsx and summary.json.

collector (each outcome to the report, the log, the progress; the run's result), writer
(the folder, the CSVs, summary.json), rows (outcome -> report row, secrets masked), xlsx
(the workbook from the CSVs), escaping (CSV cells Excel will not evaluate).
"""
