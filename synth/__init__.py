"""The seeded generator of the synthetic demo city (every row it makes is flagged synthetic)."""
