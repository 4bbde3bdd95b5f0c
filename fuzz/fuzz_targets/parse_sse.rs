//! Feeds arbitrary bytes to the event-stream parser in one piece and in
//! pseudo-random splits: the events, the error kind, the last event ID and
//! the retry must not depend on the splits. Events that parse are encoded
//! again and must parse back to themselves.
//!
//! Input layout: the first byte picks the limits and the split pattern; the
//! rest is the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use oneport_sse::{Event, ParseError, ParsedEvent, Parser, ParserLimits};

fn drain(p: &mut Parser, out: &mut Vec<ParsedEvent>) {
    while let Some(ev) = p.poll_event() {
        out.push(ev);
    }
}

/// Feeds `data` in chunks of 1..=`max_chunk` bytes chosen by a xorshift
/// generator seeded with `seed`; stops at the first error.
fn feed_in_chunks(
    p: &mut Parser,
    data: &[u8],
    mut seed: u32,
    max_chunk: usize,
) -> (Vec<ParsedEvent>, Option<ParseError>) {
    let mut events = Vec::new();
    let mut at = 0;
    while at < data.len() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = 1 + (seed as usize) % max_chunk;
        let end = (at + n).min(data.len());
        let result = p.feed(&data[at..end]);
        drain(p, &mut events);
        if let Err(e) = result {
            return (events, Some(e));
        }
        at = end;
    }
    (events, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&ctl, data)) = input.split_first() else {
        return;
    };
    let limits = if ctl & 1 == 0 {
        ParserLimits::default()
    } else {
        // Small limits so that both errors are reached.
        ParserLimits::default()
            .max_line_len(usize::from(ctl >> 2) + 1)
            .max_data_len(usize::from(ctl) + 1)
    };

    let mut whole = Parser::new(limits.clone());
    let whole_result = whole.feed(data);
    let mut want = Vec::new();
    drain(&mut whole, &mut want);
    let want_err = whole_result.err();

    let max_chunk = if ctl & 2 == 0 { 1 } else { 17 };
    let mut split = Parser::new(limits);
    let (got, got_err) = feed_in_chunks(&mut split, data, u32::from(ctl) | 0x100, max_chunk);

    assert_eq!(got, want, "events depend on the split");
    assert_eq!(
        got_err.map(|e| std::mem::discriminant(&e)),
        want_err.map(|e| std::mem::discriminant(&e)),
        "error depends on the split"
    );
    if want_err.is_none() {
        assert_eq!(split.last_event_id(), whole.last_event_id());
        assert_eq!(split.retry(), whole.retry());
    }

    // After an error the parser stays failed with the same error.
    if let Some(err) = want_err {
        assert_eq!(whole.feed(b"data: x\n\n"), Err(err));
        assert!(whole.poll_event().is_none());
    }

    // encode(parse(x)) parses back to the same events.
    let mut wire = BytesMut::new();
    let mut kept = Vec::new();
    for ev in &want {
        assert!(!ev.event_type.is_empty());
        assert!(!ev.last_event_id.contains('\0'));
        // The parser keeps NUL in event types, which the builder refuses.
        let Ok(event) = Event::new(ev.data.clone()).event(ev.event_type.clone()) else {
            continue;
        };
        let Ok(event) = event.id(ev.last_event_id.clone()) else {
            panic!("a parsed id is always a valid id");
        };
        event.encode(&mut wire);
        kept.push(ev.clone());
    }
    let mut again = Parser::default();
    assert!(again.feed(&wire).is_ok());
    let mut reparsed = Vec::new();
    drain(&mut again, &mut reparsed);
    assert_eq!(reparsed, kept, "re-encoded events differ");
});
