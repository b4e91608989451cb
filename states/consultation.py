"""Consultation: the tender is published with the clause; bidders are informed.

The offer is frozen from here on; the bidders' information task comes with the task queue.
"""
