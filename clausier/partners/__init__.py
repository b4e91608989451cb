"""The organisations and people Clausier serves: buyers, structures and their facilitators,
contractors."""
