"""Reminders and e-mail notifications: rules, the sweep, rendering, the outbox, delivery.

Arrives with the reminders issue; the lifecycle (``states/``) will schedule and cancel
reminders here in the transaction of each transition.
"""
