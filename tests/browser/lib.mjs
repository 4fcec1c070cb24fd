// Shared helpers of the browser tests: the server under test, Debian's Chromium, the consent
// cookie, the ledger API, and screenshots.
//
// The server comes from the environment (crates/ombud/tests/browser.rs sets it, or see
// README.md to run by hand):
//   OMBUD_URL        ombud's address, e.g. http://127.0.0.1:8080 (no trailing slash)
//   OMBUD_API_TOKEN  the server's API token, to read the ledger
//   OMBUD_PHASE      1 (default) or 2: the policy-change test's phase (see policy-change.test.mjs)
//   OMBUD_STATE_DIR  where phase 1 leaves the browser state phase 2 starts from

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/// The flags this machine needs: no sandbox (root), no GPU, and no calls to Google's hosts,
/// which the closed network refuses (without these, Chromium stalls on them).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run these tests through \`cargo test -p ombud --test browser\`, or see tests/browser/README.md`);
  }
  return v;
}

export const BASE = required('OMBUD_URL').replace(/\/+$/, '');
export const TOKEN = required('OMBUD_API_TOKEN');
export const PHASE = process.env.OMBUD_PHASE || '1';
export const STATE_DIR = process.env.OMBUD_STATE_DIR || join(tmpdir(), 'ombud-browser-state');

export const DEMO = `${BASE}/c/demo`;
export const PIXEL_PATH = '/c/demo/pixel.gif';
/// The example policy's categories that need consent, and the one GPC turns off.
export const OPTIONAL = ['functional', 'statistics', 'marketing'];
export const COOKIE = 'ombud_consent';

/// Where screenshots go: target/screenshots/ at the repository root (not committed).
export const SCREENSHOTS = fileURLToPath(new URL('../../target/screenshots/', import.meta.url));

const require = createRequire(import.meta.url);
/// axe-core's browser bundle, injected into pages for the accessibility check.
export const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/// Debian's Chromium, headless, with the flags above. playwright-core gives every launch a
/// fresh, empty user-data dir of its own (a temporary folder it deletes on close); each test
/// then makes its own context, with its own cookie jar.
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    // The flags already say headless; this keeps playwright-core from asking for a window.
    headless: true,
    timeout: 30_000,
  });
}

/// The requests a page makes, as URL paths.
export function watchRequests(page) {
  const paths = [];
  page.on('request', r => paths.push(new URL(r.url()).pathname));
  return paths;
}

/// Opens the demo page and waits until the banner is shown and its fade-in has ended.
export async function openDemo(page, url = DEMO) {
  const response = await page.goto(url);
  assert.equal(response.status(), 200, `GET ${url}`);
  await bannerShown(page);
}

export async function bannerShown(page) {
  await page.locator('#ombud-banner').waitFor({ state: 'visible', timeout: 10_000 });
  await page.evaluate(() => Promise.all(document.getAnimations().map(a => a.finished)));
}

/// Clicks `selector` and returns the POST /c/consent it causes: its response, the JSON body
/// the banner sent, and the receipt.
export async function choose(page, selector) {
  const [response] = await Promise.all([
    page.waitForResponse(r => new URL(r.url()).pathname === '/c/consent' && r.request().method() === 'POST'),
    page.locator(selector).click(),
  ]);
  return postOf(response);
}

/// Presses `key` and returns the POST /c/consent it causes, as `choose` does.
export async function chooseByKey(page, key) {
  const [response] = await Promise.all([
    page.waitForResponse(r => new URL(r.url()).pathname === '/c/consent' && r.request().method() === 'POST'),
    page.keyboard.press(key),
  ]);
  return postOf(response);
}

async function postOf(response) {
  assert.equal(response.status(), 200, `POST /c/consent answered ${response.status()}: ${await response.text()}`);
  return {
    response,
    sent: response.request().postDataJSON(),
    receipt: await response.json(),
    setCookie: await response.headerValue('set-cookie'),
  };
}

/// The consent cookie in the context's jar, decoded, or null.
export async function consentCookie(context) {
  const c = (await context.cookies(BASE)).find(k => k.name === COOKIE);
  return c ? { raw: c, value: JSON.parse(decodeURIComponent(c.value)) } : null;
}

/// Checks that the POST's Set-Cookie set the consent cookie in the jar (the server's cookie,
/// not one the script wrote), and returns the decoded cookie.
export async function assertServerCookie(context, post) {
  assert.ok(post.setCookie, 'POST /c/consent has no Set-Cookie header');
  const m = post.setCookie.match(new RegExp(`^${COOKIE}=([^;]+)`));
  assert.ok(m, `Set-Cookie is not the consent cookie: ${post.setCookie}`);
  assert.match(post.setCookie, /;\s*Path=\//i);
  assert.match(post.setCookie, /;\s*Max-Age=\d+/i);
  const jar = await consentCookie(context);
  assert.ok(jar, 'no consent cookie in the browser after the choice');
  assert.equal(jar.raw.value, m[1], 'the cookie in the jar is not the one the server set');
  const v = jar.value;
  assert.equal(v.v, post.receipt.visitor);
  assert.equal(v.r, post.sent.rev);
  assert.deepEqual(v.g, post.receipt.granted);
  return v;
}

/// GET an API path with the token; the parsed JSON.
export async function api(path) {
  const r = await fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  assert.equal(r.status, 200, `GET ${path} answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

export async function policyVersion() {
  return (await api('/api/v1/policy')).version;
}

/// The visitor's ledger events, oldest first.
export async function history(visitor) {
  return (await api(`/api/v1/consent/history?subject=${encodeURIComponent(`visitor:${visitor}`)}`)).events;
}

/// The newest event per cookie category: {statistics: event, ...}.
export function latestByCategory(events) {
  const out = {};
  for (const e of events) {
    const m = /^cookies:(.+)$/.exec(e.target);
    if (m) out[m[1]] = e;
  }
  return out;
}

/// Checks that the visitor's newest events are exactly one banner event per optional category,
/// granted as `granted` says, under `version`, with `gpc`.
export function assertChoiceRecorded(events, { granted, version, gpc = false }) {
  const latest = latestByCategory(events);
  assert.deepEqual(Object.keys(latest).sort(), [...OPTIONAL].sort(), `ledger targets: ${JSON.stringify(events)}`);
  for (const id of OPTIONAL) {
    const e = latest[id];
    assert.equal(e.granted, granted.includes(id), `${id}: granted in the ledger`);
    assert.equal(e.method, 'banner', `${id}: method`);
    assert.equal(e.policy_version, version, `${id}: policy version`);
    assert.equal(e.gpc, gpc, `${id}: gpc`);
    assert.ok(e.wording_hash, `${id}: no wording hash`);
    assert.ok(e.source && e.source.startsWith(DEMO), `${id}: source ${e.source}`);
  }
}

/// The demo page's record of the blocked elements: did the analytics script run, and is the
/// advertising pixel's src set.
export function blockedState(page) {
  return page.evaluate(() => ({
    analyticsRan: window.__analyticsRan,
    pixelSrc: document.querySelector('img[data-category="marketing"]').getAttribute('src'),
    analyticsOutput: document.getElementById('demo-analytics').textContent,
  }));
}

/// The page's Google Consent Mode commands (index 0 is the default).
export function consentMode(page) {
  return page.evaluate(() => window.__consentMode);
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, name);
  await page.screenshot({ path });
  return path;
}

/// The element focused now, described for messages, and whether it is inside the banner.
export function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    const root = document.getElementById('ombud-banner');
    return {
      inside: !!(root && a && root.contains(a) && a !== root),
      tag: a ? a.tagName.toLowerCase() : null,
      act: a && a.dataset ? a.dataset.act || null : null,
      id: a ? a.id || null : null,
      text: a ? (a.textContent || '').trim().slice(0, 40) : null,
      visible: !!(a && a.matches(':focus-visible')),
    };
  });
}
