//! permessage-deflate (RFC 7692) negotiation, sans-IO: what a server
//! accepts from a client's offers, what a client offers, and whether a
//! server's answer may be taken.
//!
//! Rules kept here, each from RFC 7692 §7.1:
//! - every offer is judged on its own, in the client's order; the first one
//!   that can be honoured whole is accepted, the rest declined;
//! - an offer with an unknown, repeated or out-of-range parameter is
//!   declined, never half-accepted;
//! - `server_no_context_takeover` in an offer must be echoed;
//! - `server_max_window_bits=N` is answered with N or less. zlib-style raw
//!   deflate has no 8-bit window (zlib and zlib-rs refuse it, or silently
//!   use 9, which would break the promise); an 8-bit window is honoured by
//!   sending stored blocks, which refer back to nothing, so the offer is
//!   kept whole rather than declined;
//! - `client_max_window_bits` may be answered only if it was offered, and
//!   then always with a value.
//!
//! The parameters are decided here; the private `codec` module does the
//! compressing, for [`Connection`](crate::Connection).

mod codec;

pub(crate) use codec::Codec;
#[cfg(feature = "tokio")]
pub(crate) use codec::compress_fresh;

use crate::extension::Extension;

/// The extension's token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The largest LZ77 window, in bits, that RFC 7692 allows (and the default).
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest window a peer may announce (RFC 7692 §7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The smallest window this crate compresses with; a window of
/// [`MIN_WINDOW_BITS`] (8) is honoured with stored blocks (level 0).
pub const MIN_COMPRESS_WINDOW_BITS: u8 = 9;
/// Default for [`DeflateConfig::level`]: 6, zlib's own default, which
/// browsers and Node's `ws` use too.
pub const DEFAULT_LEVEL: u8 = 6;
/// Default for [`DeflateConfig::min_size`]: 1024 bytes, the threshold
/// Node's `ws` uses: below it the deflate overhead and the CPU rarely pay.
pub const DEFAULT_MIN_SIZE: usize = 1024;

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// Whether the compression context is kept from one message to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextTakeover {
    /// Kept: better ratios, a window's worth of memory held per connection.
    Keep,
    /// Reset after each message: memory only while a message is worked on.
    Reset,
}

/// What one side is willing to do, and asks of its peer, and how it
/// compresses. The same struct serves a server (judging offers) and a
/// client (making one); set it as [`Config::deflate`](crate::Config::deflate)
/// to switch compression on.
///
/// The default is lean: this side compresses every message from a fresh
/// context ([`ContextTakeover::Reset`], so no compressor is held between
/// messages and a broadcast is compressed once for all its peers), while
/// the peer may keep its context (the better ratio for what it sends; it
/// costs this side a decompressor of the peer's window between messages).
/// `docs/benchmarks.md` has the measured cost of each setting.
///
/// ```
/// use oneport_rfc6455::Config;
/// use oneport_rfc6455::deflate::DeflateConfig;
///
/// let config = Config::default().deflate(Some(DeflateConfig::default()));
/// assert!(config.deflate.is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The context this side keeps when it compresses. Default
    /// [`ContextTakeover::Reset`]: nothing is kept between messages (a
    /// server announces `server_no_context_takeover`, a client offers
    /// `client_no_context_takeover`).
    pub own_context: ContextTakeover,
    /// The context this side asks its peer to keep. Default
    /// [`ContextTakeover::Keep`].
    pub peer_context: ContextTakeover,
    /// The window this side compresses with at most, 9 to 15. Default 15.
    pub own_max_window_bits: u8,
    /// The window this side asks its peer to compress with at most, 8 to
    /// 15. Default 15 (nothing asked).
    pub peer_max_window_bits: u8,
    /// The deflate level, 0 (stored) to 9 (smallest). Default
    /// [`DEFAULT_LEVEL`] (6).
    pub level: u8,
    /// Messages shorter than this go out uncompressed. Default
    /// [`DEFAULT_MIN_SIZE`] (1024 bytes).
    pub min_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            own_context: ContextTakeover::Reset,
            peer_context: ContextTakeover::Keep,
            own_max_window_bits: MAX_WINDOW_BITS,
            peer_max_window_bits: MAX_WINDOW_BITS,
            level: DEFAULT_LEVEL,
            min_size: DEFAULT_MIN_SIZE,
        }
    }
}

/// The parameters both sides agreed on, from one side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The context kept by the side that sends (compresses).
    pub own_context: ContextTakeover,
    /// The context kept by the peer when it compresses.
    pub peer_context: ContextTakeover,
    /// The window this side compresses with.
    pub own_window_bits: u8,
    /// The most window the peer compresses with (what inflating needs).
    pub peer_window_bits: u8,
}

/// Why a client refuses a server's permessage-deflate answer: each means
/// the connection must be failed (RFC 7692 §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeflateAnswerError {
    /// The server enabled permessage-deflate, which was not offered.
    #[error("permessage-deflate was enabled without an offer")]
    NotOffered,
    /// The server named permessage-deflate more than once.
    #[error("permessage-deflate was enabled twice")]
    Repeated,
    /// An unknown or repeated parameter, or a bad value.
    #[error("bad permessage-deflate parameter {0:?}")]
    BadParameter(String),
    /// The answer breaks what was offered (a window larger than asked, a
    /// window parameter not offered, a context kept that was asked reset).
    #[error("permessage-deflate answer breaks the offer: {0}")]
    BreaksOffer(&'static str),
}

/// One offer's or answer's parameters, each at most once and in range.
#[derive(Debug, Default, Clone, Copy)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// Why one element's parameters were refused: the name of the first bad one.
fn parse_params(e: &Extension) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    for (k, v) in &e.params {
        let bad = || k.clone();
        let bits = |v: &Option<String>| -> Result<Option<u8>, String> {
            match v {
                None => Ok(None),
                Some(v) => match v.parse::<u8>() {
                    // Digits only: "+9" or "09" are not the RFC's 1*DIGIT
                    // without leading zeros.
                    Ok(n)
                        if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&n)
                            && !v.starts_with(['0', '+']) =>
                    {
                        Ok(Some(n))
                    }
                    _ => Err(bad()),
                },
            }
        };
        match k.to_ascii_lowercase().as_str() {
            SERVER_NO_CONTEXT_TAKEOVER if v.is_none() && !p.server_no_context_takeover => {
                p.server_no_context_takeover = true;
            }
            CLIENT_NO_CONTEXT_TAKEOVER if v.is_none() && !p.client_no_context_takeover => {
                p.client_no_context_takeover = true;
            }
            SERVER_MAX_WINDOW_BITS if p.server_max_window_bits.is_none() => {
                // A value is required here.
                p.server_max_window_bits = Some(bits(v)?.ok_or_else(bad)?);
            }
            CLIENT_MAX_WINDOW_BITS if p.client_max_window_bits.is_none() => {
                p.client_max_window_bits = Some(bits(v)?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(p)
}

fn is_deflate(e: &Extension) -> bool {
    e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)
}

impl DeflateConfig {
    /// Server: the first of the client's offers that can be honoured whole,
    /// with the answer to send (one [`Extension`] for
    /// `Sec-WebSocket-Extensions`), or `None` to go uncompressed.
    /// Offers of other extensions are skipped.
    pub fn accept(&self, offers: &[Extension]) -> Option<(DeflateParams, Extension)> {
        offers
            .iter()
            .filter(|e| is_deflate(e))
            .find_map(|e| self.accept_one(e))
    }

    fn accept_one(&self, offer: &Extension) -> Option<(DeflateParams, Extension)> {
        let o = parse_params(offer).ok()?;
        let mut own_bits = self.own_max_window_bits.min(MAX_WINDOW_BITS);
        if let Some(n) = o.server_max_window_bits {
            own_bits = own_bits.min(n);
        }
        let own_context = if o.server_no_context_takeover {
            ContextTakeover::Reset
        } else {
            self.own_context
        };
        let peer_context = if o.client_no_context_takeover {
            ContextTakeover::Reset
        } else {
            self.peer_context
        };
        // What the client will compress with: its own limit if it gave one,
        // lowered to ours if it let us ask.
        let (peer_bits, answer_peer_bits) = match o.client_max_window_bits {
            None => (MAX_WINDOW_BITS, None),
            Some(limit) => {
                let limit = limit.unwrap_or(MAX_WINDOW_BITS);
                let ours = self
                    .peer_max_window_bits
                    .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
                let bits = limit.min(ours);
                (bits, (bits < limit).then_some(bits))
            }
        };
        let mut params = Vec::new();
        if own_context == ContextTakeover::Reset {
            params.push((SERVER_NO_CONTEXT_TAKEOVER.to_owned(), None));
        }
        if peer_context == ContextTakeover::Reset {
            params.push((CLIENT_NO_CONTEXT_TAKEOVER.to_owned(), None));
        }
        if own_bits < MAX_WINDOW_BITS || o.server_max_window_bits.is_some() {
            params.push((
                SERVER_MAX_WINDOW_BITS.to_owned(),
                Some(own_bits.to_string()),
            ));
        }
        if let Some(bits) = answer_peer_bits {
            params.push((CLIENT_MAX_WINDOW_BITS.to_owned(), Some(bits.to_string())));
        }
        let agreed = DeflateParams {
            own_context,
            peer_context,
            own_window_bits: own_bits,
            peer_window_bits: peer_bits,
        };
        Some((
            agreed,
            Extension {
                name: PERMESSAGE_DEFLATE.to_owned(),
                params,
            },
        ))
    }

    /// Client: the one offer this config makes. It always lists
    /// `client_max_window_bits`, so a server may ask for a smaller window.
    pub fn offer(&self) -> Extension {
        let mut params = Vec::new();
        if self.peer_context == ContextTakeover::Reset {
            params.push((SERVER_NO_CONTEXT_TAKEOVER.to_owned(), None));
        }
        if self.own_context == ContextTakeover::Reset {
            params.push((CLIENT_NO_CONTEXT_TAKEOVER.to_owned(), None));
        }
        let peer_bits = self
            .peer_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        if peer_bits < MAX_WINDOW_BITS {
            params.push((
                SERVER_MAX_WINDOW_BITS.to_owned(),
                Some(peer_bits.to_string()),
            ));
        }
        let own_bits = self
            .own_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let own_value = (own_bits < MAX_WINDOW_BITS).then(|| own_bits.to_string());
        params.push((CLIENT_MAX_WINDOW_BITS.to_owned(), own_value));
        Extension {
            name: PERMESSAGE_DEFLATE.to_owned(),
            params,
        }
    }

    /// Client: the parameters a server's answer sets, given that
    /// [`offer`](Self::offer) was sent, or `Ok(None)` if the server declined.
    /// Other extensions in `answer` are left to the caller.
    pub fn check_answer(
        &self,
        answer: &[Extension],
    ) -> Result<Option<DeflateParams>, DeflateAnswerError> {
        let mut found = answer.iter().filter(|e| is_deflate(e));
        let Some(e) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(DeflateAnswerError::Repeated);
        }
        let a = parse_params(e).map_err(DeflateAnswerError::BadParameter)?;
        let offered_peer_bits = self
            .peer_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let peer_bits = a.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        if peer_bits > offered_peer_bits {
            return Err(DeflateAnswerError::BreaksOffer(
                "server window larger than offered",
            ));
        }
        if self.peer_context == ContextTakeover::Reset && !a.server_no_context_takeover {
            return Err(DeflateAnswerError::BreaksOffer(
                "server context kept though asked reset",
            ));
        }
        let offered_own_bits = self
            .own_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let own_bits = match a.client_max_window_bits {
            None => offered_own_bits,
            Some(None) => {
                return Err(DeflateAnswerError::BadParameter(
                    CLIENT_MAX_WINDOW_BITS.to_owned(),
                ));
            }
            Some(Some(n)) => n.min(offered_own_bits),
        };
        let own_context =
            if a.client_no_context_takeover || self.own_context == ContextTakeover::Reset {
                ContextTakeover::Reset
            } else {
                ContextTakeover::Keep
            };
        let peer_context = if a.server_no_context_takeover {
            ContextTakeover::Reset
        } else {
            ContextTakeover::Keep
        };
        Ok(Some(DeflateParams {
            own_context,
            peer_context,
            own_window_bits: own_bits,
            peer_window_bits: peer_bits,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::{format_extensions, parse_list};

    fn list(s: &str) -> Vec<Extension> {
        let mut out = Vec::new();
        parse_list(s, &mut out).expect("valid list");
        out
    }

    /// The server's answer to `offers`, as the header text it would send.
    fn answer(config: DeflateConfig, offers: &str) -> Option<(DeflateParams, String)> {
        config
            .accept(&list(offers))
            .map(|(p, e)| (p, format_extensions(&[e])))
    }

    const RESET: ContextTakeover = ContextTakeover::Reset;
    const KEEP: ContextTakeover = ContextTakeover::Keep;

    /// RFC 7692's own defaults: both contexts kept.
    fn rfc_default() -> DeflateConfig {
        DeflateConfig {
            own_context: KEEP,
            ..DeflateConfig::default()
        }
    }

    #[test]
    fn the_default_keeps_no_compressor_and_says_so() {
        let d = DeflateConfig::default();
        assert_eq!((d.own_context, d.peer_context), (RESET, KEEP));
        assert_eq!((d.level, d.min_size), (DEFAULT_LEVEL, DEFAULT_MIN_SIZE));
        assert_eq!((DEFAULT_LEVEL, DEFAULT_MIN_SIZE), (6, 1024));
        // The server may announce server_no_context_takeover unasked
        // (RFC 7692 §7.1.1.1); a client announces its own.
        let (_, text) = answer(d, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(text, "permessage-deflate; server_no_context_takeover");
        assert_eq!(
            format_extensions(&[d.offer()]),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
    }

    #[test]
    fn accepts_what_chromium_offers() {
        let (p, text) =
            answer(rfc_default(), "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(text, "permessage-deflate");
        assert_eq!(
            p,
            DeflateParams {
                own_context: KEEP,
                peer_context: KEEP,
                own_window_bits: 15,
                peer_window_bits: 15
            }
        );
    }

    #[test]
    fn honours_each_parameter_of_an_offer() {
        let (p, text) = answer(
            rfc_default(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
        )
        .unwrap();
        // The client's own client_max_window_bits is its promise; answering
        // it is not needed when we ask nothing smaller.
        assert_eq!(
            text,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(
            p,
            DeflateParams {
                own_context: RESET,
                peer_context: RESET,
                own_window_bits: 10,
                peer_window_bits: 12
            }
        );
    }

    #[test]
    fn asks_for_what_the_server_is_configured_to() {
        let config = DeflateConfig {
            own_context: RESET,
            peer_context: RESET,
            own_max_window_bits: 11,
            peer_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let (p, text) = answer(config, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(
            text,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10"
        );
        assert_eq!(p.peer_window_bits, 10);
        // Without client_max_window_bits offered, we may not ask for it, and
        // must inflate a full window.
        let (p, text) = answer(config, "permessage-deflate").unwrap();
        assert!(!text.contains(CLIENT_MAX_WINDOW_BITS), "{text}");
        assert_eq!(p.peer_window_bits, 15);
    }

    #[test]
    fn an_eight_bit_window_is_honoured_not_declined() {
        let (p, text) = answer(
            rfc_default(),
            "permessage-deflate; server_max_window_bits=8",
        )
        .unwrap();
        assert_eq!(p.own_window_bits, 8);
        assert_eq!(text, "permessage-deflate; server_max_window_bits=8");
        let client = rfc_default();
        let agreed = client
            .check_answer(&list("permessage-deflate; client_max_window_bits=8"))
            .unwrap()
            .unwrap();
        assert_eq!(agreed.own_window_bits, 8);
    }

    #[test]
    fn declines_a_bad_offer_and_takes_the_next() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=x",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
        ] {
            assert_eq!(answer(rfc_default(), bad), None, "{bad}");
            let (p, text) = answer(
                rfc_default(),
                &format!("x-other, {bad}, permessage-deflate; server_max_window_bits=9"),
            )
            .unwrap_or_else(|| panic!("no fallback after {bad}"));
            assert_eq!(
                (p.own_window_bits, text.as_str()),
                (9, "permessage-deflate; server_max_window_bits=9")
            );
        }
        assert_eq!(answer(rfc_default(), "x-other"), None);
    }

    #[test]
    fn client_takes_a_fitting_answer() {
        let config = rfc_default();
        assert_eq!(
            format_extensions(&[config.offer()]),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(config.check_answer(&[]), Ok(None));
        assert_eq!(
            config.check_answer(&list(
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"
            )),
            Ok(Some(DeflateParams {
                own_context: KEEP,
                peer_context: KEEP,
                own_window_bits: 10,
                peer_window_bits: 12
            }))
        );
        assert_eq!(
            config.check_answer(&list("permessage-deflate; client_no_context_takeover")),
            Ok(Some(DeflateParams {
                own_context: RESET,
                peer_context: KEEP,
                own_window_bits: 15,
                peer_window_bits: 15
            }))
        );
    }

    #[test]
    fn client_refuses_an_answer_that_breaks_its_offer() {
        let strict = DeflateConfig {
            peer_context: RESET,
            peer_max_window_bits: 10,
            ..rfc_default()
        };
        assert_eq!(
            format_extensions(&[strict.offer()]),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"
        );
        let ok = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
        assert!(strict.check_answer(&list(ok)).unwrap().is_some());
        for (bad, why) in [
            ("permessage-deflate; server_max_window_bits=10", "context"),
            ("permessage-deflate; server_no_context_takeover", "window"),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                "window",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
                "value",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; x=1",
                "unknown",
            ),
            (&format!("{ok}, {ok}"), "twice"),
        ] {
            assert!(
                strict.check_answer(&list(bad)).is_err(),
                "{why}: {bad} was taken"
            );
        }
    }

    #[test]
    fn each_client_offer_is_accepted_as_asked() {
        // Every pairing of configs: what the server agrees is what the
        // client reads from the answer, mirrored.
        let contexts = [KEEP, RESET];
        for own_context in contexts {
            for peer_context in contexts {
                for own_max_window_bits in [9, 12, 15] {
                    for peer_max_window_bits in [8, 11, 15] {
                        let client = DeflateConfig {
                            own_context,
                            peer_context,
                            own_max_window_bits,
                            peer_max_window_bits,
                            ..DeflateConfig::default()
                        };
                        for server in [
                            rfc_default(),
                            DeflateConfig {
                                own_context: RESET,
                                peer_context: RESET,
                                own_max_window_bits: 10,
                                peer_max_window_bits: 9,
                                ..DeflateConfig::default()
                            },
                        ] {
                            let (s, answer) = server
                                .accept(&[client.offer()])
                                .unwrap_or_else(|| panic!("{client:?} declined by {server:?}"));
                            let c = client
                                .check_answer(&[answer])
                                .expect("the client takes the server's answer")
                                .unwrap();
                            assert_eq!(
                                (c.own_context, c.peer_context, c.own_window_bits),
                                (s.peer_context, s.own_context, s.peer_window_bits),
                                "{client:?} with {server:?}"
                            );
                            assert_eq!(c.peer_window_bits, s.own_window_bits);
                        }
                    }
                }
            }
        }
    }
}
