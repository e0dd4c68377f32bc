"""The twin as a web service: OGC API - Features and Processes on pygeoapi (``twin serve``)."""
