//! The code's map, checked: which file may depend on which.
//!
//! A file depends on another when it names an item defined there — through a `use`, or a path
//! such as `crate::oracle::check` or `super::state::World`. A facade's `pub use` of a child's items
//! is resolved to the file that defines them, so a module's `mod.rs` re-exporting its children is
//! not a dependency, but a child that uses what its `mod.rs` defines, while the `mod.rs` uses the
//! child, is a cycle. Test modules (`#[cfg(test)]`) are left out.
//!
//! The rules, each a story of what the code promises:
//! - no two files depend on each other, directly or through others;
//! - a protocol state machine (the barrier handlers, the Chandy-Lamport process rules) never reads
//!   the world that runs it, nor the engine, the network, the oracle or the reports (it may name
//!   the ids the record uses);
//! - the oracle reads what happened (the record and the scenario), never a world's internals or a
//!   protocol's private state, so a buggy protocol cannot hide its own bug;
//! - the engine knows nothing of snapshots;
//! - the worlds never look at the oracle, the reports or the charts;
//! - data flows one way, scenario → world → record → oracle → report: no stage depends on a later
//!   one (a scenario may name the invariants it expects to fail).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, e.g. `["dataflow", "world", "state"]`.
type ModulePath = Vec<String>;

struct Crate {
    /// Module path of every source file (relative to `src/`).
    modules: BTreeMap<ModulePath, String>,
    /// Per file: the names it re-exports with `pub use`, and where they point.
    reexports: BTreeMap<String, BTreeMap<String, ModulePath>>,
    /// Per file: the files it depends on.
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn source_files(directory: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(relative: &str) -> ModulePath {
    let mut parts: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments, string and character literals.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !is_ident(chars.get(i.wrapping_sub(1)).copied())
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3; // a character literal
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The code with every `#[cfg(test)]` item removed, and the names of test-only child modules.
fn without_tests(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_modules = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let item_end = match (after.find(';'), after.find('{')) {
            (Some(semicolon), brace) if brace.is_none_or(|b| semicolon < b) => {
                let declaration = after[..semicolon].trim();
                if let Some(name) = declaration.strip_prefix("mod ") {
                    test_modules.push(name.trim().to_string());
                }
                semicolon + 1
            }
            (_, Some(brace)) => {
                let mut depth = 0;
                let mut end = after.len();
                for (index, c) in after[brace..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = brace + index + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => after.len(),
        };
        rest = &after[item_end..];
    }
    out.push_str(rest);
    (out, test_modules)
}

/// Expands a `use` tree (`a::{b, c::{d, e as f}, *}`) into (path, name bound) pairs.
fn use_tree(prefix: &[String], tree: &str, out: &mut Vec<(ModulePath, String)>) {
    let tree = tree.trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut depth = 0;
        let mut start = 0;
        for (index, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_tree(prefix, &inner[start..index], out);
                    start = index + 1;
                }
                _ => {}
            }
        }
        use_tree(prefix, &inner[start..], out);
        return;
    }
    if tree.is_empty() {
        return;
    }
    if let Some(brace) = tree.find("::{") {
        let mut path = prefix.to_vec();
        path.extend(tree[..brace].split("::").map(|s| s.trim().to_string()));
        use_tree(&path, &tree[brace + 2..], out);
        return;
    }
    let (path_text, alias) = match tree.split_once(" as ") {
        Some((path, alias)) => (path, Some(alias.trim().to_string())),
        None => (tree, None),
    };
    let mut path = prefix.to_vec();
    path.extend(path_text.split("::").map(|s| s.trim().to_string()));
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    let name = alias.unwrap_or_else(|| path.last().cloned().unwrap_or_default());
    out.push((path, name));
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut files = Vec::new();
        source_files(root, &mut files);
        let mut code: BTreeMap<String, String> = BTreeMap::new();
        let mut test_only: BTreeSet<ModulePath> = BTreeSet::new();
        for path in &files {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "main.rs" {
                continue; // the binary is a crate of its own
            }
            let (text, test_modules) =
                without_tests(&strip(&std::fs::read_to_string(path).unwrap()));
            let module = module_path(&relative);
            for name in test_modules {
                let mut child = module.clone();
                child.push(name);
                test_only.insert(child);
            }
            code.insert(relative, text);
        }
        code.retain(|relative, _| !test_only.contains(&module_path(relative)));
        let modules = code.keys().map(|r| (module_path(r), r.clone())).collect();
        let mut krate = Crate {
            modules,
            reexports: BTreeMap::new(),
            edges: BTreeMap::new(),
        };
        let uses: BTreeMap<String, Vec<(bool, ModulePath, String)>> = code
            .iter()
            .map(|(file, text)| (file.clone(), Crate::uses(text)))
            .collect();
        for (file, entries) in &uses {
            let module = module_path(file);
            for (public, path, name) in entries {
                if *public && let Some(target) = krate.absolute(&module, path) {
                    krate
                        .reexports
                        .entry(file.clone())
                        .or_default()
                        .insert(name.clone(), target);
                }
            }
        }
        for (file, text) in &code {
            let module = module_path(file);
            let without_uses = remove_uses(text);
            let mut targets = BTreeSet::new();
            for (public, path, name) in &uses[file] {
                // A facade's re-export is no dependency unless the file itself uses the name.
                if *public && !contains_word(&without_uses, name) {
                    continue;
                }
                if let Some(target) = krate
                    .absolute(&module, path)
                    .and_then(|a| krate.resolve(&a, 0))
                {
                    targets.insert(target);
                }
            }
            for path in code_paths(&without_uses) {
                if let Some(target) = krate
                    .absolute(&module, &path)
                    .and_then(|a| krate.resolve(&a, 0))
                {
                    targets.insert(target);
                }
            }
            targets.remove(file);
            krate.edges.insert(file.clone(), targets);
        }
        krate
    }

    fn uses(text: &str) -> Vec<(bool, ModulePath, String)> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(at) = find_word(rest, "use") {
            let before = rest[..at].trim_end();
            let public =
                before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
            let Some(end) = rest[at..].find(';') else {
                break;
            };
            let mut trees = Vec::new();
            use_tree(&[], &rest[at + 3..at + end], &mut trees);
            out.extend(trees.into_iter().map(|(path, name)| (public, path, name)));
            rest = &rest[at + end + 1..];
        }
        out
    }

    /// A path as written in `module`, made absolute (from the crate root), if it is in the crate.
    fn absolute(&self, module: &[String], path: &[String]) -> Option<ModulePath> {
        let first = path.first()?;
        let mut absolute: ModulePath = match first.as_str() {
            "crate" => Vec::new(),
            "super" | "self" => module.to_vec(),
            _ => {
                let mut child = module.to_vec();
                child.push(first.clone());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                module.to_vec()
            }
        };
        let mut rest = path;
        if first == "crate" || first == "self" {
            rest = &path[1..];
        }
        while rest.first().is_some_and(|s| s == "super") {
            absolute.pop();
            rest = &rest[1..];
        }
        absolute.extend(rest.iter().cloned());
        Some(absolute)
    }

    /// The file that defines what an absolute path names, following `pub use` re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        for length in (0..=path.len()).rev() {
            let Some(file) = self.modules.get(&path[..length]) else {
                continue;
            };
            let Some(name) = path.get(length) else {
                return Some(file.clone());
            };
            if let Some(target) = self.reexports.get(file).and_then(|r| r.get(name))
                && depth < 16
            {
                let mut followed = target.clone();
                followed.extend(path[length + 1..].iter().cloned());
                return self.resolve(&followed, depth + 1);
            }
            return Some(file.clone());
        }
        None
    }

    /// Groups of files that depend on each other.
    fn cycles(&self) -> Vec<Vec<String>> {
        // Tarjan's strongly connected components.
        struct State<'a> {
            edges: &'a BTreeMap<String, BTreeSet<String>>,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            components: Vec<Vec<String>>,
        }
        fn visit<'a>(state: &mut State<'a>, file: &'a str) {
            let number = state.index.len();
            state.index.insert(file, number);
            state.low.insert(file, number);
            state.stack.push(file);
            state.on_stack.insert(file);
            for next in state.edges.get(file).into_iter().flatten() {
                if !state.index.contains_key(next.as_str()) {
                    visit(state, next);
                    let low = state.low[next.as_str()].min(state.low[file]);
                    state.low.insert(file, low);
                } else if state.on_stack.contains(next.as_str()) {
                    let low = state.index[next.as_str()].min(state.low[file]);
                    state.low.insert(file, low);
                }
            }
            if state.low[file] == state.index[file] {
                let mut component = Vec::new();
                loop {
                    let member = state.stack.pop().unwrap();
                    state.on_stack.remove(member);
                    component.push(member.to_string());
                    if member == file {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    state.components.push(component);
                }
            }
        }
        let mut state = State {
            edges: &self.edges,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            components: Vec::new(),
        };
        for file in self.edges.keys() {
            if !state.index.contains_key(file.as_str()) {
                visit(&mut state, file);
            }
        }
        state.components
    }

    /// Every dependency from a file matching `from` to a file matching `to`.
    fn dependencies(&self, from: impl Fn(&str) -> bool, to: impl Fn(&str) -> bool) -> Vec<String> {
        self.edges
            .iter()
            .filter(|(file, _)| from(file))
            .flat_map(|(file, targets)| {
                targets
                    .iter()
                    .filter(|t| to(t))
                    .map(move |t| format!("{file} -> {t}"))
            })
            .collect()
    }
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = text[from..].find(word) {
        let at = from + offset;
        let before = at.checked_sub(1).map(|i| bytes[i] as char);
        let after = bytes.get(at + word.len()).map(|&b| b as char);
        if !is_ident(before) && !is_ident(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn contains_word(text: &str, word: &str) -> bool {
    find_word(text, word).is_some()
}

fn remove_uses(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = find_word(rest, "use") {
        out.push_str(&rest[..at]);
        match rest[at..].find(';') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `a::b::c` path in code (not preceded by `::` or part of a longer identifier).
fn code_paths(text: &str) -> Vec<ModulePath> {
    let chars: Vec<char> = text.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = is_ident(Some(chars[i]))
            && !is_ident(i.checked_sub(1).map(|j| chars[j]))
            && !(i >= 1 && chars[i - 1] == ':');
        if !starts {
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(Some(chars[j])) {
                j += 1;
            }
            segments.push(chars[start..j].iter().collect::<String>());
            if j + 2 < chars.len()
                && chars[j] == ':'
                && chars[j + 1] == ':'
                && is_ident(Some(chars[j + 2]))
            {
                j += 2;
            } else {
                break;
            }
        }
        if segments.len() > 1 {
            paths.push(segments);
        }
        i = j.max(i + 1);
    }
    paths
}

fn the_crate() -> Crate {
    Crate::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_two_files_depend_on_each_other() {
    let krate = the_crate();
    assert!(
        krate.edges.len() > 50 && krate.edges.values().map(BTreeSet::len).sum::<usize>() > 200,
        "the reader found the crate's files and their dependencies"
    );
    let cycles = krate.cycles();
    let described: Vec<String> = cycles
        .iter()
        .map(|files| {
            let inner: Vec<String> = files
                .iter()
                .map(|f| {
                    let within: Vec<&String> = krate.edges[f]
                        .iter()
                        .filter(|t| files.contains(t))
                        .collect();
                    format!("{f} -> {within:?}")
                })
                .collect();
            inner.join("; ")
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "files depend on each other: {described:#?}"
    );
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut krate = the_crate();
    // Pretend the oracle's dataflow checks used the report that is built from them.
    krate
        .edges
        .get_mut("oracle/dataflow.rs")
        .unwrap()
        .insert("report/dataflow.rs".into());
    let cycles = krate.cycles();
    assert!(
        cycles
            .iter()
            .any(|c| c.contains(&"oracle/dataflow.rs".to_string())
                && c.contains(&"report/dataflow.rs".to_string())),
        "{cycles:?}"
    );
}

#[test]
fn a_facade_reexport_is_resolved_to_the_file_that_defines_it() {
    let krate = the_crate();
    assert!(
        krate.edges["report/dataflow.rs"].contains("dataflow/mod.rs"),
        "report/dataflow.rs calls crate::dataflow::run"
    );
    assert!(
        krate.edges["dataflow/world/barriers.rs"].contains("checkpoint/barrier/interface.rs"),
        "the world uses the handler's Action, re-exported by checkpoint/barrier/mod.rs"
    );
    assert!(
        !krate.edges["dataflow/mod.rs"].contains("dataflow/results.rs"),
        "dataflow/mod.rs only re-exports the results"
    );
}

#[test]
fn the_protocol_state_machines_never_read_the_world() {
    let krate = the_crate();
    let protocol =
        |f: &str| f.starts_with("checkpoint/barrier/") || f == "chandy_lamport/process.rs";
    let world = |f: &str| {
        f.starts_with("dataflow/")
            || f.starts_with("engine/")
            || f.starts_with("net/")
            || f.starts_with("oracle/")
            || f.starts_with("report/")
            || f == "chandy_lamport/simulation.rs"
    };
    assert_eq!(krate.dependencies(protocol, world), Vec::<String>::new());
    let protocol_files = krate.edges.keys().filter(|f| protocol(f)).count();
    assert!(
        protocol_files >= 12,
        "{protocol_files} protocol files found"
    );
}

#[test]
fn the_oracle_reads_what_happened_never_a_world_or_a_protocol() {
    let krate = the_crate();
    let oracle = |f: &str| f.starts_with("oracle/");
    let private = |f: &str| {
        f.starts_with("dataflow/world/")
            || f == "chandy_lamport/simulation.rs"
            || f.starts_with("checkpoint/barrier/")
            || f == "chandy_lamport/process.rs"
    };
    assert_eq!(krate.dependencies(oracle, private), Vec::<String>::new());
}

#[test]
fn the_engine_knows_nothing_of_snapshots() {
    let krate = the_crate();
    let engine = |f: &str| f.starts_with("engine/");
    assert_eq!(
        krate.dependencies(engine, |f| !engine(f)),
        Vec::<String>::new()
    );
}

#[test]
fn the_worlds_never_look_at_the_oracle_the_reports_or_the_charts() {
    let krate = the_crate();
    let worlds = |f: &str| {
        f.starts_with("dataflow/")
            || f.starts_with("chandy_lamport/")
            || f.starts_with("checkpoint/")
    };
    let downstream = |f: &str| {
        f.starts_with("oracle/")
            || f.starts_with("report/")
            || f.starts_with("plot/")
            || f.starts_with("figures/")
            || f.starts_with("sweep/")
    };
    assert_eq!(krate.dependencies(worlds, downstream), Vec::<String>::new());
}

#[test]
fn data_flows_one_way_scenario_world_record_oracle_report() {
    let krate = the_crate();
    let world = |f: &str| f.starts_with("dataflow/world/") || f == "chandy_lamport/simulation.rs";
    let record =
        |f: &str| f == "trace.rs" || f == "dataflow/results.rs" || f == "chandy_lamport/mod.rs";
    // A scenario names the invariants its lesson breaks: it may use their names, nothing else.
    let oracle = |f: &str| f.starts_with("oracle/") && f != "oracle/invariant.rs";
    let report = |f: &str| f.starts_with("report/");
    let scenario = |f: &str| f.starts_with("scenario/");
    let mut backwards = krate.dependencies(scenario, |f| world(f) || oracle(f) || report(f));
    backwards.extend(krate.dependencies(record, |f| world(f) || oracle(f) || report(f)));
    backwards.extend(krate.dependencies(|f| f.starts_with("oracle/"), report));
    assert_eq!(backwards, Vec::<String>::new());
}
