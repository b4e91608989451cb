"""Demonstration data at national scale (``clausier demo-data``)."""
