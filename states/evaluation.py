"""Evaluation: the facilitator writes the report (bilan) of hours done and outcomes.

The report task comes with the task queue.
"""
