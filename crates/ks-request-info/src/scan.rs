//! The query's byte-class scan, written in the form the compiler
//! vectorizes. (Searches for one byte use `memchr`.)

/// Whether `bytes` holds a byte that is an error in a query (`;`, `#`,
/// control characters), and whether it holds a `%` or `+`.
///
/// Sixteen bytes a step, over a fixed-size array: the form the compiler
/// vectorizes (SSE2 on x86-64) without a scalar tail, the last step
/// overlapping the one before. Kept out of line: inlined into a larger
/// loop, the same code tends to stay scalar.
#[inline(never)]
pub(crate) fn query_flags(bytes: &[u8]) -> (bool, bool) {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn step(chunk: &[u8; 16], bad: &mut [u8; 16], encoded: &mut [u8; 16]) {
        for j in 0..16 {
            let b = chunk[j];
            bad[j] |= u8::from((b < 0x20) | (b == 0x7f) | (b == b'#') | (b == b';'));
            encoded[j] |= u8::from((b == b'%') | (b == b'+'));
        }
    }
    let (mut bad, mut encoded) = ([0u8; 16], [0u8; 16]);
    let mut chunks = bytes.chunks_exact(16);
    for chunk in chunks.by_ref() {
        if let Some(chunk) = chunk.first_chunk::<16>() {
            step(chunk, &mut bad, &mut encoded);
        }
    }
    if !chunks.remainder().is_empty() {
        match bytes.last_chunk::<16>() {
            Some(last) => step(last, &mut bad, &mut encoded),
            None => {
                let mut padded = [b'a'; 16];
                for (slot, &b) in padded.iter_mut().zip(bytes) {
                    *slot = b;
                }
                step(&padded, &mut bad, &mut encoded);
            }
        }
    }
    (bad != [0; 16], encoded != [0; 16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_match_a_naive_scan() {
        for len in 0..40 {
            for at in 0..len {
                for (b, want) in [
                    (b';', (true, false)),
                    (b'#', (true, false)),
                    (0, (true, false)),
                    (0x1f, (true, false)),
                    (0x7f, (true, false)),
                    (b'%', (false, true)),
                    (b'+', (false, true)),
                    (b'&', (false, false)),
                    (0x80, (false, false)),
                    (b' ', (false, false)),
                ] {
                    let mut input = vec![b'x'; len];
                    input[at] = b;
                    assert_eq!(query_flags(&input), want, "{len} {at} {b}");
                }
            }
            assert_eq!(query_flags(&vec![b'x'; len]), (false, false));
        }
    }
}
