"""Identification: the buyer (advised by the facilitator) decides whether the market can carry
a clause. Coverage is checked by the engine before every transition.

The assessment task comes with the task queue; nothing is written on entering or leaving yet.
"""
