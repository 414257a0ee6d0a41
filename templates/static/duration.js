// How a duration reads, on every page: the same rule as fmt_duration in
// collector/web/filters.py (tests/e2e/test_ui.py checks both give the same
// text). "—" for no number, "0 ms", "<1 ms", whole milliseconds under a
// second, else seconds with two decimals built from whole hundredths, so no
// float formatting can round differently from Python's.
window.fmtDuration = function (seconds) {
  "use strict";
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  // Past this a "duration" is not one (milliseconds sent as seconds).
  if (Math.abs(seconds) >= 1e6) return seconds > 0 ? "> 1e6 s" : "< -1e6 s";
  if (seconds === 0) return "0 ms";
  const ms = seconds * 1000;
  if (Math.abs(ms) < 1) return "<1 ms";
  // Math.round rounds halves up; filters.round_half_up does the same.
  if (Math.abs(Math.round(ms)) < 1000) return Math.round(ms) + " ms";
  const hundredths = Math.round(seconds * 100);
  const abs = Math.abs(hundredths);
  return (hundredths < 0 ? "-" : "") + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0") + " s";
};
