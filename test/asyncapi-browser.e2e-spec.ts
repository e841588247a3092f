import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { messageName } from '../src/asyncapi/asyncapi-document';
import { INTEGRATION_EVENT_CONTRACTS } from '../src/contracts';
import { startTestApp, type TestApp } from './support/test-app';
import { collectCspViolations, describeWithChromium, launchChromium } from './support/chromium';

/**
 * The event catalogue page (`/asyncapi`) in a real browser (Debian's chromium): it renders every
 * channel and message of the document from this origin alone (no CDN), under the page's CSP, with
 * no violation. Skipped where /usr/bin/chromium is not installed (`apt-get install chromium`).
 */

describeWithChromium('the AsyncAPI page in a browser', () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const violations: string[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    await app.app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${((app.app.getHttpServer() as Server).address() as { port: number }).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    await collectCspViolations(page, violations);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('renders a send operation on every channel and every message, from this origin alone, with no CSP violation', async () => {
    const response = await page.goto(`${origin}/asyncapi`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'unsafe-eval'");
    await page.locator('#messages').waitFor({ timeout: 30_000 });
    expect(await page.locator('.aui-root h1').first().textContent()).toContain('integration events');

    for (const type of INTEGRATION_EVENT_CONTRACTS.keys()) {
      const name = messageName(type);
      const operation = page.locator(`[id="operation-send-${name}"]`);
      const text = await operation.textContent();
      expect(text).toMatch(new RegExp(`^\\s*SEND\\s*${type.replaceAll('.', '\\.')}`)); // the action and the channel address (the routing key)
      expect(text).toContain(app.topology.exchange);
      expect(await page.locator(`[id="message-${name}"]`).textContent()).toContain(name);
    }
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
  }, 60_000);

  it("shows a message's payload (the CloudEvent with the contract under data) and its cloudEvents: headers", async () => {
    const message = page.locator('[id="message-order-placed.v1"]');
    const payload = message.locator('[id="message-order-placed.v1-payload"]');
    expect(await payload.textContent()).not.toContain('quantity'); // collapsed until asked
    await payload.getByText('Expand all').click();
    // Expanding goes down one level per render: wait for the deepest field, in an order line.
    await payload.getByText('quantity', { exact: true }).waitFor({ timeout: 10_000 });
    const payloadText = await payload.textContent();
    for (const field of ['specversion', 'sequence', 'correlationid', 'data', 'orderId', 'lines', 'sku', 'quantity', 'placedAt']) {
      expect(payloadText).toContain(field);
    }
    expect(payloadText).toContain('com.example.orders.order-placed.v1');
    const headers = message.locator('[id="message-order-placed.v1-headers"]');
    await headers.getByText('Expand all').click();
    expect(await headers.textContent()).toContain('cloudEvents:sequence');
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
