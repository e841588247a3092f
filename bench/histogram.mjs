import hdr from 'hdr-histogram-js';

/**
 * Latencies go into an HdrHistogram in microseconds (3 significant digits, so ±0.1 % at any
 * magnitude) and come out in milliseconds. Negative differences (two clocks) count as 0.
 */
export function latencyHistogram() {
  return hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
}

export function recordMs(histogram, ms) {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function histogramOf(valuesMs) {
  const histogram = latencyHistogram();
  for (const ms of valuesMs) recordMs(histogram, ms);
  return histogram;
}

/** { count, p50, p99, p999, max } in ms; the percentiles are null when nothing was recorded. */
export function summary(histogram) {
  const count = histogram.totalCount;
  const at = (p) => (count === 0 ? null : histogram.getValueAtPercentile(p) / 1000);
  return { count, p50: at(50), p99: at(99), p999: at(99.9), max: count === 0 ? null : histogram.maxValue / 1000 };
}
