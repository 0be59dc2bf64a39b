//! Exporting a list (issue 19): the rows a view shows, with its filter, as CSV or JSON. Pure:
//! the rows come in as their serde form, the text goes out; writing the file is the api's.
//!
//! CSV follows RFC 4180: a header of every field name (in the order the rows first name them),
//! one line per row, a field quoted when it holds a comma, a quote or a line break (quotes
//! doubled). Nested values (lists, objects) are their JSON text; a missing or null field is
//! empty. The values are the database's as read, not cut to the screen's width: a spreadsheet
//! opening the file sees the text as it is (a cell starting with `=` is not neutralised, so
//! open untrusted exports as text).

use serde_json::Value as Json;

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The format a file name asks for by its extension.
    pub fn of_path(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        Format::parse(ext)
    }
}

/// The header: every field any row names, in first-seen order.
pub fn columns(rows: &[Json]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                if !cols.iter().any(|c| c == k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols
}

fn cell(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(b)) => b.to_string(),
        Some(Json::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV text (CRLF line ends, as RFC 4180 says).
pub fn to_csv(rows: &[Json]) -> String {
    let cols = columns(rows);
    let mut out = cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = cols.iter().map(|c| quote(&cell(r.get(c)))).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The rows as a JSON document: what was exported, with which filter, and the rows.
pub fn to_json(view: &str, filter: &str, exported_at: &str, rows: &[Json]) -> String {
    let doc = serde_json::json!({
        "view": view,
        "filter": filter,
        "exported_at": exported_at,
        "count": rows.len(),
        "rows": rows,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}

/// Parses CSV text as [`to_csv`] writes it (quoted fields, doubled quotes, line breaks inside
/// quotes): the header and the records. For round-trip checks and scripts.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_what_needs_it_and_parses_back() {
        let rows = vec![
            json!({"id": 1, "error": "timeout, retrying \"soon\"\nline 2", "tags": ["a", "b"]}),
            json!({"id": 2, "error": null, "extra": true}),
        ];
        let text = to_csv(&rows);
        assert!(text.starts_with("error,id,tags,extra\r\n"), "{text}");
        let back = parse_csv(&text);
        assert_eq!(back[0], vec!["error", "id", "tags", "extra"]);
        assert_eq!(
            back[1],
            vec![
                "timeout, retrying \"soon\"\nline 2",
                "1",
                "[\"a\",\"b\"]",
                ""
            ]
        );
        assert_eq!(back[2], vec!["", "2", "", "true"]);
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn format_by_extension() {
        assert_eq!(Format::of_path("/tmp/jobs.CSV"), Some(Format::Csv));
        assert_eq!(Format::of_path("out.json"), Some(Format::Json));
        assert_eq!(Format::of_path("out.txt"), None);
        assert_eq!(Format::of_path("out"), None);
    }
}
