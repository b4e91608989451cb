"""The insertion offer: hours per lot from the formula, the facilitator's override, the clause
text rendered from a template."""
