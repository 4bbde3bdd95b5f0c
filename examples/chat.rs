//! The chat of the Node.js WebSocket tutorial, on one port, in rooms.
//!
//! ```text
//! cargo run --example chat -- --addr 127.0.0.1:3490
//! ```
//!
//! | request | answer |
//! |---|---|
//! | `GET /`, `/client.js`, ... | the page, from `examples/chat/public` |
//! | `GET /chat/ROOM` (WebSocket, subprotocol `beej-chat-protocol`) | a member of the room; any other subprotocol gets `400`, a foreign `Origin` `403` |
//! | `GET /chat/ROOM/events` | the room as a read-only event stream (`Last-Event-ID` replays) |
//! | `GET /` (WebSocket, `beej-chat-protocol`) | a member of the room `lobby`: the tutorial's single-room server listened on the page's own address |
//!
//! The protocol is the tutorial's: JSON packets `{"type": ..., "payload":
//! {...}}` of type `chat-join` (`{username}`), `chat-message` (`{username,
//! message}`) and `chat-leave` (`{username}`), broadcast to the room.
//! Usernames are trimmed and cut to 32 characters, messages trimmed and
//! cut to 1 000, and empty messages ignored. A packet that is not JSON is
//! answered with a `chat-error` packet to its sender alone; an unknown type
//! is logged and ignored. When a member goes, however it goes, the room is
//! told with `chat-leave`. A newcomer first gets the room's recent packets.
//!
//! The first line on standard output is `listening on ADDR`; logs go to
//! standard error (`RUST_LOG=info` shows accepts, messages and closes).
//!
//! With `--redis redis://127.0.0.1:6379`, several chat processes share
//! their rooms through Redis Streams: a message typed on one reaches the
//! members on every other. (The recent packets a newcomer gets are still
//! each process's own.)

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oneport::dispatch::topics::{TopicConfig, TopicHub, TopicMessage};
use oneport::prelude::*;
use oneport_redis::{Config as RedisConfig, RedisBackplane};
use serde_json::{Value, json};
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

#[path = "cli.rs"]
mod cli;

/// The subprotocol the tutorial's client asks for.
const PROTOCOL: &str = "beej-chat-protocol";
/// Packets a newcomer is shown.
const HISTORY: usize = 50;
const MAX_USERNAME: usize = 32;
const MAX_MESSAGE: usize = 1000;

/// The rooms' recent packets, and the ids the event streams carry.
struct Rooms {
    recent: Mutex<HashMap<String, VecDeque<String>>>,
    next_id: AtomicU64,
    /// What tells this process's private topics from another's.
    instance: String,
}

impl Default for Rooms {
    fn default() -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Rooms {
            recent: Mutex::default(),
            next_id: AtomicU64::default(),
            instance: format!("{}-{started}", std::process::id()),
        }
    }
}

impl Rooms {
    /// Broadcasts `packet` to `room` (its members and its event stream),
    /// keeping it for newcomers.
    fn broadcast(&self, hub: &TopicHub, room: &str, packet: &Value) {
        let text = packet.to_string();
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            let kept = recent.entry(room.to_owned()).or_default();
            kept.push_back(text.clone());
            if kept.len() > HISTORY {
                kept.pop_front();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let message = TopicMessage::text(text);
        let message = message.clone().id(id).unwrap_or(message);
        let _ = hub.publish(&topic(room), message);
    }

    fn recent(&self, room: &str) -> Vec<String> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .get(room)
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn topic(room: &str) -> String {
    format!("room/{room}")
}

/// The room of `/chat/ROOM` or `/chat/ROOM/events`; `/` is the lobby.
fn room_of(path: &str) -> Option<&str> {
    if path == "/" {
        return Some("lobby");
    }
    let rest = path.strip_prefix("/chat/")?;
    let room = rest.strip_suffix("/events").unwrap_or(rest);
    let valid = !room.is_empty()
        && room.len() <= 64
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(room)
}

/// Trims and cuts `s` to at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// What a member sent, as the room should see it.
enum Packet {
    Join(String),
    Say(String, String),
    Unknown(String),
}

fn parse(text: &str) -> Result<Packet, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = v["type"].as_str().ok_or("no \"type\"")?;
    let payload = &v["payload"];
    let username = clean(payload["username"].as_str().unwrap_or(""), MAX_USERNAME);
    match kind {
        "chat-join" => Ok(Packet::Join(username)),
        "chat-message" => Ok(Packet::Say(
            username,
            clean(payload["message"].as_str().unwrap_or(""), MAX_MESSAGE),
        )),
        other => Ok(Packet::Unknown(other.to_owned())),
    }
}

/// One member of a room, for the life of its socket.
async fn member(ws: WebSocket, req: http::request::Parts, hub: TopicHub, rooms: Arc<Rooms>) {
    let Some(room) = room_of(req.uri.path()).map(str::to_owned) else {
        return;
    };
    drop(req);
    let peer = ws.peer_addr();
    info!(?peer, room, "accepted");
    let (mut rx, mut tx) = ws.split();
    // A private topic carries what only this member should see (the
    // history, its errors), in order with the room's packets.
    // Unique across processes too (with --redis the topics are shared):
    // this process's start time and PID, then a counter.
    let private = format!(
        "member/{}/{}",
        rooms.instance,
        rooms.next_id.fetch_add(1, Ordering::Relaxed)
    );
    let mut sub = hub.ws_subscriber();
    sub.join(&private).await;
    for packet in rooms.recent(&room) {
        let _ = hub.publish(&private, TopicMessage::text(packet));
    }
    sub.join(&topic(&room)).await;
    let forward = tokio::spawn(async move {
        let _ = sub.forward(&mut tx).await;
    });

    let mut username = String::new();
    while let Some(Ok(msg)) = rx.recv().await {
        let Message::Text(text) = msg else { continue };
        match parse(text.as_str()) {
            Ok(Packet::Join(name)) => {
                username = name;
                info!(?peer, room, username, "chat-join");
                let packet = json!({"type": "chat-join", "payload": {"username": username}});
                rooms.broadcast(&hub, &room, &packet);
            }
            Ok(Packet::Say(name, message)) => {
                if !name.is_empty() {
                    username = name;
                }
                if message.is_empty() {
                    continue;
                }
                info!(?peer, room, username, "chat-message");
                let packet = json!({"type": "chat-message",
                    "payload": {"username": username, "message": message}});
                rooms.broadcast(&hub, &room, &packet);
            }
            Ok(Packet::Unknown(kind)) => {
                info!(?peer, room, kind, "unknown packet type, ignored");
            }
            Err(why) => {
                warn!(?peer, room, why, "malformed packet");
                let packet = json!({"type": "chat-error", "payload": {"message": why}});
                let _ = hub.publish(&private, TopicMessage::text(packet.to_string()));
            }
        }
    }
    // However the member went, the room is told.
    let status = rx.close_status();
    info!(?peer, room, username, code = ?status.as_ref().map(|s| s.code.as_u16()), "closed");
    if !username.is_empty() {
        let packet = json!({"type": "chat-leave", "payload": {"username": username}});
        rooms.broadcast(&hub, &room, &packet);
    }
    forward.abort();
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let known = ["addr", "allow-origin", "redis"];
    let addr = cli::option("addr", "127.0.0.1:3490", &known);
    let extra_origin = cli::option("allow-origin", "", &known);
    let redis = cli::option("redis", "", &known);

    let server = Server::builder().bind(addr.as_str()).await?;
    let local = server.local_addr();
    // The pages this server serves, by address and by name, may connect
    // (Cross-Site WebSocket Hijacking protection), and any origin given.
    let mut origins = vec![
        format!("http://{local}"),
        format!("http://localhost:{}", local.port()),
    ];
    if !extra_origin.is_empty() {
        origins.push(extra_origin);
    }

    // With --redis URL, several chat processes share their rooms.
    let hub = if redis.is_empty() {
        TopicHub::default()
    } else {
        match RedisBackplane::connect(&redis, RedisConfig::default()).await {
            Ok(backplane) => TopicHub::with_backplane(TopicConfig::default(), backplane),
            Err(e) => {
                eprintln!("chat: {e}");
                std::process::exit(1)
            }
        }
    };
    let rooms = Arc::new(Rooms::default());
    let (members_hub, members_rooms) = (hub.clone(), rooms.clone());
    let (lobby_hub, lobby_rooms) = (hub.clone(), rooms.clone());
    let chat = service_mapper()
        .route(
            "/",
            Subprotocol::Named(PROTOCOL.into()),
            move |ws: WebSocket, req| member(ws, req, lobby_hub.clone(), lobby_rooms.clone()),
        )
        .route(
            "/chat/[A-Za-z0-9_-]{1,64}",
            Subprotocol::Named(PROTOCOL.into()),
            move |ws: WebSocket, req| member(ws, req, members_hub.clone(), members_rooms.clone()),
        )
        .options(WsOptions::default().origin(OriginPolicy::AllowList(origins)));
    let feed = topic_events(hub, |req: &Request| room_of(req.uri().path()).map(topic));
    let public = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/chat/public");
    let site = sequencer(vec![
        Box::new(filter("^/chat/[A-Za-z0-9_-]{1,64}/events$", feed)),
        Box::new(chat),
        Box::new(files(public)),
    ]);
    println!("listening on {local}");
    server.serve(site).await
}
