import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { registerUser } from './support/fixtures';
import { testToken } from './support/test-auth';
import { eventually, type TestApp } from './support/test-app';
import { collectCspViolations, describeWithChromium, launchChromium } from './support/chromium';

/**
 * The flow page in a real browser (Debian's chromium), against the real API and consumer: an
 * order placed, confirmed, cancelled and compensated under one correlation id is drawn with every
 * step, under the app's Content-Security-Policy, after the page was given a token; the search box
 * and the audit trail's link lead to it. Keeps a screenshot in test-artifacts/ (printed).
 */
const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');

describeWithChromium('the flow page in a browser', () => {
  let apps: ApiWithConsumer;
  let api: TestApp;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let orderId: string;
  let expectedLabels: string[];
  const correlationId = `browser-flow-${randomUUID()}`;
  const violations: string[] = [];

  beforeAll(async () => {
    apps = await startApiWithConsumer({ consumerMaxAttempts: 3, retryDelaysMs: [200] });
    api = apps.api;
    await api.app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${((api.app.getHttpServer() as Server).address() as { port: number }).port}`;

    const customerId = await registerUser(api, { creditLimit: 10_000 });
    orderId = (
      await api
        .http()
        .post('/orders')
        .set('x-correlation-id', correlationId)
        .send({ customerId, currency: 'EUR', lines: [{ sku: 'FLOW-PAGE', quantity: 1, unitPrice: 4_200 }] })
        .expect(202)
    ).body.id;
    await eventually(async () => expect((await api.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CONFIRMED'));
    await api.http().post(`/orders/${orderId}/cancel`).set('x-correlation-id', correlationId).send({ reason: 'seen enough' }).expect(202);
    await eventually(async () => {
      const { body } = await api.http().get(`/flows/${correlationId}`).set('accept', 'application/json').expect(200);
      const nodes = body.nodes as Array<{ kind: string; label: string; consumer?: { status: string } }>;
      expect(nodes.filter((node) => node.kind === 'consumer-effect' && node.consumer?.status === 'applied')).toHaveLength(5);
      expect(nodes.map((node) => node.label)).toContain('CreditReleased');
      expectedLabels = nodes.map((node) => node.label);
    }, 30_000);

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    await collectCspViolations(page, violations);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await apps?.close();
  });

  /** The labels in the page's table of steps, in its order. */
  async function tableLabels(): Promise<string[]> {
    return page.locator('#steps tbody tr td:nth-child(4)').allTextContents();
  }

  /** Pixels of the graph's canvases that something was drawn on. */
  async function drawnPixels(): Promise<number> {
    return page.evaluate(
      `[...document.querySelectorAll('#graph canvas')].reduce((sum, canvas) => {
         if (canvas.width === 0 || canvas.height === 0) return sum;
         const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
         let drawn = 0;
         for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn += 1;
         return sum + drawn;
       }, 0)`,
    );
  }

  it('asks for a token, then draws every step of an order placed, confirmed, cancelled and compensated', async () => {
    const response = await page.goto(`${origin}/flows/${correlationId}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    // The app's policy, narrowed for this page: no inline style but Cytoscape's, by its hash.
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response?.headers()['content-security-policy']).toMatch(/style-src 'self' 'sha256-[^']+'(;|$)/);
    expect(response?.headers()['content-security-policy']).not.toContain('unsafe-inline');
    await page.locator('body[data-state="needs-token"]').waitFor();
    expect(await page.locator('#status').textContent()).toMatch(/token/);

    await page.locator('#token').fill(await testToken({ scopes: ['admin'] }));
    await page.locator('#authorize button[type=submit]').click();
    await page.locator('body[data-state="drawn"]').waitFor({ timeout: 20_000 });

    expect(await tableLabels()).toEqual(expectedLabels);
    for (const step of [
      'POST /orders',
      'PlaceOrderCommand',
      'OrderPlaced',
      'order-credit: reserveCreditForPlacedOrder',
      'ReserveCreditCommand',
      'CreditReserved',
      'order-fulfilment: confirmOrderWhenCreditReserved',
      'ConfirmOrderCommand',
      'OrderConfirmed',
      `POST /orders/${orderId}/cancel`,
      'CancelOrderCommand',
      'OrderCancelled',
      'order-credit: releaseCreditOfClosedOrder',
      'ReleaseCreditCommand',
      'CreditReleased',
      'com.example.orders.order-placed.v1',
      'ORDER_CONFIRMED, customer-stats',
      'ORDER_CANCELLED, customer-stats',
    ]) {
      expect(expectedLabels).toContain(step);
    }
    expect(await page.locator('#summary-consumer').textContent()).toBe('reachable');
    expect(await drawnPixels()).toBeGreaterThan(10_000);
    expect(violations).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = path.join(ARTIFACTS, `flow-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`flow page screenshot: ${screenshot}`);
  }, 60_000);

  it('finds a flow by the search box and by the audit trail\'s link, keeping the token in the tab', async () => {
    const unknown = `no-such-flow-${randomUUID()}`;
    await page.locator('#correlation-id').fill(unknown);
    await page.locator('#search button[type=submit]').click();
    await page.waitForURL(`${origin}/flows/${unknown}`);
    await page.locator('body[data-state="failed"]').waitFor();
    expect(await page.locator('#status').textContent()).toContain(`No stored event carries the correlation id ${unknown}`);

    const { body: stream } = await api.http().get(`/streams/${orderId}/events`).expect(200);
    const link: string = stream.events[0].links.flow;
    expect(link).toBe(`/flows/${correlationId}`);
    await page.goto(`${origin}${link}`);
    await page.locator('body[data-state="drawn"]').waitFor({ timeout: 20_000 });
    expect(await tableLabels()).toEqual(expectedLabels);
    expect(violations).toEqual([]);
  }, 60_000);

  it('shows the page again, not the JSON it fetched, when Back returns to a flow', async () => {
    // The page fetched the flow's JSON from its own URL: Back must not find that in the cache.
    await page.goto(`${origin}/flows/${correlationId}`);
    await page.locator('body[data-state="drawn"]').waitFor({ timeout: 20_000 });
    await page.locator('#correlation-id').fill(`no-such-flow-${randomUUID()}`);
    await page.locator('#search button[type=submit]').click();
    await page.locator('body[data-state="failed"]').waitFor();
    await page.goBack();
    expect(await page.evaluate('document.contentType')).toBe('text/html');
    await page.locator('body[data-state="drawn"]').waitFor({ timeout: 20_000 });
    expect(await tableLabels()).toEqual(expectedLabels);
  }, 60_000);

  it('writes what the events hold as text, and its CSP refuses an inline handler should markup ever reach the page', async () => {
    // A path with markup, a right-to-left override and 4,000 more characters, as an event stored by
    // another version may hold (the API now stores the path the router matched, at most 256 characters).
    const hostile = `/orders/</script><img src=x onerror="document.title='xss'"><script>document.title='xss'</script>\u202Egnp.exe/${'A'.repeat(4000)}`;
    await api.db.query(
      `UPDATE events SET metadata = jsonb_set(metadata, '{request,path}', to_jsonb($2::text))
       WHERE metadata ->> 'correlationId' = $1 AND metadata -> 'request' ->> 'method' = 'POST' AND metadata -> 'request' ->> 'path' = '/orders'`,
      [correlationId, hostile],
    );
    await page.goto(`${origin}/flows/${correlationId}`);
    await page.locator('body[data-state="drawn"]').waitFor({ timeout: 20_000 });
    expect(await tableLabels()).toContain(`POST ${hostile}`);
    expect(await page.evaluate("[document.title, document.querySelectorAll('img, main script, #steps script').length]")).toEqual(['Flow of one request', 0]);
    expect(violations).toEqual([]);

    // Were markup ever inserted, its inline handler would not run: script-src-attr 'none'.
    await page.evaluate(`document.body.insertAdjacentHTML('beforeend', '<img src="/flows/assets/none.png" onerror="document.title=\\'inline\\'">')`);
    // Polled with evaluate: waitForFunction's in-page polling compiles its predicate, which the page's
    // CSP (no 'unsafe-eval') refuses once the first check comes back false.
    for (let tries = 0; tries < 100 && !(await page.evaluate('document.querySelector("img").complete')); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await page.evaluate('document.querySelector("img").complete')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await page.evaluate('document.title')).toBe('Flow of one request');
    expect(violations.join('\n')).toMatch(/script-src-attr/);
    violations.length = 0;
  }, 60_000);
});
