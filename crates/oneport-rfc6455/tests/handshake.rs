//! The opening handshake: server checks with their HTTP answers, the 101
//! response, client request and response verification, head parsing.

use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, Version};
use oneport_http1::{Limits, parse_request, parse_response};
use oneport_rfc6455::handshake::{self, HandshakeError};
use oneport_rfc6455::{
    OriginPolicy, accept_key, check_origin, check_request, client_request, is_upgrade_request,
    response, select_protocol, verify_response,
};

fn base() -> http::request::Builder {
    Request::get("/chat")
        .header("Host", "server.example.com")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "13")
}

fn check(req: &Request<()>) -> Result<handshake::UpgradeRequest, HandshakeError> {
    check_request(req, &OriginPolicy::SameHost)
}

/// Rebuilds the base request with `name` removed or replaced.
fn with(name: &str, value: Option<&str>) -> Request<()> {
    let mut req = base().body(()).unwrap();
    req.headers_mut().remove(name);
    if let Some(v) = value {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    req
}

#[test]
fn rfc_worked_example_accept_key() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let res = response("dGhlIHNhbXBsZSBub25jZQ==", None);
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(res.headers()["upgrade"], "websocket");
    assert_eq!(res.headers()["connection"], "Upgrade");
    assert_eq!(
        res.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert!(res.headers().get("sec-websocket-protocol").is_none());
    let res = response("dGhlIHNhbXBsZSBub25jZQ==", Some("chat"));
    assert_eq!(res.headers()["sec-websocket-protocol"], "chat");
}

#[test]
fn valid_request_is_accepted() {
    let req = base()
        .header("Sec-WebSocket-Protocol", "chat, superchat")
        .header("Sec-WebSocket-Protocol", "v3")
        .header("Origin", "http://server.example.com")
        .body(())
        .unwrap();
    let up = check(&req).unwrap();
    assert_eq!(up.key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(up.protocols, ["chat", "superchat", "v3"]);
    assert!(is_upgrade_request(&req));
}

#[test]
fn token_lists_are_case_insensitive() {
    let req = with("Upgrade", Some("h2c, WebSocket"));
    assert!(check(&req).is_ok());
    assert!(is_upgrade_request(&req));
    let req = with("Connection", Some("keep-alive, UPGRADE"));
    assert!(check(&req).is_ok());
}

fn status_of(req: &Request<()>) -> StatusCode {
    check(req).unwrap_err().status()
}

#[test]
fn bad_requests_are_400() {
    let mut post = base().body(()).unwrap();
    *post.method_mut() = http::Method::POST;
    assert_eq!(check(&post), Err(HandshakeError::MethodNotGet));
    assert_eq!(status_of(&post), StatusCode::BAD_REQUEST);

    let mut old = base().body(()).unwrap();
    *old.version_mut() = Version::HTTP_10;
    assert_eq!(check(&old), Err(HandshakeError::NotHttp11));

    assert_eq!(check(&with("Host", None)), Err(HandshakeError::MissingHost));
    assert_eq!(
        check(&with("Upgrade", None)),
        Err(HandshakeError::NoUpgradeWebsocket)
    );
    assert!(!is_upgrade_request(&with("Upgrade", Some("h2c"))));
    assert_eq!(
        check(&with("Connection", Some("keep-alive"))),
        Err(HandshakeError::NoConnectionUpgrade)
    );
    for key in [
        None,
        Some("not base64!"),
        Some("AAAAAAAAAAAAAAAAAAAA"),         // 15 bytes
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAA=="), // 19 bytes
    ] {
        let req = with("Sec-WebSocket-Key", key);
        assert_eq!(check(&req), Err(HandshakeError::InvalidKey), "{key:?}");
        assert_eq!(status_of(&req), StatusCode::BAD_REQUEST);
        assert!(
            HandshakeError::InvalidKey
                .to_response()
                .headers()
                .is_empty()
        );
    }
    let twice = base()
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
        .unwrap();
    assert_eq!(check(&twice), Err(HandshakeError::InvalidKey));
}

#[test]
fn wrong_version_is_426_with_version_header() {
    for v in [Some("8"), Some("14"), Some("13, 8"), None] {
        let req = with("Sec-WebSocket-Version", v);
        let err = check(&req).unwrap_err();
        assert_eq!(err, HandshakeError::UnsupportedVersion, "{v:?}");
        let res = err.to_response();
        assert_eq!(res.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(res.headers()["sec-websocket-version"], "13");
    }
}

#[test]
fn origin_policies() {
    let from = |origin: &str| base().header("Origin", origin).body(()).unwrap();
    // No Origin passes every policy.
    let none = base().body(()).unwrap();
    for policy in [
        OriginPolicy::SameHost,
        OriginPolicy::AllowList(vec![]),
        OriginPolicy::Any,
    ] {
        assert!(check_request(&none, &policy).is_ok());
    }
    // SameHost.
    assert!(check(&from("https://server.example.com")).is_ok());
    assert!(check(&from("HTTP://Server.Example.COM")).is_ok());
    let err = check(&from("https://evil.example")).unwrap_err();
    assert_eq!(err, HandshakeError::OriginNotAllowed);
    assert_eq!(err.to_response().status(), StatusCode::FORBIDDEN);
    assert!(check(&from("null")).is_err());
    assert!(check(&from("https://server.example.com:8443")).is_err());
    // Default ports are ignored.
    let with_port = |host: &str, origin: &str| {
        let mut req = from(origin);
        req.headers_mut()
            .insert("host", HeaderValue::from_str(host).unwrap());
        check(&req)
    };
    assert!(with_port("a.example:80", "http://a.example").is_ok());
    assert!(with_port("a.example", "https://a.example:443").is_ok());
    assert!(with_port("a.example:8080", "http://a.example:8080").is_ok());
    assert!(with_port("a.example:8080", "http://a.example").is_err());
    assert!(with_port("a.example:443", "http://a.example").is_err());
    // AllowList and Any.
    let list = OriginPolicy::AllowList(vec!["https://a.example".into()]);
    assert!(check_request(&from("https://a.example"), &list).is_ok());
    assert!(check_request(&from("https://b.example"), &list).is_err());
    assert!(check_request(&from("http://a.example"), &list).is_err());
    assert!(check_request(&from("https://evil.example"), &OriginPolicy::Any).is_ok());
    assert!(check_origin(&from("https://evil.example"), &OriginPolicy::default()).is_err());
}

#[test]
fn subprotocol_selection_follows_client_order() {
    let offered: Vec<String> = vec!["b".into(), "a".into()];
    assert_eq!(select_protocol(&offered, &["a", "b"]), Some("b"));
    assert_eq!(select_protocol(&offered, &["a"]), Some("a"));
    assert_eq!(select_protocol(&offered, &["c"]), None);
    assert_eq!(select_protocol(&[], &["a"]), None);
}

#[test]
fn client_request_round_trips_through_the_server_checks() {
    let uri: Uri = "ws://example.com:9001/path?x=1".parse().unwrap();
    let mut extra = HeaderMap::new();
    extra.insert(
        "origin",
        HeaderValue::from_static("http://example.com:9001"),
    );
    extra.insert("sec-websocket-key", HeaderValue::from_static("ignored"));
    let (req, key) = client_request(&uri, &["v2", "v1"], &extra).unwrap();
    assert_eq!(req.uri(), "/path?x=1");
    assert_eq!(req.headers()["host"], "example.com:9001");
    let up = check(&req).unwrap();
    assert_eq!(up.key, key);
    assert_eq!(up.protocols, ["v2", "v1"]);

    let (_, other_key) = client_request(&uri, &[], &HeaderMap::new()).unwrap();
    assert_ne!(key, other_key, "keys are random");

    let chosen = select_protocol(&up.protocols, &["v1"]);
    let res = response(&up.key, chosen);
    assert_eq!(
        verify_response(&res, &key, &["v2", "v1"]),
        Ok(Some("v1".to_owned()))
    );
    let res = response(&up.key, None);
    assert_eq!(verify_response(&res, &key, &["v2", "v1"]), Ok(None));
}

#[test]
fn client_rejects_bad_answers() {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let wrong = response("AAAAAAAAAAAAAAAAAAAAAA==", None);
    assert_eq!(
        verify_response(&wrong, key, &[]),
        Err(HandshakeError::AcceptMismatch)
    );

    let unoffered = response(key, Some("mqtt"));
    assert_eq!(
        verify_response(&unoffered, key, &["chat"]),
        Err(HandshakeError::UnexpectedProtocol("mqtt".into()))
    );

    let mut ext = response(key, None);
    ext.headers_mut().insert(
        "sec-websocket-extensions",
        HeaderValue::from_static("permessage-deflate"),
    );
    assert_eq!(
        verify_response(&ext, key, &[]),
        Err(HandshakeError::UnexpectedExtension)
    );

    let mut refused = response(key, None);
    *refused.status_mut() = StatusCode::FORBIDDEN;
    assert_eq!(
        verify_response(&refused, key, &[]),
        Err(HandshakeError::UnexpectedStatus(StatusCode::FORBIDDEN))
    );

    let mut no_upgrade = response(key, None);
    no_upgrade.headers_mut().remove("upgrade");
    assert_eq!(
        verify_response(&no_upgrade, key, &[]),
        Err(HandshakeError::NoUpgradeWebsocket)
    );
}

#[test]
fn client_request_rejects_bad_urls_and_protocols() {
    let none = HeaderMap::new();
    let ftp: Uri = "ftp://a.example/".parse().unwrap();
    assert!(matches!(
        client_request(&ftp, &[], &none),
        Err(HandshakeError::UnsupportedScheme(_))
    ));
    let relative: Uri = "/just/a/path".parse().unwrap();
    assert!(matches!(
        client_request(&relative, &[], &none),
        Err(HandshakeError::InvalidUrl(_))
    ));
    let ok: Uri = "ws://a.example".parse().unwrap();
    assert!(matches!(
        client_request(&ok, &["has space"], &none),
        Err(HandshakeError::InvalidHeader(_))
    ));
    let (req, _) = client_request(&ok, &[], &none).unwrap();
    assert_eq!(req.uri(), "/");
}

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The RFC's sample request, parsed by the one HTTP codec the server uses,
/// passes the checks (under a policy that allows its foreign origin).
#[test]
fn the_rfc_sample_parsed_by_http1_passes_the_checks() {
    let mut bytes = REQUEST.to_vec();
    bytes.extend_from_slice(b"\x81\x85frame");
    let (head, len) = parse_request(&bytes, &Limits::default()).unwrap().unwrap();
    assert_eq!(len, REQUEST.len());
    let req = head.request;
    assert_eq!(req.uri(), "/chat");
    // The RFC sample's origin differs from its host.
    assert_eq!(check(&req), Err(HandshakeError::OriginNotAllowed));
    assert!(check_request(&req, &OriginPolicy::Any).is_ok());
}

/// The RFC's sample answer, parsed by the one HTTP codec the client uses,
/// verifies.
#[test]
fn the_rfc_sample_answer_parsed_by_http1_verifies() {
    let res = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let (head, len) = parse_response(res, &Limits::default()).unwrap().unwrap();
    assert_eq!(len, res.len());
    assert_eq!(
        verify_response(&head.response, "dGhlIHNhbXBsZSBub25jZQ==", &[]),
        Ok(None)
    );
}

fn deflate_on() -> oneport_rfc6455::Config {
    oneport_rfc6455::Config::default()
        .deflate(Some(oneport_rfc6455::deflate::DeflateConfig::default()))
}

#[test]
fn the_server_answers_the_first_offer_it_can_honour() {
    use oneport_rfc6455::negotiate;
    let req = with(
        "Sec-WebSocket-Extensions",
        Some(
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=10; client_max_window_bits",
        ),
    );
    let up = check(&req).unwrap();
    assert_eq!(up.extensions.len(), 3);
    let mut res = response(&up.key, None);
    let agreed = negotiate(&up, &deflate_on(), &mut res).expect("the third offer fits");
    assert_eq!(agreed.own_window_bits, 10);
    assert_eq!(
        res.headers()["sec-websocket-extensions"],
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
    );
    // Compression off: nothing is answered, whatever is offered.
    let mut res = response(&up.key, None);
    assert_eq!(
        negotiate(&up, &oneport_rfc6455::Config::default(), &mut res),
        None
    );
    assert!(!res.headers().contains_key("sec-websocket-extensions"));
    // Only offers that cannot be honoured: declined, not half-accepted.
    let req = with(
        "Sec-WebSocket-Extensions",
        Some("permessage-deflate; server_max_window_bits=16, permessage-deflate; bogus"),
    );
    let up = check(&req).unwrap();
    let mut res = response(&up.key, None);
    assert_eq!(negotiate(&up, &deflate_on(), &mut res), None);
    assert!(!res.headers().contains_key("sec-websocket-extensions"));
}

#[test]
fn a_malformed_extensions_header_is_400() {
    for bad in [
        "permessage-deflate;",
        "permessage-deflate; a=\"unterminated",
        ";;",
    ] {
        let err = check(&with("Sec-WebSocket-Extensions", Some(bad))).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[test]
fn the_client_offers_and_takes_a_fitting_answer() {
    use oneport_rfc6455::{negotiate, offer_extensions, verify_response_with};
    let uri: Uri = "ws://example.com/".parse().unwrap();
    let (mut req, key) = client_request(&uri, &[], &HeaderMap::new()).unwrap();
    offer_extensions(&deflate_on(), &mut req);
    assert_eq!(
        req.headers()["sec-websocket-extensions"],
        "permessage-deflate; client_no_context_takeover; client_max_window_bits"
    );
    let up = check_request(&req, &OriginPolicy::Any).unwrap();
    let mut res = response(&up.key, None);
    let server = negotiate(&up, &deflate_on(), &mut res).unwrap();
    let (_, client) = verify_response_with(&res, &key, &[], &deflate_on()).unwrap();
    let client = client.expect("agreed");
    assert_eq!(client.own_context, server.peer_context);
    assert_eq!(client.peer_context, server.own_context);
    // A client that offered nothing refuses an extension it is given.
    assert_eq!(
        verify_response(&res, &key, &[]),
        Err(HandshakeError::UnexpectedExtension)
    );
    // An answer that breaks the offer is refused.
    let mut bad = res.clone();
    bad.headers_mut().insert(
        "sec-websocket-extensions",
        HeaderValue::from_static("permessage-deflate; server_max_window_bits=16"),
    );
    assert!(matches!(
        verify_response_with(&bad, &key, &[], &deflate_on()),
        Err(HandshakeError::BadDeflateAnswer(_))
    ));
    bad.headers_mut().insert(
        "sec-websocket-extensions",
        HeaderValue::from_static("x-other"),
    );
    assert_eq!(
        verify_response_with(&bad, &key, &[], &deflate_on()),
        Err(HandshakeError::UnexpectedExtension)
    );
}
