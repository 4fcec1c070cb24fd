//! Pictures drawn on the server as SVG, so the console needs no script: the TOTP enrolment QR
//! code, the consent-rate chart and the data map graph. Every text in them is escaped.

use std::collections::HashMap;
use std::fmt::Write as _;

use ombud_domain::datamap::DataMap;
use ombud_domain::policy::{ConnectorKind, Keyword};
// Text in SVG is escaped as in HTML.
use ombud_policy::render::doc::html_escape as esc;

/// The QR code of `data` (an `otpauth://` URI), as an SVG element. Empty if it can't be
/// encoded (the typed secret beside it still works).
pub(crate) fn qr(data: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build()
            .replacen("<svg ", "<svg role=\"img\" aria-label=\"QR code\" ", 1),
        Err(_) => String::new(),
    }
}

/// One bar of the consent chart.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub label: String,
    pub granted: i64,
    pub total: i64,
}

/// Horizontal bars, one per category: the share of choices that granted it.
pub(crate) fn bars(bars: &[Bar], of: &str) -> String {
    const W: i64 = 640;
    const LABEL: i64 = 170;
    const ROW: i64 = 34;
    let height = ROW * i64::try_from(bars.len()).unwrap_or(0) + 10;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" width=\"100%\" \
         role=\"img\" aria-label=\"{}\">",
        esc(of)
    );
    let span = W - LABEL - 130;
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i64::try_from(i).unwrap_or(0) + 6;
        let share = if b.total > 0 {
            b.granted as f64 / b.total as f64
        } else {
            0.0
        };
        let width = (share * span as f64).round() as i64;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{ty}\" font-size=\"14\">{label}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{span}\" height=\"20\" fill=\"#e6e9ef\"/>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{width}\" height=\"20\" fill=\"#0b5cad\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{pct:.0}% · {granted}/{total}</text>",
            ty = y + 15,
            label = esc(&b.label),
            tx = LABEL + span + 8,
            pct = share * 100.0,
            granted = b.granted,
            total = b.total,
        );
    }
    s.push_str("</svg>");
    s
}

/// The data map as a graph: a column per system with its collections as boxes, and an arrow
/// for each reference from the field that holds it to the collection it points at.
pub(crate) fn datamap(map: &DataMap) -> String {
    const COL: i64 = 250;
    const BOX_W: i64 = 210;
    const BOX_H: i64 = 30;
    const GAP: i64 = 14;
    const TOP: i64 = 56;
    let mut at: HashMap<(String, String), (i64, i64)> = HashMap::new();
    let mut body = String::new();
    let mut tallest = 0;
    for (i, system) in map.systems.iter().enumerate() {
        let x = 10 + COL * i64::try_from(i).unwrap_or(0);
        let manual = system.connector == ConnectorKind::Manual;
        let _ = write!(
            body,
            "<text x=\"{x}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\
             <text x=\"{x}\" y=\"38\" font-size=\"12\" fill=\"#555\">{}</text>",
            esc(system.system.as_str()),
            esc(system.connector.key()),
        );
        let mut y = TOP;
        let names: Vec<&str> = if system.collections.is_empty() {
            vec![if manual { "(manual task)" } else { "" }]
        } else {
            system.collections.iter().map(|c| c.name.as_str()).collect()
        };
        for name in names {
            let held = system
                .collections
                .iter()
                .find(|c| c.name == name)
                .is_some_and(|c| !c.legal_holds.is_empty());
            let fill = if manual {
                "#fff7e6"
            } else if held {
                "#f1ecfb"
            } else {
                "#eef4fb"
            };
            let _ = write!(
                body,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\" \
                 fill=\"{fill}\" stroke=\"#0b5cad\"/>\
                 <text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{}</text>",
                esc(name),
                tx = x + 8,
                ty = y + 20,
            );
            at.insert((system.system.as_str().to_owned(), name.to_owned()), (x, y));
            y += BOX_H + GAP;
        }
        tallest = tallest.max(y);
    }
    let mut arrows = String::new();
    for system in &map.systems {
        for c in &system.collections {
            let Some(&(fx, fy)) = at.get(&(system.system.as_str().to_owned(), c.name.clone()))
            else {
                continue;
            };
            for f in &c.fields {
                for r in &f.references {
                    let key = (r.to.system.as_str().to_owned(), r.to.collection.clone());
                    let Some(&(tx, ty)) = at.get(&key) else {
                        continue;
                    };
                    let (x1, y1) = (fx + BOX_W, fy + BOX_H / 2);
                    let (x2, y2) = if tx > fx {
                        (tx, ty + BOX_H / 2)
                    } else {
                        (tx + BOX_W, ty + BOX_H / 2)
                    };
                    let bend = if tx > fx { 40 } else { 60 };
                    let _ = write!(
                        arrows,
                        "<path d=\"M{x1} {y1} C{c1} {y1} {c2} {y2} {x2} {y2}\" fill=\"none\" \
                         stroke=\"#555\" marker-end=\"url(#arrow)\">\
                         <title>{}</title></path>",
                        esc(&format!(
                            "{}.{}.{} → {}.{}.{}",
                            system.system.as_str(),
                            c.name,
                            f.name,
                            r.to.system.as_str(),
                            r.to.collection,
                            r.to.field
                        )),
                        c1 = x1 + bend,
                        c2 = if tx > fx { x2 - bend } else { x2 + bend },
                    );
                }
            }
        }
    }
    let width = 20 + COL * i64::try_from(map.systems.len()).unwrap_or(0);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {tallest}\" \
         width=\"{width}\" role=\"img\" aria-label=\"Data map\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"#555\"/></marker>\
         </defs>{body}{arrows}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let svg = bars(
            &[Bar {
                label: "<script>".into(),
                granted: 1,
                total: 4,
            }],
            "x",
        );
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("25% · 1/4"), "{svg}");
    }

    #[test]
    fn a_qr_code_is_an_svg() {
        let svg = qr("otpauth://totp/ombud:ann%40example.com?secret=ABC");
        assert!(svg.starts_with("<?xml") || svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<svg"));
    }
}
