"""Who is asking: bearer tokens bound to one role and one organisation, and what each may see."""
