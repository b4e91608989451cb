"""Markets (*marchés*), their lots and the log of their transitions."""
