//! The page `ws_same_port` and `ws_service_mapper` serve: it opens a
//! WebSocket on `/ws_test`, sends "Hello", and shows each answer in a
//! textarea.

pub(crate) const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>WebSocket test</title></head>
<body>
<h1>A WebSocket on the same port</h1>
<textarea id="answers" readonly rows="10" cols="60"></textarea>
<script>
  const area = document.getElementById("answers");
  const socket = new WebSocket("ws://" + location.host + "/ws_test");
  socket.onopen = () => socket.send("Hello");
  socket.onmessage = (e) => { area.value = e.data + "\n" + area.value; };
</script>
</body></html>
"#;
