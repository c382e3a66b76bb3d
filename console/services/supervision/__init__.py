"""Supervision: the live board, queue targets and alerts, staffing, the call ledger and reports."""
