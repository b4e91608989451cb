"""Beneficiaries: the people the clause hires, known to the product by a pseudonymous code."""
