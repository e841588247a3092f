import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium: the browser tests never download one. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * `describe` where /usr/bin/chromium is installed (`apt-get install chromium`), `describe.skip`
 * elsewhere; never skipped in CI (.ci/run installs it), where a missing browser fails.
 */
export const describeWithChromium = existsSync(CHROMIUM) || process.env.CI === 'true' ? describe : describe.skip;

/** A headless chromium with what it needs in a container and nothing that calls home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Pushes every Content-Security-Policy violation the page reports (its directive and what it blocked) onto `violations`. */
export async function collectCspViolations(page: Page, violations: string[]): Promise<void> {
  await page.exposeFunction('reportViolation', (violation: string) => violations.push(violation));
  // Runs in the page (this project's TypeScript has no DOM types).
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (event) => window.reportViolation(event.violatedDirective + ' blocked ' + event.blockedURI));",
  });
}
