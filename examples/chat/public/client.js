// The chat page: a member of the room named by ?room= (default "lobby"),
// speaking the tutorial's protocol over a WebSocket with the subprotocol
// beej-chat-protocol.
"use strict";

const room = new URLSearchParams(location.search).get("room") || "lobby";
const log = document.getElementById("log");
const status = document.getElementById("status");
let username = "";

document.getElementById("room").textContent = room;
document.getElementById("feed-link").href = "feed.html?room=" + encodeURIComponent(room);

function show(text, kind) {
  const li = document.createElement("li");
  li.textContent = text;
  li.className = kind;
  log.appendChild(li);
}

const socket = new WebSocket("ws://" + location.host + "/chat/" + encodeURIComponent(room),
  "beej-chat-protocol");
socket.onopen = () => { status.textContent = "connected"; };
socket.onclose = (e) => { status.textContent = "closed (" + e.code + ")"; };
socket.onmessage = (e) => {
  const packet = JSON.parse(e.data);
  const p = packet.payload || {};
  switch (packet.type) {
    case "chat-join": show(p.username + " joined", "join"); break;
    case "chat-message": show(p.username + ": " + p.message, "message"); break;
    case "chat-leave": show(p.username + " left", "leave"); break;
    case "chat-error": show("error: " + p.message, "error"); break;
  }
};

function send(type, payload) {
  socket.send(JSON.stringify({ type, payload }));
}

document.getElementById("join").onsubmit = (e) => {
  e.preventDefault();
  username = document.getElementById("username").value;
  send("chat-join", { username });
};
document.getElementById("say").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("message");
  send("chat-message", { username, message: input.value });
  input.value = "";
};
