"""Recurring schedules: records, slot planning, static profiles and the user-facing calls.

The expressions themselves live in :mod:`jobmaster.recurrence`; the planner loop in
:mod:`jobmaster.runtime.planner`. See docs/recurring.md.
"""
