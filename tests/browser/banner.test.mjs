// The cookie banner in a real browser (Debian's Chromium) against `ombud serve` with the example
// policy: prior blocking, the choices and their proof in the ledger, withdrawal, GPC, keyboard
// use, accessibility and language. Each test uses its own browser context, so its own cookies
// and its own visitor id.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  AXE_SOURCE, DEMO, OPTIONAL, PIXEL_PATH, assertChoiceRecorded, assertServerCookie,
  blockedState, choose, chooseByKey, consentCookie, consentMode, focused, history, launch,
  latestByCategory, openDemo, policyVersion, screenshot, watchRequests,
} from './lib.mjs';

const SIGNALS = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage', 'personalization_storage'];

let browser;
let version;

before(async () => {
  browser = await launch();
  version = await policyVersion();
});

after(async () => {
  await browser?.close();
});

/// A fresh context and page; the context is closed when the test ends.
async function fresh(t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  t.after(() => context.close());
  const page = await context.newPage();
  return { context, page };
}

test('before any choice: the banner shows, nothing blocked runs or loads, no cookie is set', async t => {
  const { context, page } = await fresh(t);
  const requests = watchRequests(page);
  await openDemo(page);

  const banner = page.locator('#ombud-banner');
  assert.equal(await banner.getAttribute('role'), 'dialog');
  assert.equal(await banner.getAttribute('aria-modal'), 'true');
  assert.equal(await banner.getAttribute('aria-labelledby'), 'ombud-h');
  assert.ok(await page.locator('.ombud-l1').isVisible(), 'first layer visible');
  assert.ok(!(await page.locator('.ombud-l2').isVisible()), 'settings layer hidden');
  assert.equal(await page.locator('.ombud-gpc').count(), 0, 'no GPC note without the signal');
  const texts = await page.locator('.ombud-l1 button').evaluateAll(bs => bs.map(b => [b.dataset.act, b.textContent]));
  assert.deepEqual(texts, [['accept', 'Accept all'], ['reject', 'Reject all'], ['settings', 'Settings']]);

  // Accept and reject carry equal visual weight: same size, colours and font.
  const look = sel => page.locator(sel).evaluate(b => {
    const s = getComputedStyle(b);
    const r = b.getBoundingClientRect();
    return { w: Math.round(r.width), h: Math.round(r.height), bg: s.backgroundColor, fg: s.color, weight: s.fontWeight, size: s.fontSize, border: s.borderTopColor };
  });
  assert.deepEqual(await look('.ombud-l1 [data-act=reject]'), await look('.ombud-l1 [data-act=accept]'));
  // An overlay: fixed, so the page's layout does not move.
  assert.equal(await banner.evaluate(b => getComputedStyle(b).position), 'fixed');

  const state = await blockedState(page);
  assert.equal(state.analyticsRan, undefined, 'the blocked analytics script ran before a choice');
  assert.equal(state.analyticsOutput, 'false');
  assert.equal(state.pixelSrc, null, 'the advertising pixel got a src before a choice');
  assert.ok(!requests.includes(PIXEL_PATH), `the pixel was requested: ${requests.join(' ')}`);
  assert.deepEqual(await context.cookies(), [], 'cookies exist before a choice');
  assert.equal(await page.evaluate(() => document.cookie), '');

  // Consent mode: everything denied by default, and nothing updated yet.
  const cm = await consentMode(page);
  assert.equal(cm[0][1], 'default');
  for (const s of SIGNALS) assert.equal(cm[0][2][s], 'denied', `default ${s}`);
  assert.equal(cm.filter(c => c[1] === 'update').length, 0, 'a consent update before a choice');
  assert.equal(await page.evaluate(() => window.ombud.consent('statistics')), false);

  await screenshot(page, 'banner-first-layer.png');
});

test('reject all: nothing blocked runs, the ledger holds refusals, the server sets the cookie, the banner stays closed', async t => {
  const { context, page } = await fresh(t);
  const requests = watchRequests(page);
  await openDemo(page);

  const post = await choose(page, '.ombud-l1 button[data-act=reject]');
  assert.deepEqual(post.sent.choices, { functional: false, statistics: false, marketing: false });
  assert.equal(post.sent.version, version);
  assert.equal(post.sent.gpc, false);
  assert.ok(!(await page.locator('#ombud-banner').isVisible()), 'the banner is still shown after the choice');

  const cookie = await assertServerCookie(context, post);
  assert.deepEqual(cookie.g, []);
  assert.equal(cookie.p, version);

  const events = await history(cookie.v);
  assert.equal(events.length, OPTIONAL.length, `one event per category: ${JSON.stringify(events)}`);
  assertChoiceRecorded(events, { granted: [], version });

  const cm = await consentMode(page);
  const update = cm.filter(c => c[1] === 'update').at(-1);
  assert.ok(update, 'no consent-mode update after the choice');
  for (const s of SIGNALS) assert.equal(update[2][s], 'denied', `update ${s}`);

  // After a reload the choice holds: no banner, still nothing blocked.
  await page.reload();
  await page.waitForLoadState('load');
  await page.waitForFunction(() => document.getElementById('demo-state').textContent.startsWith('{'));
  assert.ok(!(await page.locator('#ombud-banner').isVisible()), 'the banner shows again after a reload');
  const state = await blockedState(page);
  assert.equal(state.analyticsRan, undefined, 'the analytics script ran after "reject all"');
  assert.equal(state.pixelSrc, null);
  assert.ok(!requests.includes(PIXEL_PATH), 'the pixel was requested after "reject all"');
  assert.deepEqual(JSON.parse(await page.locator('#demo-state').textContent()),
    { granted: ['necessary'], refused: OPTIONAL });
  // No second choice was recorded by the reload.
  assert.equal((await history(cookie.v)).length, OPTIONAL.length);
});

test('accept statistics only: the analytics script runs without a reload, the pixel does not load', async t => {
  const { context, page } = await fresh(t);
  const requests = watchRequests(page);
  let navigations = 0;
  page.on('framenavigated', f => { if (f === page.mainFrame()) navigations++; });
  await openDemo(page);
  assert.equal(navigations, 1);

  await page.locator('.ombud-l1 button[data-act=settings]').click();
  assert.ok(await page.locator('.ombud-l2').isVisible(), 'settings layer not shown');
  assert.ok(!(await page.locator('.ombud-l1').isVisible()), 'first layer still shown');
  const necessary = page.locator('#ombud-c-necessary');
  assert.ok(await necessary.isChecked() && await necessary.isDisabled(), 'necessary is not shown as always on');
  for (const id of OPTIONAL) assert.equal(await page.locator(`#ombud-c-${id}`).isChecked(), false, `${id} on before a choice`);
  // Each category lists its cookies (name, provider, party, duration, purpose).
  const stats = page.locator('.ombud-cat', { has: page.locator('#ombud-c-statistics') });
  await stats.locator('summary').click();
  const header = await stats.locator('thead th').allTextContents();
  assert.deepEqual(header, ['Name', 'Provider', 'Set by', 'Duration', 'Purpose']);
  const names = await stats.locator('tbody tr td:first-child').allTextContents();
  assert.ok(names.includes('_ga') && names.includes('_gid'), `statistics cookies: ${names}`);
  await stats.locator('summary').click();
  await screenshot(page, 'banner-settings-layer.png');

  await page.locator('#ombud-c-statistics').check();
  const post = await choose(page, '.ombud-l2 button[data-act=save]');
  assert.deepEqual(post.sent.choices, { functional: false, statistics: true, marketing: false });

  await page.waitForFunction(() => window.__analyticsRan === true, null, { timeout: 5_000 });
  assert.equal(navigations, 1, 'the page was reloaded');
  const state = await blockedState(page);
  assert.equal(state.analyticsOutput, 'true');
  assert.equal(state.pixelSrc, null, 'the advertising pixel got a src');
  assert.ok(!requests.includes(PIXEL_PATH), 'the advertising pixel was requested');
  assert.ok((await context.cookies()).some(c => c.name === '_ga'), 'the analytics script set no _ga cookie');
  assert.equal(await page.evaluate(() => window.ombud.consent('statistics')), true);
  assert.equal(await page.evaluate(() => window.ombud.consent('marketing')), false);

  const cookie = await assertServerCookie(context, post);
  assert.deepEqual(cookie.g, ['statistics']);
  assertChoiceRecorded(await history(cookie.v), { granted: ['statistics'], version });

  const update = (await consentMode(page)).filter(c => c[1] === 'update').at(-1);
  assert.ok(update, 'no consent-mode update');
  assert.equal(update[2].analytics_storage, 'granted');
  for (const s of ['ad_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage']) {
    assert.equal(update[2][s], 'denied', `update ${s}`);
  }
});

test('reopen and withdraw statistics: a new refusal in the ledger, and the _ga cookie is deleted', async t => {
  const { context, page } = await fresh(t);
  await openDemo(page);
  await page.locator('.ombud-l1 button[data-act=settings]').click();
  await page.locator('#ombud-c-statistics').check();
  const first = await choose(page, '.ombud-l2 button[data-act=save]');
  const visitor = first.receipt.visitor;

  // On the next page view the stored choice runs the analytics script at once.
  await page.reload();
  await page.waitForFunction(() => window.__analyticsRan === true, null, { timeout: 5_000 });
  assert.ok(!(await page.locator('#ombud-banner').isVisible()));
  assert.ok((await context.cookies()).some(c => c.name === '_ga'), 'no _ga cookie to withdraw');

  await page.locator('a[data-ombud-open]').click();
  await page.locator('#ombud-banner').waitFor({ state: 'visible' });
  assert.ok(await page.locator('.ombud-l2').isVisible(), 'the link does not open the settings');
  assert.equal(await page.locator('#ombud-c-statistics').isChecked(), true, 'the settings do not show the choice in force');
  assert.equal(await page.locator('#ombud-c-marketing').isChecked(), false);

  const changed = page.evaluate(() => new Promise(resolve => {
    document.addEventListener('ombud:consent', e => resolve(e.detail), { once: true });
  }));
  await page.locator('#ombud-c-statistics').uncheck();
  const post = await choose(page, '.ombud-l2 button[data-act=save]');
  assert.deepEqual(post.sent.choices, { functional: false, statistics: false, marketing: false });
  assert.equal(post.receipt.visitor, visitor, 'the withdrawal was recorded for another visitor');
  assert.deepEqual(await changed, { granted: ['necessary'], refused: OPTIONAL });

  const names = (await context.cookies()).map(c => c.name);
  assert.ok(!names.includes('_ga'), `_ga survived the withdrawal: ${names}`);
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('_ga='));
  assert.equal(await page.evaluate(() => window.ombud.consent('statistics')), false);

  const events = await history(visitor);
  const stats = events.filter(e => e.target === 'cookies:statistics');
  assert.deepEqual(stats.map(e => e.granted), [true, false], `statistics events: ${JSON.stringify(stats)}`);
  assert.ok(stats[1].seq > stats[0].seq);
  assert.equal(latestByCategory(events).statistics.granted, false);
  const cookie = await assertServerCookie(context, post);
  assert.deepEqual(cookie.g, []);

  // ombud.open() shows the settings with the choice now in force.
  await page.evaluate(() => window.ombud.open());
  assert.ok(await page.locator('.ombud-l2').isVisible(), 'ombud.open() does not show the settings');
  assert.equal(await page.locator('#ombud-c-statistics').isChecked(), false);
});

test('GPC: marketing is off by default, the banner says the signal was honoured, events record gpc', async t => {
  const { context, page } = await fresh(t, { extraHTTPHeaders: { 'Sec-GPC': '1' } });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
  });
  await openDemo(page);
  assert.equal(await page.evaluate(() => navigator.globalPrivacyControl), true);

  const note = page.locator('#ombud-banner .ombud-gpc');
  assert.ok(await note.isVisible(), 'no GPC note');
  assert.match(await note.textContent(), /Global Privacy Control/);
  assert.match(await note.textContent(), /Marketing/, 'the note names the categories that stay off');

  await page.locator('.ombud-l1 button[data-act=settings]').click();
  assert.equal(await page.locator('#ombud-c-marketing').isChecked(), false, 'marketing is on by default despite GPC');
  await page.locator('#ombud-c-statistics').check();
  const post = await choose(page, '.ombud-l2 button[data-act=save]');
  assert.equal(post.sent.gpc, true, 'the banner did not send gpc');
  assert.equal(post.sent.choices.marketing, false);

  const cookie = await assertServerCookie(context, post);
  assertChoiceRecorded(await history(cookie.v), { granted: ['statistics'], version, gpc: true });
});

test('GPC: "accept all" leaves the opted-out categories off', async t => {
  const { context, page } = await fresh(t, { extraHTTPHeaders: { 'Sec-GPC': '1' } });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
  });
  await openDemo(page);
  const post = await choose(page, '.ombud-l1 button[data-act=accept]');
  assert.equal(post.sent.choices.marketing, false, 'accept all granted marketing despite GPC');
  assert.equal(post.sent.choices.statistics, true);
  assert.equal(await page.evaluate(() => window.ombud.consent('marketing')), false);
});

test('keyboard only: focus starts in the banner, stays inside it, and Tab and Enter make the choice', async t => {
  const { context, page } = await fresh(t);
  await openDemo(page);

  let f = await focused(page);
  assert.ok(f.inside, `focus is not in the banner when it shows: ${JSON.stringify(f)}`);
  assert.equal(f.act, 'accept', 'focus does not start on "Accept all"');

  // Tab and Shift+Tab cycle inside the dialog.
  const seen = new Set();
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    f = await focused(page);
    assert.ok(f.inside, `Tab ${i + 1} left the banner: ${JSON.stringify(f)}`);
    assert.ok(f.visible, `no visible focus after Tab ${i + 1}: ${JSON.stringify(f)}`);
    seen.add(f.act || f.tag);
  }
  for (const want of ['accept', 'reject', 'settings', 'a']) assert.ok(seen.has(want), `Tab never reached ${want}: ${[...seen]}`);
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Shift+Tab');
    f = await focused(page);
    assert.ok(f.inside, `Shift+Tab ${i + 1} left the banner: ${JSON.stringify(f)}`);
  }

  // Enter on "Settings" opens the settings layer with focus on the first toggle; Space ticks
  // it; Escape goes back to the first layer, focus on "Accept all".
  async function tabTo(act) {
    for (let i = 0; i < 12; i++) {
      if ((await focused(page)).act === act) return;
      await page.keyboard.press('Tab');
    }
    assert.fail(`Tab never reached ${act}`);
  }
  await tabTo('settings');
  await page.keyboard.press('Enter');
  assert.ok(await page.locator('.ombud-l2').isVisible(), 'Enter on "Settings" did not open the settings');
  f = await focused(page);
  assert.equal(f.id, 'ombud-c-functional', `focus in the settings: ${JSON.stringify(f)}`);
  await page.keyboard.press('Space');
  assert.equal(await page.locator('#ombud-c-functional').isChecked(), true, 'Space does not tick the toggle');
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press('Tab');
    f = await focused(page);
    assert.ok(f.inside, `Tab ${i + 1} in the settings left the banner: ${JSON.stringify(f)}`);
  }
  await page.keyboard.press('Escape');
  assert.ok(await page.locator('.ombud-l1').isVisible(), 'Escape does not go back to the first layer');
  assert.equal((await focused(page)).act, 'accept');

  // Reject all, by keyboard.
  await tabTo('reject');
  const post = await chooseByKey(page, 'Enter');
  assert.deepEqual(post.sent.choices, { functional: false, statistics: false, marketing: false });
  assert.ok(!(await page.locator('#ombud-banner').isVisible()), 'the banner is still shown');
  const cookie = await assertServerCookie(context, post);
  assertChoiceRecorded(await history(cookie.v), { granted: [], version });
});

test('accessibility: axe-core finds no serious or critical violation in either layer', async t => {
  const { page } = await fresh(t);
  await openDemo(page);
  await page.addScriptTag({ content: AXE_SOURCE });

  async function check(label) {
    const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = results.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
    const all = results.violations.map(v => `  [${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map(n => `      ${n.target.join(' ')}: ${n.failureSummary.replace(/\n/g, ' ')}`).join('\n')}`);
    if (all.length) t.diagnostic(`${label}: axe violations\n${all.join('\n')}`);
    assert.equal(bad.length, 0, `${label}: serious or critical violations:\n${all.join('\n')}`);
  }

  await check('first layer');
  // Accessible names are the visible labels (WCAG 2.5.3), so role queries find them.
  assert.ok(await page.getByRole('dialog', { name: 'Cookies', exact: true }).isVisible());
  for (const name of ['Accept all', 'Reject all', 'Settings']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, `button "${name}"`);
  }
  await page.locator('.ombud-l1 button[data-act=settings]').click();
  // Open every cookie table, so axe checks them too.
  await page.evaluate(() => document.querySelectorAll('#ombud-banner details').forEach(d => { d.open = true; }));
  await check('settings layer');
  assert.ok(await page.getByRole('dialog', { name: 'Cookie settings', exact: true }).isVisible());
  for (const name of ['Strictly necessary', 'Functional', 'Statistics', 'Marketing']) {
    assert.equal(await page.getByRole('checkbox', { name, exact: true }).count(), 1, `checkbox "${name}"`);
  }
  for (const name of ['Save choices', 'Accept all', 'Reject all']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, `button "${name}"`);
  }
});

test('reduced motion: the banner appears without animation when the user asks for less motion', async t => {
  const motion = async options => {
    const { page } = await fresh(t, options);
    await openDemo(page);
    return page.evaluate(() => {
      const root = document.getElementById('ombud-banner');
      const toggle = document.getElementById('ombud-c-statistics');
      return { animation: getComputedStyle(root).animationName, transition: getComputedStyle(toggle).transitionDuration };
    });
  };
  const normal = await motion({});
  assert.notEqual(normal.animation, 'none', 'control: the banner does not animate at all');
  assert.deepEqual(await motion({ reducedMotion: 'reduce' }), { animation: 'none', transition: '0s' },
    'the banner animates although the user prefers reduced motion');
});

test('Danish: a page in Danish gets the banner in Danish', async t => {
  const { context, page } = await fresh(t);
  // The demo page takes the policy's language (English here); serve the real page with
  // <html lang="da"> instead, as a Danish site would be.
  await page.route(DEMO, async route => {
    const response = await route.fetch();
    const body = (await response.text()).replace(/<html lang="[^"]*">/, '<html lang="da">');
    assert.match(body, /<html lang="da">/);
    await route.fulfill({ response, body });
  });
  await openDemo(page);
  assert.equal(await page.locator('#ombud-banner').getAttribute('lang'), 'da');
  const texts = await page.locator('.ombud-l1 button').allTextContents();
  assert.deepEqual(texts, ['Accepter alle', 'Afvis alle', 'Indstillinger']);
  await page.locator('.ombud-l1 button[data-act=settings]').click();
  assert.equal(await page.locator('#ombud-h').textContent(), 'Cookieindstillinger');
  assert.deepEqual(await page.locator('.ombud-l2 .ombud-btns button').allTextContents(), ['Gem valg', 'Accepter alle', 'Afvis alle']);
  const labels = await page.locator('.ombud-l2 label').allTextContents();
  assert.deepEqual(labels, ['Nødvendige', 'Funktionelle', 'Statistik', 'Markedsføring']);
  await screenshot(page, 'banner-settings-layer-da.png');

  const post = await choose(page, '.ombud-l2 button[data-act=reject]');
  assert.equal(post.sent.lang, 'da');
  const cookie = await assertServerCookie(context, post);
  const events = await history(cookie.v);
  assertChoiceRecorded(events, { granted: [], version });
  // The Danish wording has its own hash in the proof.
  const english = await englishWordingHashes(t);
  for (const e of events) {
    const id = e.target.slice('cookies:'.length);
    assert.notEqual(e.wording_hash, english[id], `${id}: the Danish choice carries the English wording hash`);
  }
});

/// The wording hashes a choice in English records, per category.
async function englishWordingHashes(t) {
  const { context, page } = await fresh(t);
  await openDemo(page);
  const post = await choose(page, '.ombud-l1 button[data-act=reject]');
  assert.equal(post.sent.lang, 'en');
  const cookie = await consentCookie(context);
  const out = {};
  for (const e of await history(cookie.value.v)) out[e.target.slice('cookies:'.length)] = e.wording_hash;
  return out;
}
