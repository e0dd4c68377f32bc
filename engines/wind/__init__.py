"""Distributed wind: resource and turbine energy (:mod:`.resource`), the site screen (:mod:`.screen`)."""
