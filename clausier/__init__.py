"""Clausier: carries public contracts with a social insertion clause through their whole life."""

__version__ = "0.1.0"
