//! Escaping user and model text for the Markdown export, so it renders as the text it is:
//! no raw HTML, no headings, lists, quotes or tables of its own, no links or images.
//!
//! Line breaks become spaces (every piece of text sits on one line after the export's own
//! prefix), the inline punctuation CommonMark and GitHub Flavored Markdown give meaning to
//! is backslash-escaped (CommonMark 0.31 §2.4: any ASCII punctuation may be), and a line
//! start that could open a block (`#`, `>`, `-`, `+`, `=`, `1.`, `1)`) is escaped too, as
//! a list item may hold a heading.

/// Characters escaped wherever they appear: emphasis, code, links and images, raw HTML
/// and autolinks, entities, tables, strikethrough, and the escape character itself.
const INLINE: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '(', ')', '<', '>', '!', '&', '|', '~',
];

/// `text` as Markdown that renders as exactly that text (its line breaks as spaces).
pub fn escape(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len() + 8);
    // A block marker at the start: `#`, `>`, `-`, `+`, `=` or digits then `.` / `)`.
    let digits = one_line.chars().take_while(char::is_ascii_digit).count();
    let first = one_line.chars().next();
    let ordered = digits > 0 && matches!(one_line[digits..].chars().next(), Some('.') | Some(')'));
    if matches!(first, Some('#' | '-' | '+' | '=')) {
        out.push('\\');
    }
    for (i, c) in one_line.char_indices() {
        if ordered && i == digits {
            out.push('\\');
        }
        if INLINE.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn html_headings_links_and_tables_are_text() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "\\<script\\>alert\\(1\\)\\</script\\>"
        );
        assert_eq!(
            escape("# Hired!\n## Score: 5/5"),
            "\\# Hired\\! ## Score: 5/5"
        );
        assert_eq!(
            escape("[click](javascript:alert(1))"),
            "\\[click\\]\\(javascript:alert\\(1\\)\\)"
        );
        assert_eq!(
            escape("![x](http://t/p.png)"),
            "\\!\\[x\\]\\(http://t/p.png\\)"
        );
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("1. first"), "1\\. first");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("> quote"), "\\> quote");
        assert_eq!(escape("&lt;b&gt;"), "\\&lt;b\\&gt;");
        // Ordinary prose keeps its look.
        assert_eq!(
            escape("I led the fan-out rewrite, cutting p99 by 80%."),
            "I led the fan-out rewrite, cutting p99 by 80%."
        );
    }
}
