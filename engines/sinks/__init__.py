"""Carbon sinks engine: forest, bamboo, wetland and tea-garden stocks, sequestration, indicators."""
