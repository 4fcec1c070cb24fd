// The privacy centre in a real browser against `ombud serve`: a request made with JavaScript
// switched off, from the form to the confirmed status, with the identity code taken from the
// e-mail ombud wrote (the server runs with `mail_dir`, no SMTP relay); the error summary; the
// Danish pages; and axe-core on every page.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { AXE_SOURCE, BASE, launch, screenshot } from './lib.mjs';

const MAIL_DIR = process.env.OMBUD_MAIL_DIR;
const CENTRE = `${BASE}/privacy-centre`;

let browser;

before(async () => {
  assert.ok(MAIL_DIR, 'OMBUD_MAIL_DIR must name the folder ombud writes its e-mails to');
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/// A fresh context and page; `options` go to the context.
async function fresh(t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 }, ...options });
  t.after(() => context.close());
  return context.newPage();
}

/// The identity code in the newest e-mail to `address`, waiting for it to be written.
async function codeFor(address) {
  for (let i = 0; i < 100; i++) {
    const mails = readdirSync(MAIL_DIR)
      .filter(f => f.endsWith('.eml'))
      .sort()
      .map(f => readFileSync(join(MAIL_DIR, f), 'utf8'))
      .filter(m => m.includes(`To: ${address}`));
    const last = mails.at(-1);
    const code = last?.match(/^\s+(\d{6})\s*$/m)?.[1];
    if (code) return code;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`no code e-mail to ${address} in ${MAIL_DIR}`);
}

/// Serious or critical axe-core findings on the page fail the test; all are reported.
async function assertAccessible(t, page, label) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const all = results.violations.map(v => `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`);
  if (all.length) t.diagnostic(`${label}: axe violations\n${all.join('\n')}`);
  const bad = results.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(bad.length, 0, `${label}: serious or critical violations:\n${all.join('\n')}`);
}

test('without JavaScript: choose a right, confirm the address with the e-mailed code, see the status', async t => {
  const page = await fresh(t, { javaScriptEnabled: false });
  await page.goto(`${CENTRE}?lang=en`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await page.locator('script').count(), 0, 'the privacy centre has no scripts');
  await page.locator('input[name=kind][value=erasure]').check();
  await page.getByLabel('Your e-mail address').fill('browser-erasure@example.com');
  await page.getByRole('button', { name: 'Send request' }).click();

  await page.waitForURL(/\/privacy-centre\/verify\/R-/);
  const reference = page.url().match(/verify\/(R-[A-Z0-9-]+)/)[1];
  assert.ok(!(await page.content()).includes('browser-erasure@example.com'), 'the address is not shown before confirmation');
  await page.getByLabel('Code').fill(await codeFor('browser-erasure@example.com'));
  await page.getByRole('button', { name: 'Confirm' }).click();

  await page.waitForURL(/\/privacy-centre\/status\/R-/);
  const status = await page.locator('main').innerText();
  assert.match(status, new RegExp(reference));
  assert.match(status, /In progress/);
  assert.match(status, /Delete my data/);
  assert.ok(!status.includes('browser-erasure@example.com'), 'the status page shows nothing about the person');
  await screenshot(page, 'privacy-centre-status.png');
});

test('a form with mistakes comes back with an error summary that links to the fields', async t => {
  const page = await fresh(t, { javaScriptEnabled: false });
  await page.goto(`${CENTRE}?lang=en`);
  await page.getByLabel('Your e-mail address').fill('not-an-address');
  await page.getByRole('button', { name: 'Send request' }).click();
  const summary = page.getByRole('alert');
  await summary.waitFor();
  const links = await summary.locator('a').evaluateAll(as => as.map(a => a.getAttribute('href')));
  assert.deepEqual(links.sort(), ['#email', '#kind']);
  assert.equal(await page.getByLabel('Your e-mail address').inputValue(), 'not-an-address', 'what was typed is kept');
});

test('Danish pages', async t => {
  const page = await fresh(t, { javaScriptEnabled: false, locale: 'da-DK' });
  await page.goto(CENTRE);
  assert.equal(await page.locator('html').getAttribute('lang'), 'da', 'Accept-Language da picks Danish');
  assert.equal(await page.locator('h1').innerText(), 'Dine rettigheder');
  assert.ok(await page.getByRole('button', { name: 'Send anmodning' }).isVisible());
  assert.ok(await page.getByLabel('Din e-mailadresse').isVisible());
});

test('axe-core finds no serious or critical problem on any page, in English and Danish', async t => {
  // axe is injected as a script, which the pages' own policy forbids: bypass it for the check.
  const page = await fresh(t, { bypassCSP: true });
  for (const lang of ['en', 'da']) {
    await page.goto(`${CENTRE}?lang=${lang}`);
    await assertAccessible(t, page, `form (${lang})`);
    await page.locator('button[type=submit]').click();
    await page.getByRole('alert').waitFor();
    await assertAccessible(t, page, `form with errors (${lang})`);
    await page.locator('input[name=kind][value=access]').check();
    await page.locator('#email').fill(`axe-${lang}@example.com`);
    await page.locator('button[type=submit]').click();
    await page.waitForURL(/\/verify\//);
    await assertAccessible(t, page, `code page (${lang})`);
    await page.locator('#code').fill(await codeFor(`axe-${lang}@example.com`));
    await page.locator('form').first().locator('button[type=submit]').click();
    await page.waitForURL(/\/status\//);
    await assertAccessible(t, page, `status page (${lang})`);
  }
});
