//! The local server of `snapsim ui`: the page, the scenario list, replays, and forks.
//!
//! It listens on 127.0.0.1 only and answers one request at a time (a run is single-threaded and
//! deterministic; a learner's browser is the only client). `tiny_http` is the server: small, with
//! no async runtime to compile, which keeps the test build lean.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /api/scenarios` | `{"scenarios": [{file, name, world, description}], "initial": file}` |
//! | `GET /api/replay/<file>` | the replay of a listed scenario, run with its own seed |
//! | `POST /api/run` `{"base": file, "document": {…}}` | the replay of an edited document (a fork) |
//!
//! Errors are `{"error": "…"}` with status 400 (a document that is not a valid scenario: the
//! message names the JSON path), 404 (no such scenario) or 413 (a body over [`BODY_MAX_BYTES`]).

use super::page::served_page;
use super::replay::{Replay, replay_document, replay_file};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server};

/// The largest request body accepted (a scenario document is a few kilobytes).
pub const BODY_MAX_BYTES: u64 = 4 << 20;
/// The default port (`--port`); 0 asks the system for a free one.
pub const DEFAULT_PORT: u16 = 8018;

/// A scenario the page can pick.
#[derive(Clone, Debug, Serialize)]
pub struct CatalogueEntry {
    /// Its file name, which names it in requests.
    pub file: String,
    /// The scenario's `name`.
    pub name: String,
    /// `dataflow` or `process_graph`.
    pub world: &'static str,
    /// The first sentence of its description.
    pub description: String,
    #[serde(skip)]
    path: PathBuf,
}

/// The scenarios on offer: the file given on the command line first, then every `*.json` of the
/// scenarios directory, by file name.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// Reads the scenarios of `directory` (if it exists) and `file` (if given). A file that is not
    /// JSON is left out of the list; one that is not a valid scenario is listed and says so when
    /// picked.
    pub fn load(directory: &Path, file: Option<&Path>) -> Result<Catalogue, String> {
        let mut entries = Vec::new();
        if let Some(file) = file {
            entries.push(entry(file).ok_or_else(|| {
                format!("{}: cannot read it as a JSON scenario file", file.display())
            })?);
        }
        if let Ok(listing) = std::fs::read_dir(directory) {
            let mut paths: Vec<PathBuf> = listing
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            for path in paths {
                if let Some(e) = entry(&path)
                    && !entries.iter().any(|known| known.file == e.file)
                {
                    entries.push(e);
                }
            }
        }
        if entries.is_empty() {
            return Err(format!(
                "no scenarios to show: {} has no *.json files (give a FILE, or --scenarios DIR)",
                directory.display()
            ));
        }
        Ok(Catalogue { entries })
    }

    /// The entries, in the page's order.
    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    fn find(&self, file: &str) -> Option<&CatalogueEntry> {
        self.entries.iter().find(|e| e.file == file)
    }
}

fn entry(path: &Path) -> Option<CatalogueEntry> {
    let text = std::fs::read_to_string(path).ok()?;
    let document: Value = serde_json::from_str(&text).ok()?;
    let file = path.file_name()?.to_str()?.to_string();
    let description = document["description"].as_str().unwrap_or("");
    let first_sentence = match description.find(". ") {
        Some(end) => &description[..=end],
        None => description,
    };
    Some(CatalogueEntry {
        name: document["name"]
            .as_str()
            .unwrap_or(file.trim_end_matches(".json"))
            .to_string(),
        world: if document.get("job").is_some() {
            "dataflow"
        } else {
            "process_graph"
        },
        description: first_sentence.to_string(),
        file,
        path: path.to_path_buf(),
    })
}

/// The server, bound and ready.
pub struct UiServer {
    server: Arc<Server>,
    catalogue: Catalogue,
    page: String,
    replays: BTreeMap<String, String>,
}

impl UiServer {
    /// Binds 127.0.0.1:`port` (0: any free port).
    pub fn bind(port: u16, catalogue: Catalogue) -> Result<UiServer, String> {
        let server = Server::http(("127.0.0.1", port))
            .map_err(|error| format!("cannot listen on 127.0.0.1:{port}: {error}"))?;
        Ok(UiServer {
            server: Arc::new(server),
            catalogue,
            page: served_page(),
            replays: BTreeMap::new(),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> Option<SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// A function that makes [`UiServer::serve`] return (for Ctrl-C).
    pub fn stopper(&self) -> impl Fn() + Send + 'static {
        let server = Arc::clone(&self.server);
        move || server.unblock()
    }

    /// Answers requests until stopped.
    pub fn serve(&mut self) {
        while let Ok(request) = self.server.recv() {
            self.answer(request);
        }
    }

    fn answer(&mut self, mut request: Request) {
        let url = request.url().to_string();
        let path = url.split('?').next().unwrap_or("").to_string();
        let (status, content_type, body) = match (request.method(), path.as_str()) {
            (Method::Get, "/" | "/index.html") => (
                200,
                "text/html; charset=utf-8",
                self.page.clone().into_bytes(),
            ),
            (Method::Get, "/api/scenarios") => {
                let listing = json!({
                    "scenarios": self.catalogue.entries(),
                    "initial": self.catalogue.entries().first().map(|e| e.file.clone()),
                });
                (200, JSON, listing.to_string().into_bytes())
            }
            (Method::Get, p) if p.starts_with("/api/replay/") => {
                let file = percent_decode(&p["/api/replay/".len()..]);
                match self.shipped_replay(&file) {
                    Ok(json) => (200, JSON, json.into_bytes()),
                    Err((status, message)) => (status, JSON, error_body(&message)),
                }
            }
            (Method::Post, "/api/run") => match self.fork(&mut request) {
                Ok(json) => (200, JSON, json.into_bytes()),
                Err((status, message)) => (status, JSON, error_body(&message)),
            },
            (Method::Get, "/favicon.ico") => (204, "text/plain", Vec::new()),
            _ => (404, JSON, error_body(&format!("no such page: {path}"))),
        };
        let response = Response::from_data(body)
            .with_status_code(status)
            .with_header(header("Content-Type", content_type))
            .with_header(header("Cache-Control", "no-store"));
        // A browser that went away is not the server's problem.
        let _ = request.respond(response);
    }

    fn shipped_replay(&mut self, file: &str) -> Result<String, (u16, String)> {
        if let Some(json) = self.replays.get(file) {
            return Ok(json.clone());
        }
        let entry = self
            .catalogue
            .find(file)
            .ok_or_else(|| (404, format!("no scenario named {file}")))?
            .clone();
        let replay = replay_file(&entry.path, None).map_err(|e| (400, e.to_string()))?;
        let json = replay_json(&replay);
        self.replays.insert(file.to_string(), json.clone());
        Ok(json)
    }

    fn fork(&self, request: &mut Request) -> Result<String, (u16, String)> {
        let mut body = Vec::new();
        request
            .as_reader()
            .take(BODY_MAX_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| (400, format!("cannot read the request: {e}")))?;
        if body.len() as u64 > BODY_MAX_BYTES {
            return Err((
                413,
                format!("a fork's document is at most {BODY_MAX_BYTES} bytes"),
            ));
        }
        let request: Value = serde_json::from_slice(&body)
            .map_err(|e| (400, format!("the request is not JSON: {e}")))?;
        let base = request["base"]
            .as_str()
            .ok_or_else(|| (400, "the request names no \"base\" scenario".to_string()))?;
        let entry = self
            .catalogue
            .find(base)
            .ok_or_else(|| (404, format!("no scenario named {base}")))?;
        let document = &request["document"];
        if !document.is_object() {
            return Err((400, "the request has no \"document\" object".to_string()));
        }
        // Labelled with the base's path, so that a `start-from-savepoint` resolves as it does
        // for the base; the message says it is the fork.
        let label = entry.path.display().to_string();
        let replay = replay_document(document, &label).map_err(|e| {
            (
                400,
                format!("the fork of {base} is not a valid scenario: {e}"),
            )
        })?;
        Ok(replay_json(&replay))
    }
}

const JSON: &str = "application/json";

fn replay_json(replay: &Replay) -> String {
    serde_json::to_string(replay).unwrap_or_else(|e| error_json(&e.to_string()))
}

fn error_json(message: &str) -> String {
    json!({ "error": message }).to_string()
}

fn error_body(message: &str) -> Vec<u8> {
    error_json(message).into_bytes()
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid ASCII header")
}

/// Decodes `%XX` escapes of a URL path segment (file names with spaces or `+`).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    /// A scenario's file name comes back from the page's URL as the user wrote it.
    #[test]
    fn a_file_name_in_the_url_is_decoded() {
        assert_eq!(percent_decode("my%20job%2Bv2.json"), "my job+v2.json");
        assert_eq!(percent_decode("plain.json"), "plain.json");
        assert_eq!(percent_decode("caf%C3%A9.json"), "café.json");
        // A stray `%` stays as it is.
        assert_eq!(percent_decode("100%.json"), "100%.json");
    }
}
