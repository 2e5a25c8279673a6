//! Work on every core, results in input order, memory bounded: items are
//! gathered into a batch, the batch is worked on in parallel (rayon), and
//! the results are handed on in the order the items came. Used where a file
//! is read message by message and each message's output must follow the
//! file's order (`inspect --json`, `validate`).

use rayon::prelude::*;

/// A batch holds at most this many items…
pub const MAX_ITEMS: usize = 256;
/// …or this many bytes of input.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

pub struct Ordered<T, R, W, S>
where
    W: Fn(usize, &T) -> R + Sync,
    S: FnMut(R),
{
    batch: Vec<T>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
    /// Number of the batch's first item (0-based, over all items).
    first: usize,
    work: W,
    sink: S,
}

impl<T, R, W, S> Ordered<T, R, W, S>
where
    T: Sync,
    R: Send,
    W: Fn(usize, &T) -> R + Sync,
    S: FnMut(R),
{
    /// `work` gets each item with its number; `sink` gets the results in order.
    pub fn new(work: W, sink: S) -> Self {
        Self::with_limits(MAX_ITEMS, MAX_BYTES, work, sink)
    }

    /// [`Ordered::new`] with a smaller batch, for work whose results are
    /// much larger than its input.
    pub fn with_limits(max_items: usize, max_bytes: usize, work: W, sink: S) -> Self {
        Ordered {
            batch: Vec::new(),
            bytes: 0,
            max_items: max_items.max(1),
            max_bytes,
            first: 0,
            work,
            sink,
        }
    }

    /// Adds an item of `size` bytes; works the batch when it is full.
    pub fn push(&mut self, item: T, size: usize) {
        self.batch.push(item);
        self.bytes += size;
        if self.batch.len() >= self.max_items || self.bytes >= self.max_bytes {
            self.flush();
        }
    }

    /// Works what is left.
    pub fn finish(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let first = self.first;
        let work = &self.work;
        let results: Vec<R> = self
            .batch
            .par_iter()
            .enumerate()
            .map(|(i, t)| work(first + i, t))
            .collect();
        self.first += self.batch.len();
        self.batch.clear();
        self.bytes = 0;
        for r in results {
            (self.sink)(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_across_batches() {
        let mut out = Vec::new();
        let mut o = Ordered::new(|i, x: &usize| (i, x * 2), |r| out.push(r));
        for x in 0..1000 {
            o.push(x, 1);
        }
        o.finish();
        assert_eq!(out.len(), 1000);
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, &(n, v))| n == i && v == i * 2)
        );
    }
}
