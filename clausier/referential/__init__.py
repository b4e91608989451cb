"""Official territories: communes, EPCIs, départements and régions (INSEE COG)."""
