//! A small document model with a Markdown and an HTML writer. The notice and the record of
//! processing are built once as a `Doc`, so the two formats always say the same thing, and
//! escaping lives in one place.

use std::fmt::Write as _;

/// A run of text inside a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Link { text: String, href: String },
}

pub fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

pub fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

/// A mailto link for an e-mail address.
pub fn email(address: &str) -> Inline {
    Inline::Link {
        text: address.to_owned(),
        href: format!("mailto:{address}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Level 2 or 3 (level 1 is the document title).
    Heading(u8, String),
    Para(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// A titled document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doc {
    pub title: String,
    pub lang: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    pub fn new(title: impl Into<String>, lang: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            lang: lang.into(),
            blocks: Vec::new(),
        }
    }

    pub fn h2(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(2, s.into()));
    }

    pub fn h3(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(3, s.into()));
    }

    pub fn para(&mut self, inlines: Vec<Inline>) {
        if !inlines.is_empty() {
            self.blocks.push(Block::Para(inlines));
        }
    }

    pub fn text(&mut self, s: impl Into<String>) {
        let s = s.into();
        if !s.trim().is_empty() {
            self.para(vec![text(s)]);
        }
    }

    pub fn paras<'a>(&mut self, paragraphs: impl IntoIterator<Item = &'a String>) {
        for p in paragraphs {
            self.text(p.as_str());
        }
    }

    pub fn list(&mut self, items: Vec<Vec<Inline>>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }

    pub fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if !rows.is_empty() {
            self.blocks.push(Block::Table {
                head: head.iter().map(|s| (*s).to_owned()).collect(),
                rows,
            });
        }
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", md_escape(&self.title));
        for block in &self.blocks {
            out.push('\n');
            match block {
                Block::Heading(level, s) => {
                    let _ = writeln!(out, "{} {}", "#".repeat(usize::from(*level)), md_escape(s));
                }
                Block::Para(inlines) => {
                    let _ = writeln!(out, "{}", md_inlines(inlines));
                }
                Block::List(items) => {
                    for item in items {
                        let _ = writeln!(out, "- {}", md_inlines(item));
                    }
                }
                Block::Table { head, rows } => {
                    let cells = |row: &[String]| {
                        row.iter()
                            .map(|c| md_cell(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    };
                    let _ = writeln!(out, "| {} |", cells(head));
                    let _ = writeln!(out, "|{}|", vec!["---"; head.len()].join("|"));
                    for row in rows {
                        let _ = writeln!(out, "| {} |", cells(row));
                    }
                }
            }
        }
        out
    }

    /// A complete HTML page with a small embedded stylesheet and no scripts.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
            html_escape(&self.lang),
            html_escape(&self.title),
            html_escape(&self.title)
        );
        for block in &self.blocks {
            match block {
                Block::Heading(level, s) => {
                    let id = slug(s);
                    let _ = writeln!(out, "<h{level} id=\"{id}\">{}</h{level}>", html_escape(s));
                }
                Block::Para(inlines) => {
                    let _ = writeln!(out, "<p>{}</p>", html_inlines(inlines));
                }
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for item in items {
                        let _ = writeln!(out, "<li>{}</li>", html_inlines(item));
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { head, rows } => {
                    out.push_str("<div class=\"table\"><table>\n<thead><tr>");
                    for h in head {
                        let _ = write!(out, "<th scope=\"col\">{}</th>", html_escape(h));
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for row in rows {
                        out.push_str("<tr>");
                        for cell in row {
                            let _ = write!(out, "<td>{}</td>", html_escape(cell));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table></div>\n");
                }
            }
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }
}

const STYLE: &str = "body{font:16px/1.55 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 4rem}h1{font-size:1.9rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{margin-top:1.6rem}.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}a{color:#0645ad}";

fn md_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Text(s) => md_escape(s),
            // Emphasis may not end in a space in CommonMark, so a label's trailing space goes
            // after the closing `**`.
            Inline::Strong(s) => {
                let t = s.trim_end();
                format!("**{}**{}", md_escape(t), &s[t.len()..])
            }
            Inline::Link { text, href } => format!(
                "[{}]({})",
                md_escape(text),
                href.replace(' ', "%20").replace(')', "%29")
            ),
        })
        .collect()
}

fn html_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Text(s) => html_escape(s),
            Inline::Strong(s) => format!("<strong>{}</strong>", html_escape(s)),
            Inline::Link { text, href } => format!(
                "<a href=\"{}\">{}</a>",
                html_escape(href),
                html_escape(text)
            ),
        })
        .collect()
}

/// Escapes the characters Markdown would read as markup, and folds line breaks (a paragraph is
/// one line in the output).
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn md_cell(s: &str) -> String {
    md_escape(s).replace('|', "\\|")
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An anchor id for a heading: lowercase ASCII words joined by `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for word in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_in_both_formats() {
        let mut d = Doc::new("T <1>", "en");
        d.h2("A & B");
        d.para(vec![
            text("x <script>alert(1)</script> *y* [z]"),
            email("a@b.dk"),
        ]);
        d.table(&["k|1", "v"], vec![vec!["a|b".into(), "<c>".into()]]);
        let html = d.to_html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && html.contains("<h2 id=\"a-b\">A &amp; B</h2>"));
        assert!(html.contains("<a href=\"mailto:a@b.dk\">a@b.dk</a>"));
        let md = d.to_markdown();
        assert!(md.starts_with("# T \\<1\\>\n"), "{md}");
        assert!(
            md.contains("\\*y\\* \\[z\\][a@b.dk](mailto:a@b.dk)"),
            "{md}"
        );
        assert!(
            md.contains("| k\\|1 | v |\n|---|---|\n| a\\|b | \\<c\\> |"),
            "{md}"
        );
    }
}
