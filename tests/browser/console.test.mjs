// The staff console in Chromium: setting up an account with a TOTP code the test computes,
// logging in, processing a request from the inbox to completion, downloading its package, and a
// viewer who cannot act. Screenshots of the dashboard, the inbox and a request page go to
// target/screenshots/ (the README shows copies of them).
//
// crates/ombud/tests/browser.rs adds the staff users with `ombud users add` and passes their
// one-time setup links:
//   OMBUD_SETUP_ADMIN   the privacy officer's setup link
//   OMBUD_SETUP_VIEWER  the viewer's setup link

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { BASE, SCREENSHOTS, TOKEN, launch } from './lib.mjs';

const PASSWORD = 'a long enough password for the console';

/// RFC 6238 with HMAC-SHA1, 6 digits, 30-second steps: what an authenticator app shows.
function totp(secretHex, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', Buffer.from(secretHex, 'hex')).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/// The setup link's path on the server under test (the CLI prints its own public URL).
function setupPath(envName) {
  const link = process.env[envName];
  if (!link) {
    throw new Error(`${envName} is not set: run through \`cargo test -p ombud --test browser\``);
  }
  return link.slice(link.indexOf('/console/setup/'));
}

/// Sets up the account behind `envName` and logs in with the next code; returns the page.
async function setUpAndLogIn(browser, envName, email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}${setupPath(envName)}`);
  assert.ok(await page.locator('.qr svg').isVisible(), 'the QR code is shown');
  const secret = await page.locator('input[name=secret]').inputValue();
  const now = Date.now() / 1000;
  await page.fill('#password', PASSWORD);
  await page.fill('#repeat', PASSWORD);
  await page.fill('#code', totp(secret, now));
  await page.click('button[type=submit]');
  assert.equal(await page.locator('#recovery-codes li').count(), 10, await page.locator('main').innerText());

  await page.goto(`${BASE}/console/requests`);
  assert.match(page.url(), /\/console\/login\?next=/);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  // The setup used this step's code, and a code works once: the app's next one.
  await page.fill('#code', totp(secret, now + 30));
  await page.click('button[type=submit]');
  await page.waitForURL(/\/console\/requests$/);
  return { context, page };
}

async function newRequest(kind, email) {
  const r = await fetch(`${BASE}/api/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, email, channel: 'email' }),
  });
  const body = await r.text();
  assert.equal(r.status, 201, body);
  return JSON.parse(body).reference;
}

test('a privacy officer processes an access request from the inbox to a downloaded package', async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const reference = await newRequest('access', 'ann@example.com');
  await newRequest('erasure', 'bo@example.com');
  const browser = await launch();
  try {
    const { context, page } = await setUpAndLogIn(browser, 'OMBUD_SETUP_ADMIN', 'officer@impero.test');
    // No script runs anywhere in the console.
    const scripts = await page.evaluate(() => document.scripts.length);
    assert.equal(scripts, 0);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(SCREENSHOTS, 'console-inbox.png'), fullPage: true });

    await page.click(`a:text("${reference}")`);
    await page.fill('#how', 'Called back on the number in the CRM');
    await page.click('button:text("Confirm identity")');
    await page.waitForSelector('#action-done');

    // Verification queues the export; the worker runs it within seconds.
    let downloadLink;
    for (let i = 0; i < 40 && !downloadLink; i++) {
      await page.waitForTimeout(500);
      await page.reload();
      if (await page.locator('a.download').count()) downloadLink = page.locator('a.download').first();
    }
    assert.ok(downloadLink, 'the package appears on the request page');
    await page.screenshot({ path: join(SCREENSHOTS, 'console-request.png'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), downloadLink.click()]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(path);
    assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'a ZIP file');

    // The manual systems of the data map (HubSpot, Mailchimp, Microsoft) are tasks to tick off;
    // the last one completes the request.
    while (await page.locator('button:text("Mark as done")').count()) {
      await page.locator('button:text("Mark as done")').first().click();
      await page.waitForSelector('#action-done');
    }
    assert.equal(await page.locator('#request-state').innerText(), 'Completed');

    await page.goto(`${BASE}/console`);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-dashboard.png'), fullPage: true });
    await context.close();
  } finally {
    await browser.close();
  }
});

test('a viewer sees requests and cannot act on them', async () => {
  const reference = await newRequest('erasure', 'cy@example.com');
  const browser = await launch();
  try {
    const { context, page } = await setUpAndLogIn(browser, 'OMBUD_SETUP_VIEWER', 'viewer@impero.test');
    await page.goto(`${BASE}/console/requests/${reference}`);
    assert.equal(await page.locator('#request-state').count(), 1);
    assert.equal(await page.locator('section.actions').count(), 0, 'no action forms');
    assert.equal(await page.locator('a[href="/console/users"]').count(), 0, 'no users page');
    // Posting the form anyway, with the session's own CSRF token: refused.
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const r = await page.request.post(`${BASE}/console/requests/${reference}/act`, {
      form: { csrf, action: 'refuse', reason: 'no' },
      maxRedirects: 0,
    });
    assert.equal(r.status(), 403);
    const users = await page.goto(`${BASE}/console/users`);
    assert.equal(users.status(), 403);
    await context.close();
  } finally {
    await browser.close();
  }
});
