use bytes::BytesMut;

use super::*;
use crate::error::{Error, InvalidChunk};

/// The result of feeding `input` in the pieces that `cuts` delimits.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    body: Vec<u8>,
    consumed: usize,
    done: bool,
    error: Option<Error>,
}

fn feed(input: &[u8], limits: &Limits, cuts: &[usize]) -> Outcome {
    let mut dec = ChunkedDecoder::new(limits);
    let mut out = BytesMut::new();
    let mut consumed = 0;
    for end in cuts.iter().copied().chain([input.len()]) {
        // Like a server loop: unconsumed bytes stay in the buffer.
        while consumed < end && !dec.is_done() {
            match dec.decode(&input[consumed..end], &mut out) {
                Ok(0) => break,
                Ok(used) => consumed += used,
                Err(e) => {
                    return Outcome {
                        body: out.to_vec(),
                        consumed,
                        done: false,
                        error: Some(e),
                    };
                }
            }
        }
    }
    Outcome {
        body: out.to_vec(),
        consumed,
        done: dec.is_done(),
        error: None,
    }
}

/// Decodes `input` whole, at every single split point, and byte by byte,
/// and checks that all three agree. Returns the whole-input outcome.
fn decode_every_way(input: &[u8], limits: &Limits) -> Outcome {
    let whole = feed(input, limits, &[]);
    for cut in 0..=input.len() {
        let split = feed(input, limits, &[cut]);
        assert_outcome_eq(&split, &whole, &format!("split at {cut}"));
    }
    let cuts: Vec<usize> = (1..input.len()).collect();
    let bytewise = feed(input, limits, &cuts);
    assert_outcome_eq(&bytewise, &whole, "byte by byte");
    whole
}

fn assert_outcome_eq(got: &Outcome, want: &Outcome, what: &str) {
    assert_eq!(got.error, want.error, "{what}");
    if want.error.is_none() {
        assert_eq!(got, want, "{what}");
    }
}

fn ok(input: &[u8]) -> (Vec<u8>, usize) {
    let o = decode_every_way(input, &Limits::default());
    assert_eq!(o.error, None, "{:?}", String::from_utf8_lossy(input));
    assert!(o.done, "{:?}", String::from_utf8_lossy(input));
    (o.body, o.consumed)
}

fn err(input: &[u8]) -> Error {
    err_with(input, &Limits::default())
}

fn err_with(input: &[u8], limits: &Limits) -> Error {
    let o = decode_every_way(input, limits);
    o.error
        .clone()
        .unwrap_or_else(|| panic!("accepted {:?}: {o:?}", String::from_utf8_lossy(input)))
}

#[test]
fn rfc_style_body_with_extensions_and_trailers() {
    let input = b"4\r\nWiki\r\n5;a\r\npedia\r\nE ; ext = \"quoted \\\" \\\\ text\" ; b=tok\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\nX-Empty:\r\n\r\n";
    let (body, consumed) = ok(input);
    assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
    assert_eq!(consumed, input.len());
}

#[test]
fn stops_at_the_end_of_the_body() {
    let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    let (body, consumed) = ok(input);
    assert_eq!(body, b"abc");
    assert_eq!(&input[consumed..], b"GET / HTTP/1.1\r\n");
}

#[test]
fn accepts_size_forms() {
    let table: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"000\r\n\r\n", b""),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"0001\r\nx\r\n0\r\n\r\n", b"x"),
        (b"1;a=b;c;d=\"\"\r\nx\r\n0;last\r\n\r\n", b"x"),
        (b"1\t;\ta\t=\t\"\t\"\r\nx\r\n0\r\n\r\n", b"x"),
    ];
    for (input, want) in table {
        assert_eq!(ok(input).0, *want, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn rejects_bad_sizes() {
    let size = Error::InvalidChunk(InvalidChunk::Size);
    let table: &[(&[u8], Error)] = &[
        (b"\r\n", size.clone()),
        (b";a\r\n", size.clone()),
        (b"-1\r\n", size.clone()),
        (b"+1\r\n", size.clone()),
        (b"0x1\r\n", size.clone()),
        (b" 1\r\n", size.clone()),
        (b"g\r\n", size.clone()),
        (b"1\r\nx\r\n1x\r\n", size.clone()),
        (b"1 2\r\n", Error::InvalidChunk(InvalidChunk::Extension)),
        (b"1 \r\n", Error::InvalidChunk(InvalidChunk::Extension)),
        (
            b"10000000000000000\r\n",
            Error::InvalidChunk(InvalidChunk::SizeOverflow),
        ),
        (
            b"ffffffffffffffff0\r\n",
            Error::InvalidChunk(InvalidChunk::SizeOverflow),
        ),
    ];
    for (input, want) in table {
        let got = err(input);
        assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(got.status().as_u16(), 400);
    }
}

#[test]
fn rejects_bad_line_ends() {
    let newline = Error::InvalidChunk(InvalidChunk::NewLine);
    for input in [
        &b"1\nx\r\n0\r\n\r\n"[..],
        b"1\rx\r\n0\r\n\r\n",
        b"1\r\nx\n0\r\n\r\n",
        b"1\r\nxy\r\n0\r\n\r\n",
        b"1\r\nx\r\r\n0\r\n\r\n",
        b"0\r\n\r\r",
        b"0\r\nA: b\r\r\n\r\n",
        b"1;a=b\nx\r\n0\r\n\r\n",
        b"1;a=\"b\nx\r\n0\r\n\r\n",
    ] {
        assert_eq!(err(input), newline, "{:?}", String::from_utf8_lossy(input));
    }
    // A bare LF where the final CRLF belongs is not a trailer either.
    assert_eq!(err(b"0\r\n\n"), Error::InvalidChunk(InvalidChunk::Trailer));
}

#[test]
fn rejects_bad_extensions() {
    let ext = Error::InvalidChunk(InvalidChunk::Extension);
    for input in [
        &b"1;\r\n"[..],
        b"1;=v\r\n",
        b"1;a=\r\n",
        b"1;a b\r\n",
        b"1;a \r\n",
        b"1;a=b c\r\n",
        b"1;a=\"x\r\n",
        b"1;a=\"x\"y\r\n",
        b"1;a=\"\x01\"\r\n",
        b"1;a=\"\\\x01\"\r\n",
        b"1;a@b\r\n",
        b"1;a=b@\r\n",
    ] {
        assert_eq!(err(input), ext, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn rejects_bad_trailers() {
    let trailer = Error::InvalidChunk(InvalidChunk::Trailer);
    for input in [
        &b"0\r\n folded\r\n\r\n"[..],
        b"0\r\nA: b\r\n c\r\n\r\n",
        b"0\r\nNoColon\r\n\r\n",
        b"0\r\nA : b\r\n\r\n",
        b"0\r\nA: \x01\r\n\r\n",
        b"0\r\n:\r\n\r\n",
    ] {
        assert_eq!(err(input), trailer, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn chunk_line_limit_is_inclusive_of_crlf() {
    let limits = Limits::default().max_chunk_line_bytes(8);
    // "0001;a\r\n" is exactly 8 bytes.
    let o = decode_every_way(b"0001;a\r\nx\r\n0\r\n\r\n", &limits);
    assert!(o.done && o.error.is_none(), "{o:?}");
    let got = err_with(b"00001;a\r\nx\r\n0\r\n\r\n", &limits);
    assert_eq!(
        got,
        Error::InvalidChunk(InvalidChunk::LineTooLong { max: 8 })
    );
    assert_eq!(got.status().as_u16(), 400);
    // Leading zeros cannot make a line endless.
    let mut zeros = vec![b'0'; 5000];
    zeros.extend_from_slice(b"\r\n\r\n");
    assert!(matches!(
        err(&zeros),
        Error::InvalidChunk(InvalidChunk::LineTooLong { max: 1024 })
    ));
}

#[test]
fn body_limit_counts_all_chunks() {
    let limits = Limits::default().max_body_bytes(5);
    let o = decode_every_way(b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n", &limits);
    assert_eq!(o.body, b"abcde");
    let got = err_with(b"2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n", &limits);
    assert_eq!(got, Error::BodyTooLarge { size: 6, max: 5 });
    assert_eq!(got.status().as_u16(), 413);
    // A huge size is refused before any of its data is read.
    let got = err(b"ffffffffffffffff\r\n");
    assert_eq!(
        got,
        Error::BodyTooLarge {
            size: u64::MAX,
            max: 1024 * 1024
        }
    );
}

#[test]
fn trailer_limit_excludes_the_final_crlf() {
    let limits = Limits::default().max_trailer_bytes(6);
    // "A: b\r\n" is 6 bytes; the last "\r\n" is not a trailer.
    let o = decode_every_way(b"0\r\nA: b\r\n\r\n", &limits);
    assert!(o.done && o.error.is_none(), "{o:?}");
    let o = decode_every_way(b"0\r\n\r\n", &Limits::default().max_trailer_bytes(0));
    assert!(o.done && o.error.is_none(), "{o:?}");
    let got = err_with(b"0\r\nA: bc\r\n\r\n", &limits);
    assert_eq!(got, Error::TrailersTooLarge { max: 6 });
    assert_eq!(got.status().as_u16(), 431);
}

#[test]
fn incomplete_input_is_not_done() {
    for input in [
        &b""[..],
        b"5",
        b"5\r\nab",
        b"5\r\nabcde\r\n",
        b"0\r\n",
        b"0\r\nA: b\r\n",
    ] {
        let o = decode_every_way(input, &Limits::default());
        assert_eq!(o.error, None);
        assert!(!o.done, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(o.consumed, input.len());
    }
}

#[test]
fn errors_poison_the_decoder() {
    let mut dec = ChunkedDecoder::new(&Limits::default());
    let mut out = BytesMut::new();
    assert!(dec.decode(b"z", &mut out).is_err());
    let poisoned = Err(Error::InvalidChunk(InvalidChunk::Poisoned));
    assert_eq!(dec.decode(b"0\r\n\r\n", &mut out), poisoned);
    assert_eq!(dec.decode(b"", &mut out), poisoned);
    assert!(!dec.is_done());
}

#[test]
fn done_decoder_consumes_nothing() {
    let mut dec = ChunkedDecoder::new(&Limits::default());
    let mut out = BytesMut::new();
    assert_eq!(dec.decode(b"1\r\na\r\n0\r\n\r\n", &mut out), Ok(11));
    assert!(dec.is_done());
    assert_eq!(dec.body_bytes(), 1);
    assert_eq!(dec.decode(b"more", &mut out), Ok(0));
    assert_eq!(&out[..], b"a");
}

#[test]
fn encoder_output_decodes() {
    let mut wire = BytesMut::new();
    let chunks: [&[u8]; 4] = [b"hello", b"", &[0xAB; 300], b"!"];
    for c in chunks {
        encode_chunk(c, &mut wire);
    }
    encode_last_chunk(&mut wire);
    assert!(wire.starts_with(b"5\r\nhello\r\n12c\r\n"));
    let (body, consumed) = ok(&wire);
    assert_eq!(consumed, wire.len());
    assert_eq!(body, chunks.concat());
}
