//! Measures of JSON values used to bound a patch's work. All iterative, so
//! no document can exhaust the stack through them.

use std::io;

use serde_json::Value;

/// The nesting depth of `value`: 0 for a scalar, 1 + the deepest member for
/// an array or object (so `{}` and `[]` are 1).
pub(super) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0_usize)];
    while let Some((value, above)) = pending.pop() {
        let members: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        let here = above + 1;
        deepest = deepest.max(here);
        pending.extend(members.map(|member| (member, here)));
    }
    deepest
}

/// The length of `value` serialized as compact JSON, if at most `limit`
/// bytes; `None` as soon as it is known to be longer.
pub(super) fn json_len_within(value: &Value, limit: usize) -> Option<usize> {
    let mut counter = ByteCounter { len: 0, limit };
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.len)
}

/// A writer that only counts, and fails once past its limit (which stops
/// serialization early).
struct ByteCounter {
    len: usize,
    limit: usize,
}

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len = self.len.saturating_add(buf.len());
        if self.len > self.limit {
            Err(io::Error::other("size limit exceeded"))
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON type of `value`, for messages.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
