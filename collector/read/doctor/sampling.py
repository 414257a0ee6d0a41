"""Sampling: segments sent against the head's decision, sample rates that
disagree on one trace, backends that did not sample what the frontend did."""

from __future__ import annotations

from ...protocol.jsonshape import as_dict
from ...protocol.sdks import service_category
from .evidence import finding, sdk_of


def _sampled(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def sampling(trace_id: str, spans: list[dict], errors: list[dict]) -> list[dict]:
    findings = []
    segments = [s for s in spans if s.get("is_segment")]
    dscs = [(s, s["dsc"]) for s in segments if s.get("dsc") and isinstance(s["dsc"], dict)]
    for seg, dsc in dscs:
        if _sampled(dsc.get("sampled")) is False:
            findings.append(
                finding(
                    "sampling",
                    trace_id,
                    seg["span_id"],
                    sdk_of(seg),
                    f"segment {seg.get('description')!r} was sent although the trace's head decided not to sample it "
                    f"(sampled={dsc.get('sampled')}, sample_rate={dsc.get('sample_rate')}).",
                    "Let the backend follow the incoming sampling decision: remove a traces_sampler that ignores "
                    "parent_sampled, or use traces_sample_rate.",
                    dsc=dsc,
                )
            )
    rates = {str(dsc.get("sample_rate")) for _, dsc in dscs if dsc.get("sample_rate") is not None}
    if len(rates) > 1:
        seg = dscs[0][0]
        findings.append(
            finding(
                "sampling",
                trace_id,
                seg["span_id"],
                None,
                "segments of this trace carry different sample rates in their dynamic sampling context "
                f"({', '.join(sorted(rates))}): "
                "the head's baggage did not reach every service.",
                "Propagate the baggage header with sentry-trace (tracePropagationTargets, CORS allow_headers: "
                "baggage).",
                rates=sorted(rates),
            )
        )
    head_sampled = any(_sampled(dsc.get("sampled")) for _, dsc in dscs)
    segment_sdks = {sdk_of(s) for s in segments}
    for error in errors:
        if (
            head_sampled
            and sdk_of(error)
            and sdk_of(error) not in segment_sdks
            and service_category(sdk_of(error), None) == "backend"
        ):
            findings.append(
                finding(
                    "sampling",
                    trace_id,
                    error.get("span_id"),
                    sdk_of(error),
                    f"{sdk_of(error)} reported an error on this sampled trace but no transaction: it did not "
                    "sample the trace the frontend sampled.",
                    "Set traces_sample_rate (or a traces_sampler that honours parent_sampled) in that service.",
                    event_id=error["event_id"],
                )
            )
            segment_sdks.add(sdk_of(error))
    return findings


def sampling_summary(spans: list[dict]) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for s in spans:
        # Segments first: a trace's thousands of child spans carry no context.
        dsc = as_dict(s.get("dsc")) if s.get("is_segment") else None
        if not dsc:
            continue
        entry = seen.setdefault(
            (sdk_of(s), s.get("environment")),
            {
                "sdk": sdk_of(s),
                "environment": s.get("environment"),
                "sample_rates": set(),
                "sampled": 0,
                "not_sampled": 0,
            },
        )
        if dsc.get("sample_rate") is not None:
            entry["sample_rates"].add(str(dsc["sample_rate"]))
        entry["sampled" if _sampled(dsc.get("sampled")) is not False else "not_sampled"] += 1
    return [{**e, "sample_rates": sorted(e["sample_rates"])} for e in seen.values()]
