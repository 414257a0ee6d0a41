"""Pages, the JSON API, and what guards them (hosts, CORS, connections)."""
