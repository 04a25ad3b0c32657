//! Byte searches over whole words, in safe and portable code.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES << 7;
const LOW7: u64 = !HIGH;

/// The high bit of each byte of `word` equal to `c`, exactly.
#[inline(always)]
fn equal_to(word: u64, c: u8) -> u64 {
    let x = word ^ (ONES * u64::from(c));
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// Calls `f` with the offset of each byte of `bytes` equal to `c`, in
/// order, stopping at the first error. Eight bytes a step; the last step
/// reads the final eight bytes shifted so that it starts where the one
/// before ended (or, for fewer than eight bytes in all, a zero-padded word).
#[inline(always)]
pub(crate) fn try_for_each_position<E>(
    bytes: &[u8],
    c: u8,
    mut f: impl FnMut(usize) -> Result<(), E>,
) -> Result<(), E> {
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in words.by_ref() {
        if let Some(word) = word.first_chunk::<8>() {
            let mut mask = equal_to(u64::from_le_bytes(*word), c);
            while mask != 0 {
                f(base + (mask.trailing_zeros() / 8) as usize)?;
                mask &= mask - 1;
            }
        }
        base += 8;
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return Ok(());
    }
    // The bytes past the end of `bytes` read as zero: shifted out of the
    // last full word, or never written into the padded one. A zero byte
    // could match `c == 0`, so only the real bytes' positions count.
    let missing = 8 * (8 - rest.len() as u32);
    let word = match bytes.last_chunk::<8>() {
        Some(last) => u64::from_le_bytes(*last) >> missing,
        None => rest.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    };
    let mut mask = equal_to(word, c) & (HIGH >> missing);
    while mask != 0 {
        f(base + (mask.trailing_zeros() / 8) as usize)?;
        mask &= mask - 1;
    }
    Ok(())
}

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
    fn positions_match_a_naive_search() {
        let mut inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"&".to_vec(),
            b"watch=1&labelSelector=a&limit=5&x".to_vec(),
            "\u{e9}&\u{ff}&\u{80}\u{a6}&".as_bytes().to_vec(),
            b"&\x80&\xa6&\xff\x26&\0\0&".to_vec(),
        ];
        for len in 0..40 {
            inputs.push(
                (0..len)
                    .map(|i| if i % 3 == 0 { b'&' } else { b'a' })
                    .collect(),
            );
            inputs.push(
                (0..len)
                    .map(|i| if i % 7 == 6 { b'&' } else { 0 })
                    .collect(),
            );
        }
        for input in &inputs {
            for c in [b'&', b'=', b'a', 0x80, 0xa6, 0xff, 0] {
                let want: Vec<usize> = (0..input.len()).filter(|&i| input[i] == c).collect();
                let mut got = Vec::new();
                let none: Result<(), ()> = try_for_each_position(input, c, |at| {
                    got.push(at);
                    Ok(())
                });
                assert_eq!(none, Ok(()));
                assert_eq!(got, want, "{input:?} {c}");
            }
        }
    }

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
