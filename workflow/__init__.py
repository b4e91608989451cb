"""The lifecycle of a market: states, triggers and guards as data, and the engine that fires a
trigger against the store in one transaction."""
