import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The command that reaches the test broker's `rabbitmqctl`, from RABBITMQCTL (words split on
 * whitespace; default `rabbitmqctl`). On the `docker compose` route:
 * `RABBITMQCTL="docker compose exec -T rabbitmq rabbitmqctl"`.
 */
export const RABBITMQCTL = (process.env.RABBITMQCTL ?? 'rabbitmqctl').trim().split(/\s+/);

/** Runs `rabbitmqctl <args>` on the test broker; rejects with its stderr on a non-zero exit. */
export async function rabbitmqctl(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const [command, ...prefix] = RABBITMQCTL;
  return promisify(execFile)(command, [...prefix, ...args], { timeout: 60_000 });
}
