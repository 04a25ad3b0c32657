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

/// The eight bytes of `bytes` from `base` as a little-endian word (zeros
/// past the end), and the high bit of each of those that exist.
#[inline(always)]
fn load_word(bytes: &[u8], base: usize) -> (u64, u64) {
    let rest = bytes.get(base..).unwrap_or(&[]);
    if let Some(word) = rest.first_chunk::<8>() {
        return (u64::from_le_bytes(*word), HIGH);
    }
    let missing = 8 * (8 - rest.len().min(8) as u32);
    let word = match bytes.last_chunk::<8>() {
        // The last eight bytes, shifted so that the first of `rest` is lowest.
        Some(last) => u64::from_le_bytes(*last).checked_shr(missing).unwrap_or(0),
        None => rest.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    };
    (word, HIGH.checked_shr(missing).unwrap_or(0))
}

/// The positions of the bytes equal to `c` in a byte string, in order,
/// found a word (eight bytes) at a time.
pub(crate) struct Positions<'b> {
    bytes: &'b [u8],
    c: u8,
    /// Offset of the current word.
    base: usize,
    /// The matches in the current word not yet returned.
    mask: u64,
}

impl<'b> Positions<'b> {
    #[inline(always)]
    pub(crate) fn new(bytes: &'b [u8], c: u8) -> Self {
        let (word, valid) = load_word(bytes, 0);
        Positions {
            bytes,
            c,
            base: 0,
            mask: equal_to(word, c) & valid,
        }
    }
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 8;
            if self.base >= self.bytes.len() {
                return None;
            }
            let (word, valid) = load_word(self.bytes, self.base);
            self.mask = equal_to(word, self.c) & valid;
        }
        let at = self.base + (self.mask.trailing_zeros() / 8) as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
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
                let got: Vec<usize> = Positions::new(input, c).collect();
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
