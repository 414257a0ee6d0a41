"""HTTP ingest: endpoints, bodies, limits, and normalising items into rows."""
