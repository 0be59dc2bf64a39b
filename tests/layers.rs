//! The house plan's import rules (README, "How the code is laid out"), checked on the source:
//! every `crate::…` path (in `use` lines and inline) and every `super::…` that climbs to the
//! crate root, in every file under `src/`, is a dependency of the file's top-level module on
//! another. A dependency the plan does not allow fails the test, naming the file, the line and
//! the import; so does any cycle between top-level modules. SQL lives in the store (and in the
//! simulated engine's own writers and the benchmark's fill): a statement in a string anywhere
//! else is named too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which top-level modules each one may import. A module not listed may import nothing.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("config", &["domain"]),
    ("keymap", &["domain", "config"]),
    ("theme", &["domain", "config"]),
    ("api", &["domain", "config"]),
    ("state", &["domain", "keymap", "theme"]),
    ("views", &["domain", "state", "theme"]),
    ("sim", &["domain", "api", "config"]),
    (
        "app",
        &[
            "domain", "api", "state", "views", "config", "keymap", "theme",
        ],
    ),
    // bench may run the console's own loop without a terminal (`app::run_headless`, for `bench
    // consoles`): it measures the real state and refresh path, as cli runs it with one
    (
        "bench",
        &[
            "domain", "api", "app", "state", "views", "sim", "config", "keymap", "theme",
        ],
    ),
    (
        "cli",
        &[
            "domain", "api", "app", "sim", "bench", "config", "keymap", "theme",
        ],
    ),
];

/// One import of another top-level module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    file: String,
    line: usize,
    from: String,
    to: String,
    text: String,
}

/// The file's module path: `src/a/b/c.rs` → [a, b, c], `src/a/b/mod.rs` → [a, b].
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a line without its comment (a `//` outside a string literal).
fn code_of(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    let mut in_str = false;
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The module paths a use tree names (`a::b`, `{a::x, b}`, `self`), each extended from
/// `base`, cut at two segments (the top-level module and its child are all that is checked).
fn tree(s: &str, base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let s = s.trim_start();
    if base.len() >= 2 {
        out.push(base);
        return;
    }
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    tree(&group[start..j], base.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    tree(&group[start..j], base.clone(), out);
                    start = j + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let id = ident_at(s);
    if id.is_empty() {
        return;
    }
    if id == "self" {
        out.push(base);
        return;
    }
    let mut next = base;
    next.push(id.to_string());
    match s[id.len()..].trim_start().strip_prefix("::") {
        Some(rest) => tree(rest, next, out),
        None => out.push(next),
    }
}

/// Every `crate::…` path, and every `super::…` path resolved from `module`, in the code: the
/// byte offset where it starts and its absolute module path (at most two segments).
fn paths(code: &str, module: &[String]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue; // `$crate::`, or another identifier ending in "crate"
        }
        let mut found = Vec::new();
        tree(&code[i + "crate::".len()..], Vec::new(), &mut found);
        out.extend(found.into_iter().map(|p| (i, p)));
    }
    for (i, _) in code.match_indices("super::") {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue; // counted with the chain it belongs to
        }
        let mut after = &code[i..];
        let mut up = 0;
        while let Some(a) = after.strip_prefix("super::") {
            up += 1;
            after = a;
        }
        if up > module.len() {
            continue;
        }
        let base: Vec<String> = module[..module.len() - up]
            .iter()
            .take(2)
            .cloned()
            .collect();
        let mut found = Vec::new();
        tree(after, base, &mut found);
        out.extend(found.into_iter().map(|p| (i, p)));
    }
    out
}

/// The file's code without comments (line breaks kept, so offsets map to lines).
fn code_text(text: &str) -> String {
    text.lines().map(code_of).collect::<Vec<_>>().join("\n")
}

/// Every import of another top-level module, or (`level` 1) of a sibling submodule inside the
/// same top-level module, in these files.
fn imports_at(files: &[(String, String)], level: usize) -> Vec<Import> {
    let known: BTreeSet<Vec<String>> = files
        .iter()
        .map(|(p, _)| module_path(p).into_iter().take(level + 1).collect())
        .collect();
    let mut out = Vec::new();
    for (path, text) in files {
        let module = module_path(path);
        if module.len() <= level || module[0] == "lib" || module[0] == "main" {
            continue;
        }
        let from = &module[..=level];
        let code = code_text(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut seen = BTreeSet::new();
        for (at, p) in paths(&code, &module) {
            if p.len() <= level || p[..level] != from[..level] || p[..=level] == *from {
                continue;
            }
            let to = p[..=level].to_vec();
            if !known.contains(&to) {
                continue;
            }
            let line = code[..at].matches('\n').count() + 1;
            if seen.insert((line, to.clone())) {
                out.push(Import {
                    file: path.clone(),
                    line,
                    from: from.join("::"),
                    to: to.join("::"),
                    text: lines
                        .get(line - 1)
                        .map(|l| l.trim())
                        .unwrap_or("")
                        .to_string(),
                });
            }
        }
    }
    out
}

/// Every import between top-level modules in these files.
fn imports(files: &[(String, String)]) -> Vec<Import> {
    imports_at(files, 0)
}

/// Cycles in a module graph, each named once (from its smallest module).
fn cycles(all: &[Import]) -> Vec<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in all {
        graph
            .entry(i.from.clone())
            .or_default()
            .insert(i.to.clone());
    }
    let mut out = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    if cycle[..cycle.len() - 1].iter().min() == Some(start) {
                        out.push(format!("cycle: {}", cycle.join(" -> ")));
                    }
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    out
}

/// What breaks the plan: forbidden imports (file:line: the import) and cycles.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let all = imports(files);
    let mut out = Vec::new();
    for i in &all {
        let allowed = rules.get(i.from.as_str()).copied().unwrap_or(&[]);
        if !allowed.contains(&i.to.as_str()) {
            out.push(format!(
                "{}:{}: {} must not import {}: `{}`",
                i.file, i.line, i.from, i.to, i.text
            ));
        }
    }
    out.extend(cycles(&all));
    out
}

/// Where SQL may be written: the store, the engine's writers, the benchmark harness.
const SQL_HOMES: &[&str] = &["src/api/store/", "src/sim/", "src/bench/"];

/// Lines outside [`SQL_HOMES`] whose string literals hold a SQL statement.
fn sql_outside_the_store(files: &[(String, String)]) -> Vec<String> {
    const WORDS: &[&str] = &["SELECT ", "INSERT INTO ", "DELETE FROM ", "UPDATE "];
    let mut out = Vec::new();
    for (path, text) in files {
        if SQL_HOMES.iter().any(|h| path.starts_with(h)) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            // the parts between quotes
            let strings: Vec<&str> = code.split('"').skip(1).step_by(2).collect();
            if strings.iter().any(|s| {
                WORDS
                    .iter()
                    .any(|w| s.starts_with(w) || s.contains(&format!(" {w}")))
                    && !s.contains("FOR UPDATE SKIP LOCKED")
            }) {
                out.push(format!(
                    "{path}:{}: SQL outside the store: `{}`",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    out
}

/// The code of a file before its first `#[cfg(test)]` (tests may use a clock).
fn shipped_code(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// Clock and randomness in the pure layers (domain, state, views): their time arrives on
/// messages and their keys from app.rs.
fn impure(files: &[(String, String)]) -> Vec<String> {
    const CALLS: &[&str] = &[
        "Utc::now",
        "Local::now",
        "Instant::now",
        "SystemTime::now",
        "now_v7",
        "new_v4",
        "rand::",
        "thread_rng",
    ];
    let mut out = Vec::new();
    for (path, text) in files {
        let pure = ["src/domain/", "src/state/", "src/views/"]
            .iter()
            .any(|p| path.starts_with(p));
        if !pure || path.ends_with("/tests.rs") {
            continue;
        }
        for (n, line) in shipped_code(text).lines().enumerate() {
            let code = code_of(line);
            if let Some(c) = CALLS.iter().find(|c| code.contains(**c)) {
                out.push(format!(
                    "{path}:{}: {c} in a pure layer: `{}`",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    out
}

/// The crates the domain may use.
const DOMAIN_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "crate",
    "super",
    "self",
    "chrono",
    "uuid",
    "serde",
    "serde_json",
    "unicode_width",
];

/// `use` lines of the domain that name another crate.
fn domain_crates(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        if !path.starts_with("src/domain/") {
            continue;
        }
        // `use child::X` of a module declared here is a path, not a crate
        let children: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                let l = code_of(l).trim_start();
                let l = l.strip_prefix("pub ").unwrap_or(l);
                l.strip_prefix("mod ").map(ident_at)
            })
            .collect();
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line).trim_start();
            let Some(rest) = code
                .strip_prefix("use ")
                .or_else(|| code.strip_prefix("pub use "))
            else {
                continue;
            };
            let krate = ident_at(rest.trim_start_matches("::"));
            if !DOMAIN_CRATES.contains(&krate) && !children.contains(&krate) {
                out.push(format!(
                    "{path}:{}: the domain uses {krate}: `{}`",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    out
}

fn read_src(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            read_src(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(root).expect("under root");
            let text = std::fs::read_to_string(&p).expect("read file");
            out.push((rel.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

fn crate_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_src(&root.join("src"), root, &mut files);
    files.sort();
    files
}

#[test]
fn the_layers_import_only_what_the_house_plan_allows() {
    let files = crate_files();
    assert!(files.len() > 50, "src/ not found");
    let v = violations(&files);
    assert!(v.is_empty(), "the house plan is broken:\n{}", v.join("\n"));
}

#[test]
fn no_cycles_between_the_submodules_of_a_layer() {
    let c = cycles(&imports_at(&crate_files(), 1));
    assert!(c.is_empty(), "submodule cycles:\n{}", c.join("\n"));
}

#[test]
fn a_planted_submodule_cycle_is_named() {
    let files = vec![
        ("src/sim/mod.rs".to_string(), "mod a;\nmod b;\n".to_string()),
        ("src/sim/a.rs".to_string(), "use super::b::X;\n".to_string()),
        (
            "src/sim/b/mod.rs".to_string(),
            "use crate::sim::{\n    a::Y,\n    c,\n};\n".to_string(),
        ),
    ];
    let c = cycles(&imports_at(&files, 1));
    assert_eq!(c, vec!["cycle: sim::a -> sim::b -> sim::a".to_string()]);
}

#[test]
fn the_pure_layers_have_no_clock_and_no_randomness() {
    let v = impure(&crate_files());
    assert!(v.is_empty(), "{}", v.join("\n"));
    let planted = vec![(
        "src/state/planted.rs".to_string(),
        "fn f() {\n    let k = uuid::Uuid::now_v7();\n}\n#[cfg(test)]\nfn t() { Utc::now(); }\n"
            .to_string(),
    )];
    assert_eq!(
        impure(&planted),
        vec!["src/state/planted.rs:2: now_v7 in a pure layer: `let k = uuid::Uuid::now_v7();`"]
    );
}

#[test]
fn the_domain_uses_only_its_few_crates() {
    let v = domain_crates(&crate_files());
    assert!(v.is_empty(), "{}", v.join("\n"));
    let planted = vec![(
        "src/domain/planted.rs".to_string(),
        "use sqlx::Row;\nuse serde::Serialize;\n".to_string(),
    )];
    assert_eq!(
        domain_crates(&planted),
        vec!["src/domain/planted.rs:1: the domain uses sqlx: `use sqlx::Row;`"]
    );
}

#[test]
fn sql_lives_in_the_store() {
    let v = sql_outside_the_store(&crate_files());
    assert!(v.is_empty(), "SQL outside the store:\n{}", v.join("\n"));
}

#[test]
fn planted_sql_outside_the_store_is_named() {
    let files = vec![(
        "src/cli/planted.rs".to_string(),
        "fn f() {\n    db.fetch_one(\"SELECT count(*) FROM job_queue\", &[]);\n}\n".to_string(),
    )];
    assert_eq!(
        sql_outside_the_store(&files),
        vec![
            "src/cli/planted.rs:2: SQL outside the store: `db.fetch_one(\"SELECT count(*) FROM job_queue\", &[]);`"
                .to_string()
        ]
    );
}

#[test]
fn every_top_level_module_has_a_rule() {
    let rules: BTreeSet<&str> = RULES.iter().map(|(m, _)| *m).collect();
    let tops: BTreeSet<String> = crate_files()
        .iter()
        .filter_map(|(p, _)| module_path(p).first().cloned())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    for t in &tops {
        assert!(rules.contains(t.as_str()), "src/{t} has no rule in RULES");
    }
}

fn planted(path: &str, text: &str) -> Vec<String> {
    let mut files = crate_files();
    files.push((path.to_string(), text.to_string()));
    violations(&files)
}

#[test]
fn a_planted_violation_is_named_with_file_line_and_import() {
    let v = planted(
        "src/api/planted.rs",
        "//! planted\n\nuse crate::state::App;\n",
    );
    assert!(
        v.iter()
            .any(|l| l
                == "src/api/planted.rs:3: api must not import state: `use crate::state::App;`"),
        "{v:#?}"
    );
    // a grouped import, an inline path and a super:: chain to the root are seen too
    let v = planted(
        "src/views/planted/deep.rs",
        "use crate::{domain::model::Ts, api::Store};\nfn f() { let _ = super::super::super::sim::x(); }\n",
    );
    assert!(
        v.iter()
            .any(|l| l.starts_with("src/views/planted/deep.rs:1: views must not import api")),
        "{v:#?}"
    );
    assert!(
        v.iter()
            .any(|l| l.starts_with("src/views/planted/deep.rs:2: views must not import sim")),
        "{v:#?}"
    );
    // comments and doc links are not imports
    let v = planted(
        "src/domain/planted.rs",
        "//! see [`crate::state::App`]\nlet x = 1; // crate::api\n",
    );
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn a_planted_cycle_is_named() {
    let files = vec![
        ("src/domain/a.rs".to_string(), String::new()),
        (
            "src/sim/a.rs".to_string(),
            "use crate::cli::run;\n".to_string(),
        ),
        (
            "src/cli/a.rs".to_string(),
            "use crate::sim::run;\n".to_string(),
        ),
    ];
    let v = violations(&files);
    assert!(v.iter().any(|l| l == "cycle: cli -> sim -> cli"), "{v:#?}");
}
