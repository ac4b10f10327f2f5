//! The single page of the web view, assembled from the assets compiled into the binary.
//!
//! The same page serves both uses: `snapsim ui` serves it with no data (it asks the server for the
//! scenario list and the replays), and `snapsim replay --html` writes it with one replay embedded
//! as a JSON `<script>` (then the page hides what needs a server: the scenario picker and the
//! what-ifs).

use super::replay::Replay;

const TEMPLATE: &str = include_str!("assets/index.html");
const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// The page `snapsim ui` serves.
pub fn served_page() -> String {
    assemble("")
}

/// One self-contained HTML file showing `replay` (no server needed).
pub fn standalone_page(replay: &Replay) -> String {
    let json = serde_json::to_string(replay).unwrap_or_else(|_| "null".to_string());
    // Inside a <script> element the text must not contain `</script` or `<!--`; JSON has `<`
    // only inside strings, where `\u003c` means the same.
    let json = json.replace('<', "\\u003c");
    assemble(&format!(
        "<script id=\"replay-data\" type=\"application/json\">{json}</script>"
    ))
}

fn assemble(data: &str) -> String {
    TEMPLATE
        .replacen("/*STYLE*/", STYLE, 1)
        .replacen("/*SCRIPT*/", SCRIPT, 1)
        .replacen("<!--REPLAY-->", data, 1)
}

/// The scenarios whose replays the book embeds, each written as `<stem>.html` by
/// `snapsim figures` into `book/src/replays/` (and kept current by a test, like the figures).
pub const BOOK_REPLAYS: [&str; 3] = [
    "cl-paper-example-2-2.json",
    "cl-lossy-channel.json",
    "flink-crash-during-alignment.json",
];

/// The static page of the shipped scenario `file` of `scenarios_dir`, run with its own seed.
pub fn book_replay(
    scenarios_dir: &std::path::Path,
    file: &str,
) -> Result<String, super::replay::ReplayError> {
    Ok(standalone_page(&super::replay::replay_file(
        &scenarios_dir.join(file),
        None,
    )?))
}
