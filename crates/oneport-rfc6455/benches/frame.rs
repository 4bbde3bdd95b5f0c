//! Frame codec throughput: decoding masked frames as a server, encoding,
//! unmasking and incremental UTF-8 validation. Figures are recorded in
//! `docs/rfc6455.md`.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use oneport_rfc6455::{
    Config, Connection, Fin, Message, OpCode, Role, Utf8Validator, apply_mask, apply_mask_bytewise,
    encode_frame,
};

const SIZES: [(&str, usize); 3] = [("16B", 16), ("1KiB", 1024), ("64KiB", 64 * 1024)];

/// Enough frames of `size` bytes to make about 64 KiB of payload.
fn frames_for(size: usize) -> usize {
    (64 * 1024 / size).max(1)
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_server_masked");
    for (name, size) in SIZES {
        for (kind, opcode) in [("binary", OpCode::Binary), ("text", OpCode::Text)] {
            let count = frames_for(size);
            let payload = vec![b'a'; size];
            let mut wire = BytesMut::new();
            for _ in 0..count {
                encode_frame(opcode, Fin::Final, Some([1, 2, 3, 4]), &payload, &mut wire);
            }
            group.throughput(Throughput::Bytes((size * count) as u64));
            group.bench_function(format!("{kind}/{name}"), |b| {
                b.iter_batched(
                    || wire.clone(),
                    |mut buf| {
                        let mut conn = Connection::new(Role::Server, Config::default());
                        while let Some(m) = conn.receive(&mut buf).unwrap() {
                            black_box(m);
                        }
                    },
                    BatchSize::LargeInput,
                );
            });
        }
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, size) in SIZES {
        let count = frames_for(size);
        let msg = Message::Binary(Bytes::from(vec![b'a'; size]));
        group.throughput(Throughput::Bytes((size * count) as u64));
        for (role_name, role) in [("server", Role::Server), ("client_masked", Role::Client)] {
            let mut out = BytesMut::with_capacity(count * (size + 14));
            group.bench_function(format!("{role_name}/{name}"), |b| {
                b.iter(|| {
                    let mut conn = Connection::new(role, Config::default());
                    out.clear();
                    for _ in 0..count {
                        conn.encode(&msg, &mut out).unwrap();
                    }
                    black_box(&out);
                });
            });
        }
    }
    group.finish();
}

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for (name, size) in [("1KiB", 1024), ("64KiB", 64 * 1024)] {
        let mut data = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("wide/{name}"), |b| {
            b.iter(|| apply_mask(black_box(&mut data), [1, 2, 3, 4], 0));
        });
        group.bench_function(format!("bytewise/{name}"), |b| {
            b.iter(|| apply_mask_bytewise(black_box(&mut data), [1, 2, 3, 4], 0));
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8_64KiB");
    let ascii = "a".repeat(64 * 1024);
    let multibyte = "é€𝄞x".repeat(64 * 1024 / 10);
    for (name, text) in [("ascii", &ascii), ("multibyte", &multibyte)] {
        let bytes = text.as_bytes();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("incremental/{name}"), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(bytes)).unwrap();
                v.finish().unwrap();
            });
        });
        // Fed in 1000-byte pieces that cut code points.
        group.bench_function(format!("incremental_pieces/{name}"), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(bytes).chunks(1000) {
                    v.feed(piece).unwrap();
                }
                v.finish().unwrap();
            });
        });
        group.bench_function(format!("std/{name}"), |b| {
            b.iter(|| std::str::from_utf8(black_box(bytes)).unwrap().len());
        });
    }
    group.finish();
}

mod group {
    // The macro generates an undocumented public function.
    #![allow(missing_docs)]
    criterion::criterion_group!(
        benches,
        super::decode,
        super::encode,
        super::unmask,
        super::utf8
    );
}
criterion_main!(group::benches);
