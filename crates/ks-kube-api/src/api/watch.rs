//! watch: a chunked stream of `{"type": ..., "object": ...}` lines.
//!
//! Without a resourceVersion (or with "0") the stream starts with an ADDED
//! event for every current object, as kube-apiserver does. With one, it
//! carries every change after it; if that revision has been compacted the
//! stream is a single ERROR event with a 410 Expired Status (what clients
//! such as client-go and kube-rs expect to relist on). Selectors turn
//! objects that start or stop matching into ADDED and DELETED events.
//!
//! Any watch may also be asked for as a WebSocket (`Connection: Upgrade`,
//! `Upgrade: websocket`), as kube-apiserver serves them (k8s.io/apiserver
//! `endpoints/handlers/watch.go`, `HandleWS`) and as KubeSphere's console
//! opens them: the same events, one text frame per event holding the same
//! JSON line; messages from the client are read only to answer pings and
//! notice a close; the socket is closed when the watch ends (timeout,
//! compaction, server shutdown).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use ks_store::{EventKind, StoreError, WatchItem};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::negotiate::Format;
use super::read::{parse_rv, read_page, selectors_of, served_bytes, served_object};
use super::{Params, Target};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::object::{Selectors, encode_with_revision};
use crate::resources::ResourceDef;
use crate::table;

/// Default watch duration when the client gives no timeoutSeconds.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);
/// Largest message (and frame) a WebSocket watch reads from its client.
/// Clients have nothing to say on a watch but pings and a close, whose
/// payloads are at most 125 bytes; anything larger ends the watch.
pub(crate) const MAX_WEBSOCKET_CLIENT_MESSAGE: usize = 4 * 1024;
/// How long a closing WebSocket waits for the client's close frame.
const CLOSE_HANDSHAKE_TIME: Duration = Duration::from_secs(2);

/// Whether the request asks for a WebSocket (`Connection` lists
/// `upgrade`, `Upgrade` is `websocket`), as kube-apiserver's
/// `wsstream.IsWebSocketRequest` decides.
pub(super) fn wants_websocket(headers: &http::HeaderMap) -> bool {
    let connection_upgrade = headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
        })
    });
    let upgrade_websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    connection_upgrade && upgrade_websocket
}

pub(super) async fn watch(
    app: &Arc<App>,
    target: &Target<'_>,
    format: Format,
    params: &Params,
    upgrade: Option<WebSocketUpgrade>,
) -> ApiResult<Response> {
    if matches!(format, Format::Yaml) {
        return Err(ApiError::not_acceptable(
            "watch streams are served as JSON only",
        ));
    }
    // From the query, not the request info: the info leaves them out on
    // the `/watch/` path form (the console's), which still honours them.
    let selectors = selectors_of(
        params.label_selector.as_deref().unwrap_or(""),
        params.field_selector.as_deref().unwrap_or(""),
        &target.def,
    )?;
    let def = Arc::clone(&target.def);
    let ns = (!target.namespace.is_empty()).then_some(target.namespace);
    let prefix = def.prefix_in(ns);
    let rv = params
        .resource_version
        .as_deref()
        .map(parse_rv)
        .transpose()?;
    let send_initial = params
        .send_initial_events
        .unwrap_or(matches!(rv, None | Some(0)));
    if params.send_initial_events == Some(true)
        && params.resource_version_match.as_deref() != Some("NotOlderThan")
    {
        return Err(ApiError::bad_request(
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
        ));
    }

    // The initial state, read before the response starts so errors are
    // still plain HTTP errors.
    let mut initial = Vec::new();
    let start = if send_initial {
        let page = read_page(app, &prefix, &selectors, &Params::default()).await?;
        let revision = page.revision;
        initial = page.items;
        Some(revision)
    } else {
        rv
    };
    let timeout = params
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let stream = match app.store.watch(&prefix, start) {
        Ok(stream) => Ok(stream),
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => Err((requested, compacted)),
        Err(e) => return Err(ApiError::from(e)),
    };

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let ctx = WatchContext {
        def,
        format,
        selectors,
        bookmarks: params.allow_bookmarks,
        first_table: true,
    };
    let mut shutdown = app.shutdown.clone();
    let initial_end = params.send_initial_events == Some(true);
    tokio::spawn(async move {
        let mut ctx = ctx;
        let mut stream = match stream {
            Ok(stream) => stream,
            Err((requested, compacted)) => {
                let status = ApiError::expired(format!(
                    "too old resource version: {requested} ({compacted})"
                ))
                .to_status();
                let _ = tx
                    .send(line(
                        "ERROR",
                        &serde_json::to_vec(&status).unwrap_or_default(),
                    ))
                    .await;
                return;
            }
        };
        for kv in &initial {
            let Some(bytes) = ctx.object_bytes(&kv.value, None) else {
                continue;
            };
            if tx.send(line("ADDED", &bytes)).await.is_err() {
                return;
            }
        }
        if initial_end {
            let bookmark = ctx.bookmark(start.unwrap_or(0), true);
            if tx.send(line("BOOKMARK", &bookmark)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        let mut last_bookmark = start.unwrap_or(0);
        loop {
            tokio::select! {
                item = stream.next() => {
                    let chunk = match item {
                        None => return,
                        Some(Ok(WatchItem::Event(event))) => ctx.event(&event),
                        Some(Ok(WatchItem::Progress(_))) => None,
                        Some(Err(StoreError::Compacted { requested, compacted })) => {
                            let status = ApiError::expired(format!("too old resource version: {requested} ({compacted})")).to_status();
                            let _ = tx.send(line("ERROR", &serde_json::to_vec(&status).unwrap_or_default())).await;
                            return;
                        }
                        Some(Err(_)) => return,
                    };
                    if let Some(chunk) = chunk
                        && tx.send(chunk).await.is_err() {
                            return;
                        }
                }
                _ = ticker.tick(), if ctx.bookmarks => {
                    let progress = stream.progress();
                    if progress > last_bookmark {
                        last_bookmark = progress;
                        if tx.send(line("BOOKMARK", &ctx.bookmark(progress, false))).await.is_err() {
                            return;
                        }
                    }
                }
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });

    if let Some(upgrade) = upgrade {
        return Ok(websocket_response(app, upgrade, rx));
    }
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    }));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Put on a WebSocket watch's 101 response: resolves when the socket
/// closes. Layers that follow a long-running response to its end (audit's
/// ResponseComplete, the long-running gauge) follow this instead, since
/// the 101 response's body ends as soon as the connection upgrades.
#[derive(Clone, Debug)]
pub struct WebSocketSession(tokio::sync::watch::Receiver<()>);

impl WebSocketSession {
    /// Waits until the socket has closed (or the upgrade failed).
    pub async fn closed(mut self) {
        // Nothing is ever sent: this returns when the sender is dropped.
        let _ = self.0.changed().await;
    }
}

/// The 101 answer; once upgraded, the watch's lines go out as frames.
fn websocket_response(
    app: &Arc<App>,
    upgrade: WebSocketUpgrade,
    rx: mpsc::Receiver<Bytes>,
) -> Response {
    let mut upgrade = upgrade
        .max_message_size(MAX_WEBSOCKET_CLIENT_MESSAGE)
        .max_frame_size(MAX_WEBSOCKET_CLIENT_MESSAGE);
    // Kubernetes' watch accepts a single offered subprotocol and answers
    // with it (golang.org/x/net/websocket's handshake); the frames stay
    // JSON text whatever it names. Browsers fail a handshake whose answer
    // omits every protocol they offered, so the first one is echoed.
    let offered = upgrade.requested_protocols().next().cloned();
    if let Some(protocol) = offered {
        upgrade.set_selected_protocol(protocol);
    }
    let session = app.websockets.subscribe();
    let (open, followed) = tokio::sync::watch::channel(());
    let app = Arc::clone(app);
    // A failed upgrade drops the callback, and `open` with it.
    let mut response = upgrade.on_upgrade(move |socket| async move {
        serve_websocket(socket, rx, &app).await;
        drop(session);
        drop(open);
    });
    response.extensions_mut().insert(WebSocketSession(followed));
    response
}

async fn serve_websocket(mut socket: WebSocket, mut rx: mpsc::Receiver<Bytes>, app: &App) {
    loop {
        tokio::select! {
            chunk = rx.recv() => {
                let Some(chunk) = chunk else { break };
                // The lines are serde_json's output: always UTF-8.
                let Ok(text) = Utf8Bytes::try_from(chunk) else { break };
                if socket.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            message = socket.recv() => match message {
                // Pings are answered by the protocol layer as it reads.
                Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
        }
    }
    // The watch ended (timeout, compaction, shutdown): close cleanly.
    let code = if app.is_shutting_down() {
        close_code::AWAY
    } else {
        close_code::NORMAL
    };
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(""),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIME, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

fn line(kind: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

struct WatchContext {
    def: Arc<ResourceDef>,
    format: Format,
    selectors: Selectors,
    bookmarks: bool,
    first_table: bool,
}

impl WatchContext {
    /// The object as sent: served version, optional revision override
    /// (deletes carry the deletion revision), Table when asked.
    fn object_bytes(&mut self, stored: &[u8], revision: Option<i64>) -> Option<Vec<u8>> {
        let bytes = match revision {
            Some(rev) => {
                let obj = served_object(&self.def, stored).ok()?;
                encode_with_revision(obj, rev).ok()?.to_vec()
            }
            None => served_bytes(&self.def, stored).ok()?.into_owned(),
        };
        if let Format::Table { version, include } = &self.format {
            let obj: Value = serde_json::from_slice(&bytes).ok()?;
            let with_columns = std::mem::take(&mut self.first_table);
            let t = table::table(
                &self.def,
                std::slice::from_ref(&obj),
                version,
                *include,
                None,
                None,
                with_columns,
            );
            return serde_json::to_vec(&t).ok();
        }
        Some(bytes)
    }

    /// The line for a store event, as kube-apiserver's watch cache turns
    /// changes into events for a watcher with selectors: an object that
    /// starts matching is ADDED; one that stops matching is DELETED, with
    /// its previous content at the event's revision.
    fn event(&mut self, event: &ks_store::Event) -> Option<Bytes> {
        let matches = |bytes: &[u8]| self.selectors.matches_bytes(bytes);
        let (kind, stored, revision) = match event.kind {
            EventKind::Created if matches(&event.kv.value) => ("ADDED", &event.kv.value, None),
            EventKind::Deleted if matches(&event.kv.value) => {
                ("DELETED", &event.kv.value, Some(event.revision))
            }
            EventKind::Modified => {
                let now = matches(&event.kv.value);
                let before = event.prev.as_ref().map_or(now, |p| matches(&p.value));
                match (now, before, &event.prev) {
                    (true, true, _) => ("MODIFIED", &event.kv.value, None),
                    (true, false, _) => ("ADDED", &event.kv.value, None),
                    (false, true, Some(prev)) => ("DELETED", &prev.value, Some(event.revision)),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let bytes = self.object_bytes(stored, revision)?;
        Some(line(kind, &bytes))
    }

    fn bookmark(&self, revision: i64, initial_end: bool) -> Vec<u8> {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata});
        serde_json::to_vec(&obj).unwrap_or_default()
    }
}
