// ombud cookie banner. ombud serves this file with the policy's configuration and the
// stylesheet filled in at the last line (crates/server/src/banner.rs), and strips the
// comment lines and indentation. Plain ES2017, no dependencies, no build step.
//
// Rules this file keeps (tests check some of them):
// - policy text reaches the page only through textContent, never as HTML;
// - comments only on lines of their own, starting with `//` (the server drops those lines);
// - no string literal spans lines.
//
// Config C (compact keys): v policy version, r revision of the cookie section, e endpoint,
// u notice URL, k consent cookie name, o controller name, l policy language,
// c categories: [{i id, n [name en, da], d [description en, da], q necessary, g GPC opt-out,
// m consent-mode signals, k cookies: [[name, provider, third party 0/1, domain, [duration en, da], purpose]]}].
(function (w, d, C, css) {
  'use strict';
  // A second copy on the same page does nothing.
  if (w.ombud) return;

  const T = {
    en: {
      h: 'Cookies',
      s: 'Cookie settings',
      x: '{0} uses cookies that the website needs to work. With your consent, we and third parties also use cookies in these categories: {1}. You can change your choice or withdraw your consent at any time.',
      more: 'Read more',
      accept: 'Accept all',
      reject: 'Reject all',
      settings: 'Settings',
      save: 'Save choices',
      on: 'Always on',
      list: 'Cookies used ({0})',
      th: ['Name', 'Provider', 'Set by', 'Duration', 'Purpose'],
      p: ['First party', 'Third party'],
      gpc: 'Your browser sent a Global Privacy Control signal, and we honour it: {0} stay off unless you switch them on in the settings.'
    },
    da: {
      h: 'Cookies',
      s: 'Cookieindstillinger',
      x: '{0} bruger cookies, som er nødvendige for, at websitet fungerer. Med dit samtykke bruger vi og tredjeparter også cookies i disse kategorier: {1}. Du kan til enhver tid ændre dit valg eller trække dit samtykke tilbage.',
      more: 'Læs mere',
      accept: 'Accepter alle',
      reject: 'Afvis alle',
      settings: 'Indstillinger',
      save: 'Gem valg',
      on: 'Altid aktiv',
      list: 'Anvendte cookies ({0})',
      th: ['Navn', 'Udbyder', 'Sættes af', 'Varighed', 'Formål'],
      p: ['Førstepart', 'Tredjepart'],
      gpc: 'Din browser sendte et Global Privacy Control-signal, og det respekterer vi: {0} forbliver slået fra, medmindre du selv slår dem til i indstillingerne.'
    }
  };
  const SIGNALS = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage', 'personalization_storage'];

  // Language: the page's <html lang> if it is Danish or English, else the policy's.
  const pl = (d.documentElement.getAttribute('lang') || '').slice(0, 2).toLowerCase();
  const L = T[pl] ? pl : (C.l || '').slice(0, 2) == 'da' ? 'da' : 'en';
  const t = T[L];
  const li = L == 'da' ? 1 : 0;
  const cats = C.c || [];
  const opt = cats.filter(c => !c.q);
  const gpc = navigator.globalPrivacyControl === true;
  // cur: the choice in force on this page view ({id: bool}), or null before one is made.
  let cur = null;
  // Blocked elements already switched on (each only once).
  const done = new WeakSet();
  let root, l1, l2, head, back;

  // Google Consent Mode v2: the standard gtag queue, everything denied until a choice.
  function gtag() {
    (w.dataLayer = w.dataLayer || []).push(arguments);
  }
  if (typeof w.gtag != 'function') w.gtag = gtag;
  const deny = { wait_for_update: 500 };
  SIGNALS.forEach(s => { deny[s] = 'denied'; });
  gtag('consent', 'default', deny);

  const ready = f => { d.readyState == 'loading' ? d.addEventListener('DOMContentLoaded', f) : f(); };
  // (Replacer functions, so a `$` in policy text is taken literally.)
  const fmt = (s, a, b) => s.replace('{0}', () => a).replace('{1}', () => b);
  const cookies = () => d.cookie.split(';').map(p => p.trim());

  // The valid consent cookie's content, or null (none, malformed, another revision of the
  // cookie section, or expired).
  function read() {
    try {
      for (const p of cookies()) {
        const i = p.indexOf('=');
        if (i > 0 && p.slice(0, i) == C.k) {
          const s = JSON.parse(decodeURIComponent(p.slice(i + 1)));
          if (s && s.r === C.r && s.x * 1000 > Date.now() && Array.isArray(s.g)) return s;
        }
      }
    } catch (e) {
      // A malformed cookie counts as no choice.
    }
    return null;
  }

  // A choice for every category from a list of granted ids; necessary ones are always on.
  function list(names) {
    try {
      return new Intl.ListFormat(L).format(names);
    } catch (e) {
      return names.join(', ');
    }
  }

  function choice(granted) {
    const o = {};
    cats.forEach(c => { o[c.i] = !!c.q || granted.indexOf(c.i) >= 0; });
    return o;
  }

  // Puts a choice into force: consent mode, cookie deletion, blocked elements, event.
  function apply(ch) {
    cur = ch;
    const u = {};
    // A signal is granted only when every category that carries it is.
    SIGNALS.forEach(s => {
      const cs = cats.filter(c => (c.m || []).indexOf(s) >= 0);
      u[s] = cs.length && cs.every(c => ch[c.i]) ? 'granted' : 'denied';
    });
    gtag('consent', 'update', u);
    cats.forEach(c => { if (!ch[c.i]) wipe(c); });
    ready(() => {
      unblock();
      const g = [], r = [];
      cats.forEach(c => (cur[c.i] ? g : r).push(c.i));
      d.dispatchEvent(new CustomEvent('ombud:consent', { detail: { granted: g, refused: r } }));
    });
  }

  // Deletes the refused category's first-party cookies whose names the policy knows
  // (`<id>` in a name matches any ending), on this host and each parent domain.
  function wipe(c) {
    const present = cookies().map(p => p.split('=')[0]);
    (c.k || []).forEach(k => {
      if (k[2]) return;
      const star = k[0].indexOf('<');
      const pre = k[0].slice(0, star);
      if (!star) return;
      present.forEach(n => {
        if (n != C.k && (star < 0 ? n == k[0] : n.startsWith(pre))) {
          const parts = location.hostname.split('.');
          d.cookie = n + '=; Max-Age=0; Path=/';
          for (; parts.length > 1; parts.shift()) d.cookie = n + '=; Max-Age=0; Path=/; Domain=' + parts.join('.');
        }
      });
    });
  }

  // Switches on the blocked elements of granted categories: a `type="text/plain"` script
  // becomes a real one, and iframes, images and videos get their `data-src`.
  function unblock() {
    opt.forEach(c => {
      if (!cur[c.i]) return;
      d.querySelectorAll('[data-category="' + c.i + '"]').forEach(el => {
        if (done.has(el)) return;
        if (el.tagName == 'SCRIPT' && el.type == 'text/plain') {
          const s = d.createElement('script');
          for (const a of el.attributes) if (a.name != 'type' && a.name != 'data-type') s.setAttribute(a.name, a.value);
          if (el.dataset.type) s.type = el.dataset.type;
          if (el.nonce) s.nonce = el.nonce;
          // Keep the page's order for external scripts, unless they asked for async.
          if (!el.hasAttribute('async')) s.async = false;
          s.text = el.text;
          done.add(el);
          done.add(s);
          el.replaceWith(s);
        } else if (/^(IFRAME|IMG|VIDEO)$/.test(el.tagName) && el.dataset.src) {
          done.add(el);
          el.src = el.dataset.src;
        }
      });
    });
  }

  // Records the choice with ombud, which sets the consent cookie. If that fails the choice
  // still holds for this page view, and the banner asks again on the next one.
  function choose(ch) {
    apply(ch);
    close();
    const choices = {};
    opt.forEach(c => { choices[c.i] = ch[c.i]; });
    const body = JSON.stringify({ version: C.v, rev: C.r, lang: L, choices: choices, gpc: gpc, url: location.href });
    try {
      fetch(C.e, { method: 'POST', credentials: 'include', keepalive: true, headers: { 'Content-Type': 'application/json' }, body: body })
        .then(r => r.ok && r.json())
        .then(j => {
          // The server's cookie isn't visible here (ombud on another site): keep it ourselves.
          const s = read();
          if (j && j.rev === C.r && (!s || s.t !== j.at || String(s.g) != String(j.granted))) {
            const v = { v: j.visitor, p: j.version, r: j.rev, g: j.granted, t: j.at, x: j.expires };
            d.cookie = C.k + '=' + encodeURIComponent(JSON.stringify(v)) + '; Max-Age=' + Math.max(0, j.expires - Math.floor(Date.now() / 1000)) + '; Path=/; SameSite=Lax' + (location.protocol == 'https:' ? '; Secure' : '');
          }
        })
        .catch(() => {});
    } catch (e) {
      // No fetch: the choice holds for this page view only.
    }
  }

  function el(tag, cls, text) {
    const e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // A row of equal buttons; data-act says what each does.
  function buttons(acts) {
    const g = el('div', 'ombud-btns');
    acts.forEach(a => {
      const b = el('button', 0, t[a]);
      b.type = 'button';
      b.dataset.act = a;
      g.append(b);
    });
    return g;
  }

  function style() {
    try {
      const s = new CSSStyleSheet();
      s.replaceSync(css);
      d.adoptedStyleSheets = [...d.adoptedStyleSheets, s];
    } catch (e) {
      // No constructable stylesheets: a <style> element.
      (d.head || d.documentElement).append(el('style', 0, css));
    }
  }

  function build() {
    style();
    root = el('div', 'ombud');
    root.id = 'ombud-banner';
    root.lang = L;
    root.setAttribute('role', 'dialog');
    root.setAttribute('aria-modal', 'true');
    root.setAttribute('aria-labelledby', 'ombud-h');
    head = el('h2', 0, t.h);
    head.id = 'ombud-h';
    root.append(head);
    if (gpc) root.append(el('p', 'ombud-gpc', fmt(t.gpc, list(opt.filter(c => c.g).map(c => c.n[li])))));

    // First layer: the short text and three equal buttons.
    l1 = el('div', 'ombud-l1');
    const p = el('p', 0, fmt(t.x, C.o, list(opt.map(c => c.n[li]))));
    const a = el('a', 0, t.more);
    a.href = C.u;
    p.append(' ', a);
    l1.append(p, buttons(['accept', 'reject', 'settings']));

    // Settings layer: a toggle, the description and the cookie table per category.
    l2 = el('div', 'ombud-l2');
    cats.forEach(c => {
      const s = el('div', 'ombud-cat');
      const row = el('div', 'ombud-row');
      const lab = el('label');
      const cb = el('input');
      cb.type = 'checkbox';
      cb.id = 'ombud-c-' + c.i;
      cb.dataset.c = c.i;
      cb.setAttribute('aria-describedby', 'ombud-d-' + c.i);
      cb.checked = cb.disabled = !!c.q;
      lab.append(cb, el('span', 0, c.n[li]));
      row.append(lab);
      if (c.q) row.append(el('span', 'ombud-on', t.on));
      const desc = el('p', 0, c.d[li]);
      desc.id = 'ombud-d-' + c.i;
      s.append(row, desc);
      if (c.k && c.k.length) {
        const det = el('details');
        const tab = el('table');
        const hr = tab.createTHead().insertRow();
        t.th.forEach(h => {
          const th = el('th', 0, h);
          th.scope = 'col';
          hr.append(th);
        });
        const tb = tab.createTBody();
        c.k.forEach(k => {
          const r = tb.insertRow();
          [k[0], k[1], t.p[k[2] ? 1 : 0] + (k[3] ? ' (' + k[3] + ')' : ''), k[4][li], k[5]].forEach(v => { r.insertCell().textContent = v; });
        });
        det.append(el('summary', 0, fmt(t.list, c.k.length)), tab);
        s.append(det);
      }
      l2.append(s);
    });
    l2.append(buttons(['save', 'accept', 'reject']));
    root.append(l1, l2);

    root.addEventListener('click', e => {
      const b = e.target.closest('button');
      const a = b && b.dataset.act;
      if (a == 'settings') layer(2);
      // Under GPC, accept all leaves the opted-out categories off; they can still be ticked.
      else if (a == 'accept') choose(choice(cats.filter(c => !(gpc && c.g)).map(c => c.i)));
      else if (a == 'reject') choose(choice([]));
      else if (a == 'save') choose(choice(opt.filter(c => d.getElementById('ombud-c-' + c.i).checked).map(c => c.i)));
    });
    d.addEventListener('keydown', key);
    root.hidden = true;
    d.body.append(root);
  }

  // What Tab can reach in the visible layer.
  const focusables = () => Array.from(root.querySelectorAll('a[href],button,input:not(:disabled),summary')).filter(e => e.getClientRects().length);

  function layer(n) {
    l1.hidden = n != 1;
    l2.hidden = n == 1;
    head.textContent = n == 1 ? t.h : t.s;
    // The toggles show the choice in force; before one, all are off (GPC or not).
    if (n == 2) opt.forEach(c => { d.getElementById('ombud-c-' + c.i).checked = !!(cur && cur[c.i]); });
    (n == 1 ? l1.querySelector('button') : l2.querySelector('input:not(:disabled)') || l2.querySelector('button')).focus();
  }

  // Tab and Shift-Tab cycle inside the open dialog; Escape leaves the settings layer.
  function key(e) {
    if (!root || root.hidden) return;
    if (e.key == 'Escape') {
      if (!l2.hidden) {
        e.preventDefault();
        layer(1);
      }
    } else if (e.key == 'Tab') {
      const f = focusables();
      const i = f.indexOf(d.activeElement);
      if (f.length && (i < 0 || (e.shiftKey ? i == 0 : i == f.length - 1))) {
        e.preventDefault();
        f[e.shiftKey ? f.length - 1 : 0].focus();
      }
    }
  }

  function open(n) {
    ready(() => {
      if (!root) build();
      // Focus goes back where it was when the dialog closes.
      if (root.hidden) back = d.activeElement;
      root.hidden = false;
      layer(n);
    });
  }

  function close() {
    if (!root) return;
    root.hidden = true;
    if (back && back != d.body && back.focus) back.focus();
    back = null;
  }

  w.ombud = {
    open: () => open(2),
    consent: id => !!(cur || choice([]))[id],
    choices: () => Object.assign({}, cur || choice([]))
  };

  // Any element with data-ombud-open opens the settings.
  d.addEventListener('click', e => {
    const o = e.target.closest && e.target.closest('[data-ombud-open]');
    if (o) {
      e.preventDefault();
      open(2);
    }
  });

  const stored = read();
  if (stored) apply(choice(stored.g));
  else open(1);
})(window, document, /*OMBUD_CONFIG*/{}, /*OMBUD_CSS*/'');
