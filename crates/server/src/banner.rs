//! The cookie banner: the script ombud serves to the organisation's website, built from the
//! policy, and the demo page that shows it.
//!
//! The hand-written sources are `assets/banner/banner.js` and `banner.css`. [`script`] fills
//! in the policy's configuration (categories, cookies, texts, version, cookie revision) and
//! the stylesheet, and strips comments and indentation with a minifier that only ever drops
//! whole comment lines and the whitespace around lines (the sources keep to rules that make
//! this safe, and the tests check them). The result must stay within 8 KB gzip for the example
//! policy; a test measures it.
//!
//! The banner posts the visitor's choice to [`BannerOptions::endpoint`]; the server records it
//! and sets the consent cookie, `<cookie_name>=<percent-encoded JSON {"v": visitor, "p":
//! version, "r": rev, "g": [granted ids], "t": at, "x": expires}>`. The banner asks again when
//! that cookie is missing or malformed, when its `r` isn't [`cookie_revision`] of the policy in
//! force, or when `x` has passed.

use ombud_domain::policy::{CookieCategory, CookieLifetime, Party, PeriodUnit, Policy};
use ombud_policy::render::doc::html_escape;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const JS: &str = include_str!("../assets/banner/banner.js");
const CSS: &str = include_str!("../assets/banner/banner.css");

/// Where the configuration and the stylesheet go in `banner.js` (its last line).
const CONFIG_MARK: &str = "/*OMBUD_CONFIG*/{}";
const CSS_MARK: &str = "/*OMBUD_CSS*/''";

/// What the banner needs to know besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct BannerOptions<'a> {
    /// Absolute URL the choice is POSTed to, e.g. `http://127.0.0.1:8080/c/consent`.
    pub endpoint: &'a str,
    /// Absolute URL of the privacy notice (the "read more" link).
    pub notice_url: &'a str,
    /// Id of the policy version in force.
    pub version: i64,
    /// Name of the consent cookie the server sets, e.g. `ombud_consent`.
    pub cookie_name: &'a str,
}

/// A short hash (12 hex digits of SHA-256) of everything in the policy that the banner shows:
/// the cookie categories (ids, names, descriptions, translations, flags, consent-mode signals)
/// and every field of every cookie. The banner asks again when it changes; other parts of the
/// policy (purposes, recipients, the notice) don't affect it.
pub fn cookie_revision(policy: &Policy) -> String {
    let categories: Vec<Value> = policy
        .cookie_categories
        .iter()
        .map(|c| {
            json!([
                c.id.as_str(),
                c.name,
                c.description,
                c.necessary,
                c.gpc_opt_out,
                c.consent_mode
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                c.translations
                    .iter()
                    .map(|(lang, t)| json!([lang, t.name, t.description]))
                    .collect::<Vec<_>>(),
            ])
        })
        .collect();
    let cookies: Vec<Value> = policy
        .cookies
        .iter()
        .map(|k| {
            json!([
                k.name,
                k.provider,
                k.recipient.as_ref().map(|r| r.as_str()),
                k.kind.to_string(),
                k.party.to_string(),
                k.domain,
                k.category.as_str(),
                k.lifetime.to_string(),
                k.purpose,
            ])
        })
        .collect();
    let canonical = json!(["ombud-banner-1", categories, cookies]).to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    hex::encode(digest)[..12].to_owned()
}

/// The complete banner script for `policy`: the JS with the CSS embedded and the
/// configuration inlined, ready to serve as `application/javascript`.
pub fn script(policy: &Policy, opts: &BannerOptions) -> String {
    let js = minify_js(JS);
    let (head, rest) = js
        .split_once(CONFIG_MARK)
        .expect("banner.js has the config mark");
    let (middle, tail) = rest
        .split_once(CSS_MARK)
        .expect("banner.js has the CSS mark after the config mark");
    let config = js_value(&config(policy, opts).to_string());
    let css = js_value(&Value::from(minify_css(CSS)).to_string());
    let mut out = String::with_capacity(js.len() + config.len() + css.len());
    for part in [head, &config, middle, &css, tail] {
        out.push_str(part);
    }
    out
}

/// The configuration the script reads, with compact keys (documented in `banner.js`).
fn config(policy: &Policy, opts: &BannerOptions) -> Value {
    let categories: Vec<Value> = policy
        .cookie_categories
        .iter()
        .map(|c| category(policy, c))
        .collect();
    json!({
        "v": opts.version,
        "r": cookie_revision(policy),
        "e": opts.endpoint,
        "u": opts.notice_url,
        "k": opts.cookie_name,
        "o": policy.controller_short_name(),
        "l": policy.notice.language,
        "c": categories,
    })
}

/// The languages the banner speaks, in the order of the text arrays of the configuration.
const LANGS: [&str; 2] = ["en", "da"];

fn category(policy: &Policy, c: &CookieCategory) -> Value {
    let texts = LANGS.map(|lang| c.text(lang));
    let cookies: Vec<Value> = policy
        .cookies
        .iter()
        .filter(|k| k.category == c.id)
        .map(|k| {
            json!([
                k.name,
                k.provider,
                u8::from(k.party == Party::Third),
                k.domain.as_deref().unwrap_or(""),
                LANGS.map(|lang| duration(k.lifetime, lang)),
                k.purpose,
            ])
        })
        .collect();
    let mut v = json!({
        "i": c.id.as_str(),
        "n": texts.map(|(name, _)| name),
        "d": texts.map(|(_, description)| description),
        "k": cookies,
    });
    // Flags and signals only when set, to keep the script small.
    if c.necessary {
        v["q"] = json!(1);
    }
    if c.gpc_opt_out {
        v["g"] = json!(1);
    }
    if !c.consent_mode.is_empty() {
        v["m"] = c
            .consent_mode
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .into();
    }
    v
}

/// A cookie's lifetime in `lang` ("2 years", "2 år").
fn duration(lifetime: CookieLifetime, lang: &str) -> String {
    match (lifetime, lang) {
        (CookieLifetime::For(p), "da") => {
            let (one, many) = match p.unit {
                PeriodUnit::Minutes => ("minut", "minutter"),
                PeriodUnit::Hours => ("time", "timer"),
                PeriodUnit::Days => ("dag", "dage"),
                PeriodUnit::Weeks => ("uge", "uger"),
                PeriodUnit::Months => ("måned", "måneder"),
                PeriodUnit::Years => ("år", "år"),
            };
            format!("{} {}", p.amount, if p.amount == 1 { one } else { many })
        }
        (CookieLifetime::Session, "da") => "sessionen".to_owned(),
        (lifetime, _) => lifetime.to_string(),
    }
}

/// JSON made safe to inline in a script: `<` (so `</script>` can't appear even if the script
/// is ever inlined in HTML) and the line separators old engines reject in string literals.
/// These characters only occur inside JSON strings, where `\uXXXX` means the same.
fn js_value(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Drops blank lines, lines that are `//` comments, and the whitespace around lines. Safe
/// because `banner.js` has no string literal spanning lines and no comment after code that
/// would need to go (the tests check it); line breaks are kept, so automatic semicolon
/// insertion sees the same code.
fn minify_js(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Drops `/* */` comments, collapses whitespace and removes it where CSS never needs it
/// (around braces, after `;`, `,` and `:`). Never before a `:`, where a space is a descendant
/// combinator (`#a :focus`). `banner.css` has no strings in which this would matter.
fn minify_css(src: &str) -> String {
    let mut text = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    text.push_str(rest);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let mut chars = collapsed.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.peek().copied();
            if matches!(prev, Some('{' | '}' | ';' | ',' | ':'))
                || matches!(next, Some('{' | '}' | ',' | ';'))
            {
                continue;
            }
        }
        if c == '}' && out.ends_with(';') {
            out.pop();
        }
        out.push(c);
    }
    out
}

/// A demo page for `ombud demo`: a small fake site that loads the banner from `script_url`,
/// with a Google-tag stub that records consent-mode commands in `window.__consentMode`, a
/// blocked analytics script (sets `window.__analyticsRan` and a `_ga` cookie), a blocked
/// advertising pixel from `pixel_url`, and a "Cookie settings" link. Its inline scripts and
/// style need a CSP that allows `'unsafe-inline'` for this page.
pub fn demo_page(script_url: &str, pixel_url: &str, lang: &str) -> String {
    let da = lang.starts_with("da");
    let t = |en: &'static str, dk: &'static str| if da { dk } else { en };
    let title = t("Demo site", "Demo-site");
    let intro = t(
        "This page stands in for the organisation's website. It carries a blocked analytics \
         script (category statistics) and a blocked advertising pixel (category marketing); \
         neither runs before you consent.",
        "Denne side står i stedet for organisationens website. Den har et blokeret \
         statistikscript (kategorien statistics) og en blokeret annoncepixel (kategorien \
         marketing); ingen af dem kører, før du giver samtykke.",
    );
    let state = t("Consent in force:", "Gældende samtykke:");
    let none = t("no choice yet", "intet valg endnu");
    let analytics = t("Analytics script ran:", "Statistikscript kørt:");
    let settings = t("Cookie settings", "Cookieindstillinger");
    let lang = html_escape(lang);
    let script_url = html_escape(script_url);
    let pixel_url = html_escape(pixel_url);
    format!(
        r##"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<script src="{script_url}"></script>
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
// The site's Google tag stub. It records every consent command in window.__consentMode,
// including those the banner queued before this ran.
window.dataLayer = window.dataLayer || [];
window.__consentMode = [];
(function () {{
  var record = function (a) {{
    if (a && a[0] === 'consent') window.__consentMode.push(Array.prototype.slice.call(a));
  }};
  window.dataLayer.forEach(record);
  var push = window.dataLayer.push;
  window.dataLayer.push = function () {{
    for (var i = 0; i < arguments.length; i++) record(arguments[i]);
    return push.apply(window.dataLayer, arguments);
  }};
}})();
function gtag() {{ window.dataLayer.push(arguments); }}
</script>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }}
</style>
</head>
<body>
<header><h1>{title}</h1></header>
<main>
<p>{intro}</p>
<p>{state} <output id="demo-state">{none}</output></p>
<p>{analytics} <output id="demo-analytics">false</output></p>
<img data-src="{pixel_url}" data-category="marketing" alt="" width="1" height="1">
</main>
<footer><p><a href="#" data-ombud-open>{settings}</a></p></footer>
<script type="text/plain" data-category="statistics">
window.__analyticsRan = true;
document.cookie = "_ga=GA1.1.demo; path=/";
document.getElementById("demo-analytics").textContent = "true";
</script>
<script>
document.addEventListener("ombud:consent", function (e) {{
  document.getElementById("demo-state").textContent = JSON.stringify(e.detail);
}});
</script>
</body>
</html>
"##
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::Command;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use jiff::civil::date;
    use ombud_policy::{example, load};

    use super::*;

    const BUDGET: usize = 8192;

    fn example_policy() -> Policy {
        load(example::impero(), date(2026, 1, 15))
            .expect("the example policy loads")
            .policy
    }

    fn opts() -> BannerOptions<'static> {
        BannerOptions {
            endpoint: "http://127.0.0.1:8080/c/consent",
            notice_url: "http://127.0.0.1:8080/notice",
            version: 3,
            cookie_name: "ombud_consent",
        }
    }

    fn gzip(s: &str) -> usize {
        let mut enc = GzEncoder::new(Vec::new(), Compression::new(9));
        enc.write_all(s.as_bytes()).expect("gzip in memory");
        enc.finish().expect("gzip in memory").len()
    }

    #[test]
    fn served_script_fits_the_size_budget() {
        let policy = example_policy();
        let script = script(&policy, &opts());
        let js = minify_js(JS);
        let css = minify_css(CSS);
        let config = config(&policy, &opts()).to_string();
        let total = gzip(&script);
        println!(
            "banner sizes, raw / gzip -9 bytes:\n  js     {:>6} / {:>5}\n  css    {:>6} / {:>5}\n  config {:>6} / {:>5}\n  served {:>6} / {:>5} (budget {BUDGET})",
            js.len(),
            gzip(&js),
            css.len(),
            gzip(&css),
            config.len(),
            gzip(&config),
            script.len(),
            total,
        );
        assert!(
            total <= BUDGET,
            "the served banner is {total} bytes gzipped, over the {BUDGET}-byte budget"
        );
    }

    #[test]
    fn config_holds_every_category_cookie_and_translation() {
        let policy = example_policy();
        let cfg = config(&policy, &opts());
        let cats = cfg["c"].as_array().unwrap();
        assert_eq!(cats.len(), policy.cookie_categories.len());
        for (c, v) in policy.cookie_categories.iter().zip(cats) {
            assert_eq!(v["i"], c.id.as_str());
            assert_eq!(v["q"].as_i64() == Some(1), c.necessary, "{}", c.id);
            assert_eq!(v["g"].as_i64() == Some(1), c.gpc_opt_out, "{}", c.id);
            let (da_name, da_desc) = c.text("da");
            assert_eq!(v["n"][1], da_name);
            assert_eq!(v["d"][1], da_desc);
            assert_eq!(v["n"][0], c.name);
        }
        let listed: usize = cats.iter().map(|c| c["k"].as_array().unwrap().len()).sum();
        assert_eq!(listed, policy.cookies.len());
        let served = script(&policy, &opts());
        for k in &policy.cookies {
            let name = serde_json::to_string(&k.name).unwrap();
            assert!(served.contains(&js_value(&name)), "{} missing", k.name);
        }
        for text in [
            "Markedsføring",
            "Nødvendige",
            "Husker dine samtaler med os i chatten.",
            "2 år",
            "24 timer",
        ] {
            assert!(served.contains(text), "{text} missing");
        }
        assert!(served.contains(&format!("\"r\":\"{}\"", cookie_revision(&policy))));
        assert!(served.contains("\"v\":3"));
        assert!(served.contains("\"e\":\"http://127.0.0.1:8080/c/consent\""));
        // Marks replaced, and `<` never appears raw in the inlined data.
        assert!(!served.contains("OMBUD_CONFIG") && !served.contains("OMBUD_CSS"));
        assert!(served.contains("_ga_\\u003cid>"));
    }

    #[test]
    fn revision_follows_what_the_banner_shows() {
        let policy = example_policy();
        let rev = cookie_revision(&policy);
        assert_eq!(rev.len(), 12);
        assert!(rev.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(rev, cookie_revision(&example_policy()), "stable");

        let mut longer = policy.clone();
        longer.cookies[2].lifetime = CookieLifetime::parse("7 months").unwrap();
        assert_ne!(cookie_revision(&longer), rev, "a cookie's duration changed");

        let mut reworded = policy.clone();
        reworded.purposes[0].description.push_str(" Reworded.");
        assert_eq!(
            cookie_revision(&reworded),
            rev,
            "an unrelated purpose changed"
        );

        let mut translated = policy;
        translated.cookie_categories[1].translations[0].1.name = "Funktion".into();
        assert_ne!(cookie_revision(&translated), rev, "a translation changed");
    }

    #[test]
    fn policy_text_is_never_markup_and_the_script_parses() {
        let mut policy = example_policy();
        let hostile = "</script><img src=x onerror=alert(1)> \u{2028} /*OMBUD_CSS*/'' \\";
        policy.cookie_categories[1].description = hostile.into();
        policy.cookies[0].purpose = hostile.into();
        let served = script(&policy, &opts());
        assert!(!served.contains("</script"));
        node_check(&served);
        // The example policy's script as served, too.
        node_check(&script(&example_policy(), &opts()));
    }

    #[test]
    fn sources_keep_the_rules_the_minifiers_rely_on() {
        for banned in [
            "eval(",
            "new Function",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "setAttribute('style'",
        ] {
            assert!(!JS.contains(banned), "banner.js uses {banned}");
        }
        let code = minify_js(JS);
        assert!(
            !code.contains('`'),
            "no template literals (they may span lines)"
        );
        assert_eq!(
            code.matches("/*").count(),
            2,
            "no block comments besides the two marks"
        );
        for (n, line) in JS.lines().enumerate() {
            assert!(
                !line.trim_end().ends_with('\\'),
                "banner.js:{}: no line continuations",
                n + 1
            );
        }
        assert_eq!(JS.matches(CONFIG_MARK).count(), 1);
        assert_eq!(JS.matches(CSS_MARK).count(), 1);
        assert!(JS.find(CONFIG_MARK) < JS.find(CSS_MARK));
        // The only string in the stylesheet is a font name, which the minifier leaves alone.
        let css = minify_css(CSS);
        assert_eq!(css.matches('"').count(), 2);
        assert!(!css.contains('\''));
    }

    #[test]
    fn css_minifier_keeps_meaning() {
        assert_eq!(
            minify_css("/* c */\n#a :focus-visible {\n  outline: 3px solid #000;\n}\n"),
            "#a :focus-visible{outline:3px solid #000}"
        );
        assert_eq!(
            minify_css("#a { max-height: calc(100vh - 24px); font: 1em \"Segoe UI\", x; }"),
            "#a{max-height:calc(100vh - 24px);font:1em \"Segoe UI\",x}"
        );
        assert_eq!(
            minify_css("@media (prefers-reduced-motion: reduce) {\n  #a, #b * { x: none; }\n}"),
            "@media (prefers-reduced-motion:reduce){#a,#b *{x:none}}"
        );
    }

    #[test]
    fn demo_page_has_the_blocked_elements() {
        let page = demo_page("/c/banner.js?x=1&y=2", "/demo/pixel.gif", "da");
        let head = &page[page.find("<head>").unwrap()..page.find("</head>").unwrap()];
        let first_script = head.find("<script").unwrap();
        assert!(
            head[first_script..].starts_with(r#"<script src="/c/banner.js?x=1&amp;y=2"></script>"#)
        );
        assert!(page.contains(r#"<html lang="da">"#));
        assert!(page.contains(r#"<script type="text/plain" data-category="statistics">"#));
        assert!(page.contains(r#"<img data-src="/demo/pixel.gif" data-category="marketing""#));
        assert!(page.contains("data-ombud-open>Cookieindstillinger</a>"));
        assert!(page.contains("window.__consentMode"));
        assert!(!page.contains(" onclick") && !page.contains(" onload"));
        assert!(demo_page("/b.js", "/p.gif", "en").contains(">Cookie settings</a>"));
        assert!(demo_page("\"><x", "/p.gif", "en").contains("&quot;&gt;&lt;x"));
    }

    /// `node --check` on `source`. Node is part of this machine kind; the test fails clearly
    /// without it rather than passing unchecked.
    fn node_check(source: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("banner.js");
        std::fs::write(&path, source).unwrap();
        let out = Command::new("node")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| {
                panic!("`node` is needed to syntax-check the banner script ({e}); install Node.js")
            });
        assert!(
            out.status.success(),
            "the banner script doesn't parse:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
