import { isIdentical, type RebuildProgress, type RebuildResult } from '../event-store';

/** `order-summaries: 12,345 / 50,000 events (24.7%), 8,900 ev/s, ~4 s left` */
export function formatProgress({ projection, eventsDone, eventsTotal, eventsPerSecond, secondsLeft }: RebuildProgress): string {
  const percent = eventsTotal === 0 ? 100 : (100 * eventsDone) / eventsTotal;
  const timeLeft = secondsLeft === undefined ? 'time left unknown' : `~${formatDuration(secondsLeft)} left`;
  return `${projection}: ${count(eventsDone)} / ${count(eventsTotal)} events (${percent.toFixed(1)}%), ${count(eventsPerSecond)} ev/s, ${timeLeft}`;
}

/** One line saying what was replayed, whether the rows matched, and whether the table was swapped. */
export function formatResult({ projection, eventsReplayed, differences, swapped, seconds }: RebuildResult): string {
  const replayed = `${projection}: replayed ${count(eventsReplayed)} events in ${seconds.toFixed(1)} s`;
  if (isIdentical(differences)) return `${replayed}; rows identical to the live table; swapped in`;
  const { onlyInLive, onlyInRebuilt, sampleKeys } = differences;
  const found = `rows differ from the live table: ${count(onlyInLive)} only in the live one, ${count(onlyInRebuilt)} only in the rebuilt one (e.g. ${sampleKeys.join(', ')})`;
  return swapped
    ? `${replayed}; ${found}; swapped in as --accept-differences asks`
    : `${replayed}; ${found}; kept the live table and dropped the rebuilt one (--accept-differences swaps anyway)`;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}
