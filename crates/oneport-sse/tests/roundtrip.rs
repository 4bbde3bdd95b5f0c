//! Encode-then-parse round trips for arbitrary events and arbitrary read
//! splits, and split-independence of the parser on arbitrary bytes.

use std::time::Duration;

use bytes::BytesMut;
use oneport_sse::{Event, ParseError, ParsedEvent, Parser, ParserLimits};
use proptest::prelude::*;

/// Text rich in the characters that matter to the format: every kind of
/// line break, colons, spaces, NUL, non-ASCII, and a BOM character.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-c :\r\n\u{0}é\u{FEFF}]{0,24}", any::<String>(),]
}

/// Single-line text, as `event` and `id` accept.
fn single_line() -> impl Strategy<Value = String> {
    prop_oneof!["[a-c :é\u{FEFF}]{0,12}", "[^\r\n\u{0}]{0,12}"]
}

#[derive(Clone, Debug)]
struct Spec {
    data: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        proptest::option::weighted(0.8, text()),
        proptest::option::of(single_line()),
        proptest::option::of(single_line()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(text()),
    )
        .prop_map(|(data, event, id, retry, comment)| Spec {
            data,
            event,
            id,
            retry,
            comment,
        })
}

fn build(s: &Spec) -> Event {
    let mut ev = match &s.data {
        Some(d) => Event::new(d.clone()),
        None => Event::default(),
    };
    if let Some(e) = &s.event {
        ev = ev.event(e.clone()).unwrap();
    }
    if let Some(id) = &s.id {
        ev = ev.id(id.clone()).unwrap();
    }
    if let Some(r) = s.retry {
        ev = ev.retry(r);
    }
    if let Some(c) = &s.comment {
        ev = ev.comment(c.clone());
    }
    ev
}

/// CRLF, CR and LF all become LF: the only change a round trip makes.
fn normalize(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// What a conforming parser must produce for `specs`, plus the final last
/// event ID and retry.
fn expected(specs: &[Spec]) -> (Vec<ParsedEvent>, String, Option<Duration>) {
    let mut last_id = String::new();
    let mut retry = None;
    let mut events = Vec::new();
    for s in specs {
        if let Some(id) = &s.id {
            last_id = id.clone();
        }
        if let Some(r) = s.retry {
            retry = Some(Duration::from_millis(r));
        }
        if let Some(data) = &s.data {
            events.push(ParsedEvent {
                event_type: match s.event.as_deref() {
                    None | Some("") => "message".to_owned(),
                    Some(e) => e.to_owned(),
                },
                data: normalize(data),
                last_event_id: last_id.clone(),
            });
        }
    }
    (events, last_id, retry)
}

/// Feeds `input` cut at `cuts` (positions taken modulo the length), polling
/// after every feed.
fn feed_split(
    parser: &mut Parser,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<ParsedEvent>, Option<ParseError>) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut events = Vec::new();
    let mut at = 0;
    for p in points {
        let result = parser.feed(&input[at..p]);
        events.extend(std::iter::from_fn(|| parser.poll_event()));
        at = p;
        if let Err(e) = result {
            return (events, Some(e));
        }
    }
    (events, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_parse_round_trips(
        specs in proptest::collection::vec(spec(), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        for s in &specs {
            build(s).encode(&mut wire);
        }
        let (want, want_id, want_retry) = expected(&specs);
        let mut parser = Parser::default();
        let (got, err) = feed_split(&mut parser, &wire, &cuts);
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, want);
        prop_assert_eq!(parser.last_event_id(), want_id.as_str());
        prop_assert_eq!(parser.retry(), want_retry);
    }

    #[test]
    fn splits_never_change_the_result(
        input in proptest::collection::vec(
            prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(0u8),
                Just(0xEF), Just(0xBB), Just(0xBF), any::<u8>(),
                Just(b'd'), Just(b'a'), Just(b't'), Just(b'i'), Just(b'e'),
            ],
            0..200,
        ),
        words in proptest::collection::vec(
            prop_oneof![Just("data"), Just("id"), Just("event"), Just("retry"), Just("12")],
            0..10,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        max_line in 1usize..40,
        max_data in 1usize..60,
    ) {
        // Sprinkle field names so that fields are actually recognised.
        let mut input = input;
        for (i, w) in words.iter().enumerate() {
            let at = (i * 37) % (input.len() + 1);
            input.splice(at..at, w.bytes());
        }
        for limits in [
            ParserLimits::default(),
            ParserLimits::default().max_line_len(max_line).max_data_len(max_data),
        ] {
            let mut whole = Parser::new(limits.clone());
            let (want, want_err) = feed_split(&mut whole, &input, &[]);
            let mut split = Parser::new(limits.clone());
            let (got, got_err) = feed_split(&mut split, &input, &cuts);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(
                got_err.map(|e| std::mem::discriminant(&e)),
                want_err.map(|e| std::mem::discriminant(&e))
            );
            if want_err.is_none() {
                prop_assert_eq!(split.last_event_id(), whole.last_event_id());
                prop_assert_eq!(split.retry(), whole.retry());
            }
            let mut bytewise = Parser::new(limits);
            let every: Vec<usize> = (0..input.len()).collect();
            let (got, got_err) = feed_split(&mut bytewise, &input, &every);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(got_err.is_some(), want_err.is_some());
        }
    }

    #[test]
    fn parsed_events_encode_back_to_themselves(
        input in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut p = Parser::default();
        p.feed(&input).unwrap();
        let events: Vec<ParsedEvent> = std::iter::from_fn(|| p.poll_event()).collect();
        let mut wire = BytesMut::new();
        let mut reencoded = Vec::new();
        for e in &events {
            // The parser keeps NUL in event types, which the builder refuses.
            let Ok(ev) = Event::new(e.data.clone()).event(e.event_type.clone()) else {
                continue;
            };
            ev.id(e.last_event_id.clone()).unwrap().encode(&mut wire);
            reencoded.push(e.clone());
        }
        let mut q = Parser::default();
        q.feed(&wire).unwrap();
        let again: Vec<ParsedEvent> = std::iter::from_fn(|| q.poll_event()).collect();
        prop_assert_eq!(again, reencoded);
    }
}
