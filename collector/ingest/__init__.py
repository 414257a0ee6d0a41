"""HTTP ingest: endpoints, bodies, limits, and normalizing items into rows."""
