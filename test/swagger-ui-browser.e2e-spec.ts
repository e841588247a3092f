import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { testToken } from './support/test-auth';
import { startTestApp, type TestApp } from './support/test-app';
import { collectCspViolations, describeWithChromium, launchChromium } from './support/chromium';

/**
 * Swagger UI in a real browser (Debian's chromium), under the app's security headers: it renders
 * with no Content-Security-Policy violation, and its Authorize button makes "Try it out" send the
 * bearer token. Skipped where /usr/bin/chromium is not installed (`apt-get install chromium`).
 */

describeWithChromium('Swagger UI in a browser', () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const violations: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    await app.app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${((app.app.getHttpServer() as Server).address() as { port: number }).port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(`console: ${message.text()}`);
    });
    await collectCspViolations(page, violations);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** Expands GET /orders, runs it with "Try it out" / "Execute", and reads the status Swagger UI shows. */
  async function tryListOrders(): Promise<string> {
    const operation = page.locator('#operations-Orders-listOrders');
    if (!(await operation.locator('.execute').isVisible())) {
      if (!(await operation.locator('.try-out__btn').isVisible())) await operation.locator('.opblock-summary').click();
      await operation.locator('.try-out__btn').click();
    }
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    const text = (await status.textContent())?.trim() ?? '';
    await operation.locator('.btn-clear').click();
    return text;
  }

  it('renders the API under the CSP, with no violation', async () => {
    const response = await page.goto(`${origin}/docs`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Event-driven NestJS monolith');
    await page.locator('#operations-Orders-listOrders').waitFor();
    expect(violations).toEqual([]);
  }, 60_000);

  it('sends no token before Authorize (401), and the pasted one after it (200)', async () => {
    expect(await tryListOrders()).toBe('401');
    await page.locator('.swagger-ui .auth-wrapper .authorize').click();
    await page.locator('.modal-ux input[type=text], .modal-ux input[type=password]').first().fill(await testToken({ scopes: ['orders:read'] }));
    await page.locator('.modal-ux .auth-btn-wrapper .authorize').click();
    await page.locator('.modal-ux .auth-btn-wrapper .btn-done, .modal-ux .close-modal').first().click();
    expect(await tryListOrders()).toBe('200');
    expect(violations).toEqual([]);
  }, 60_000);
});
