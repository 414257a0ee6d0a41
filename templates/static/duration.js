// How a duration reads, on every page: the same rule as fmt_duration in
// collector/web/filters.py (tests/unit/test_web_formats.py holds the table,
// tests/e2e/test_ui.py checks both give the same text). "—" for no number,
// "0 ms", "<0.1 ms" under 50 µs, "4.2 ms" under 10 ms, "420 ms" under a
// second, "4.20 s" under a minute, "4 min 12 s" under an hour, else "2 h 5 min".
// Each step rounds a whole count of its unit, so no float formatting can
// round differently from Python's.
window.fmtDuration = function (seconds) {
  "use strict";
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  // Past this a "duration" is not one (milliseconds sent as seconds).
  if (Math.abs(seconds) >= 1e6) return seconds > 0 ? "> 1e6 s" : "< -1e6 s";
  if (seconds === 0) return "0 ms";
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(seconds);
  // Math.round rounds halves up; filters.round_half_up does the same.
  const tenthsOfMs = Math.round(abs * 10000);
  if (tenthsOfMs < 1) return "<0.1 ms";
  if (tenthsOfMs < 100) return sign + Math.floor(tenthsOfMs / 10) + "." + (tenthsOfMs % 10) + " ms";
  if (Math.round(abs * 1000) < 1000) return sign + Math.round(abs * 1000) + " ms";
  const hundredths = Math.round(abs * 100);
  if (hundredths < 6000) return sign + Math.floor(hundredths / 100) + "." + String(hundredths % 100).padStart(2, "0") + " s";
  const whole = Math.round(abs);
  if (whole < 3600) return sign + Math.floor(whole / 60) + " min " + (whole % 60) + " s";
  const minutes = Math.round(abs / 60);
  return sign + Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
};

// "1 span", "2 spans": every count on the page goes through this.
window.plural = function (count, one, many) {
  "use strict";
  return count + " " + (count === 1 ? one : many || one + "s");
};
