"""Service coverage: road network, nearest-source drive times, walking access, siting."""
