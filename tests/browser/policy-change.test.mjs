// A new version of the policy's cookie section makes the banner ask again. This takes two
// servers on the same database, so it runs in two phases (crates/ombud/tests/browser.rs drives
// them; README.md says how to do it by hand):
//   OMBUD_PHASE=1 (with the rest of the suite): a visitor accepts all under the first policy;
//     the browser state (its cookies) is saved to $OMBUD_STATE_DIR.
//   OMBUD_PHASE=2 (only this file, after a restart with a changed cookie section): the same
//     browser state opens the page again, and the banner must show.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  OPTIONAL, PHASE, STATE_DIR, assertChoiceRecorded, assertServerCookie, blockedState, choose,
  consentCookie, history, launch, openDemo, policyVersion,
} from './lib.mjs';

const STATE = join(STATE_DIR, 'policy-change.json');

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

if (PHASE === '1') {
  test('policy change, phase 1: a choice under the first policy keeps the banner closed', async t => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await openDemo(page);
    const post = await choose(page, '.ombud-l1 button[data-act=accept]');
    const cookie = await assertServerCookie(context, post);
    assert.deepEqual([...cookie.g].sort(), [...OPTIONAL].sort());
    const version = await policyVersion();
    assertChoiceRecorded(await history(cookie.v), { granted: OPTIONAL, version });

    await page.reload();
    await page.waitForFunction(() => window.__analyticsRan === true, null, { timeout: 5_000 });
    assert.ok(!(await page.locator('#ombud-banner').isVisible()), 'the banner shows again under the same policy');

    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(STATE, JSON.stringify({ version, rev: cookie.r, visitor: cookie.v, storage: await context.storageState() }));
  });
} else if (PHASE === '2') {
  test('policy change, phase 2: a new cookie section makes the banner show again', async t => {
    const before = JSON.parse(readFileSync(STATE, 'utf8'));
    const context = await browser.newContext({ storageState: before.storage });
    t.after(() => context.close());
    const page = await context.newPage();

    const version = await policyVersion();
    assert.ok(version > before.version, `the policy version did not change: ${before.version} -> ${version}`);
    const old = await consentCookie(context);
    assert.ok(old, 'the saved consent cookie is not in the browser');
    assert.equal(old.value.r, before.rev);

    await openDemo(page);
    assert.ok(await page.locator('.ombud-l1').isVisible(), 'the first layer is not shown');
    // The old grants no longer count: nothing blocked ran before the new choice.
    const state = await blockedState(page);
    assert.equal(state.analyticsRan, undefined, 'the old consent ran the analytics script under the new policy');
    assert.equal(state.pixelSrc, null);
    assert.equal(await page.evaluate(() => window.ombud.consent('statistics')), false);

    const post = await choose(page, '.ombud-l1 button[data-act=reject]');
    assert.equal(post.sent.version, version);
    assert.notEqual(post.sent.rev, before.rev, 'the banner revision did not change with the cookie section');
    const cookie = await assertServerCookie(context, post);
    assert.equal(cookie.v, before.visitor, 'the visitor id changed');
    assert.equal(cookie.p, version);

    // The ledger keeps both choices, each with its own policy version.
    const events = await history(before.visitor);
    assert.deepEqual([...new Set(events.map(e => e.policy_version))], [before.version, version]);
    assertChoiceRecorded(events, { granted: [], version });
  });
} else {
  throw new Error(`OMBUD_PHASE must be 1 or 2, not ${PHASE}`);
}
