"""Monthly hours declarations of contractors, their review by facilitators, and the pace."""
