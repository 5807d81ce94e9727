//! Consumers' certificates passed in `x-vp-auth-cert` by a TLS-terminating load balancer,
//! each read once.
//!
//! Behind a load balancer (NTjP's own set-up, and `tests/haproxy.rs`) every request carries
//! the consumer's whole certificate, and VP decodes and parses it per request to find the
//! HSA-id: counted with callgrind (`benches/instructions-per-request.sh --auth-cert`) that was
//! about 94,000 instructions, nearly half of all the router did per request. The same few
//! certificates come again and again, so the HSA-id found for a header value is kept, keyed by
//! the value's exact bytes: a later request with the same bytes gets the same answer a parse
//! would give, for the price of one hash of the value. Only values that gave an HSA-id are
//! kept; a refused one is parsed (and refused) every time, with VP's fault.
//!
//! Bounded, since a whitelisted caller may send any bytes: at most [`MAX_ENTRIES`] values and
//! [`MAX_BYTES`] of them; past either the cache is emptied and fills again from the values
//! that still come. Not here: what the header may hold and the faults (`pipeline`).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use dashmap::DashMap;
use http::HeaderValue;

/// Most header values kept.
pub const MAX_ENTRIES: usize = 1024;

/// Most bytes of header values kept (a certificate in base64 is about 1.3 KB).
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The HSA-id a header value names, and that HSA-id as a header value (towards producers).
pub type Sender = (Arc<str>, Option<HeaderValue>);

/// Header value → [`Sender`].
#[derive(Default)]
pub struct AuthCertCache {
    known: DashMap<Box<[u8]>, Sender, foldhash::fast::RandomState>,
    bytes: AtomicUsize,
}

impl AuthCertCache {
    /// The HSA-id for the header value `value`: kept from an earlier request with the same
    /// bytes, else from `parse` (kept when it succeeds).
    pub fn sender<E>(
        &self,
        value: &HeaderValue,
        parse: impl FnOnce() -> Result<String, E>,
    ) -> Result<Sender, E> {
        if let Some(found) = self.known.get(value.as_bytes()) {
            return Ok(found.value().clone());
        }
        let sender: Arc<str> = parse()?.into();
        let entry = (sender.clone(), HeaderValue::from_str(&sender).ok());
        let size = value.as_bytes().len() + sender.len();
        if self.known.len() >= MAX_ENTRIES
            || self.bytes.load(Ordering::Relaxed).saturating_add(size) > MAX_BYTES
        {
            self.known.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        if size <= MAX_BYTES
            && self
                .known
                .insert(value.as_bytes().into(), entry.clone())
                .is_none()
        {
            self.bytes.fetch_add(size, Ordering::Relaxed);
        }
        Ok(entry)
    }

    /// How many header values are kept.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_parsed_once_and_a_refused_one_every_time() {
        let cache = AuthCertCache::default();
        let value = HeaderValue::from_static("MIIcert-of-a");
        let mut parses = 0;
        for _ in 0..3 {
            let (id, header) = cache
                .sender(&value, || -> Result<String, ()> {
                    parses += 1;
                    Ok("SE123-A".into())
                })
                .unwrap();
            assert_eq!(
                (&*id, header.unwrap()),
                ("SE123-A", HeaderValue::from_static("SE123-A"))
            );
        }
        assert_eq!(parses, 1);
        let bad = HeaderValue::from_static("garbage");
        for _ in 0..2 {
            assert_eq!(
                cache.sender(&bad, || Err::<String, _>("VP002")),
                Err("VP002")
            );
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn it_never_holds_more_than_its_bounds() {
        let cache = AuthCertCache::default();
        for i in 0..(MAX_ENTRIES * 3) {
            let value = HeaderValue::from_str(&format!("MII{i}")).unwrap();
            cache
                .sender(&value, || Ok::<_, ()>(format!("SE{i}")))
                .unwrap();
            assert!(cache.len() <= MAX_ENTRIES);
        }
        let big = HeaderValue::from_str(&"M".repeat(MAX_BYTES / 3)).unwrap();
        for i in 0..5 {
            let value = HeaderValue::from_str(&format!("{}{i}", big.to_str().unwrap())).unwrap();
            cache.sender(&value, || Ok::<_, ()>("SE".into())).unwrap();
            assert!(cache.bytes.load(Ordering::Relaxed) <= MAX_BYTES);
        }
    }
}
