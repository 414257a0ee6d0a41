"""Noise: health checks, metrics scrapes and CORS preflights.

With tracing at 100% while developing, a load balancer's or Kubernetes'
probes become most of the traces. They are kept (nothing is deleted) but
hidden by default from the lists, the live feed and `collector tail`; the
rules are listed on the pages and extended with `--hide-route`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ROUTES = ("/health", "/healthz", "/health/*", "/ready", "/readyz", "/livez", "/ping", "/metrics")
# Browsers send these before a cross-origin request; they are never what a developer is looking at.
PREFLIGHT_METHOD = "OPTIONS"


def route_of(name: str) -> tuple[str | None, str]:
    """`GET /health?x=1` → ("GET", "/health"): transaction names carry the
    method in Node and not in Python; the query string never matters."""
    method, _, rest = name.partition(" ")
    if rest and rest.startswith("/"):
        return method, rest.split("?", 1)[0]
    return None, name.split("?", 1)[0]


@dataclass(frozen=True)
class Noise:
    """The routes hidden by default: exact paths, or prefixes ending in `/*`."""

    routes: tuple[str, ...] = DEFAULT_ROUTES

    def with_routes(self, extra) -> Noise:
        return Noise(self.routes + tuple(r for r in extra if r not in self.routes))

    def hides(self, name) -> bool:
        if not isinstance(name, str):
            return False
        method, path = route_of(name)
        if method == PREFLIGHT_METHOD:
            return True
        path = path.rstrip("/") or "/"
        return any(_matches(rule, path) for rule in self.routes)

    def sql(self, column: str) -> tuple[str, list]:
        """A condition true for the rows whose `column` (a segment or root
        name) is NOT noise, and its arguments."""
        path = (
            f"rtrim(CASE WHEN instr({column}, ' /') THEN substr({column}, instr({column}, ' /') + 1)"
            f" ELSE {column} END, '/')"
        )
        # The query string is cut off the same way route_of does.
        path = f"CASE WHEN instr({path}, '?') THEN substr({path}, 1, instr({path}, '?') - 1) ELSE {path} END"
        exact = [r.rstrip("/") or "/" for r in self.routes if not r.endswith("/*")]
        prefixes = [r[:-1] for r in self.routes if r.endswith("/*")]
        tests = [f"{column} LIKE '{PREFLIGHT_METHOD} %'"]
        args: list = []
        if exact:
            tests.append(f"{path} IN ({', '.join('?' * len(exact))})")
            args += exact
        for prefix in prefixes:
            tests.append(f"substr({path}, 1, ?) = ?")
            args += [len(prefix), prefix]
        return f"NOT coalesce({' OR '.join(tests)}, 0)", args


def _matches(rule: str, path: str) -> bool:
    if rule.endswith("/*"):
        return path.startswith(rule[:-1])
    return path == (rule.rstrip("/") or "/")
