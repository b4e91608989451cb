"""``clausier load FILE``: reference data and markets from YAML (or CSV for markets and lots)."""
