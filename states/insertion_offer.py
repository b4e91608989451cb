"""Insertion offer: the facilitator prepares, per lot, the hours and the clause text.

A relaunch comes back here; the failed consultation's reason stays in the transition log.
The preparation task comes with the task queue.
"""
