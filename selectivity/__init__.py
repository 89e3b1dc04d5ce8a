"""selectivity: command line and demo that tie the four packages together."""
