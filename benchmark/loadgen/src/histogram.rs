//! Latency histogram in microseconds: constant memory however long a run lasts.
//!
//! Values below 128 µs are exact; above, each power of two is split into 64 buckets,
//! so a reported percentile is within 1/64 (1.6%) of the true one.

const EXACT: u64 = 128;
const SUB_BUCKETS: u64 = 64;
/// 128 exact buckets, then 64 for each power of two from 2^7 up to 2^63.
const BUCKETS: usize = (EXACT + (64 - 7) * SUB_BUCKETS) as usize;

pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0 }
    }
}

fn index(value: u64) -> usize {
    if value < EXACT {
        return value as usize;
    }
    let exponent = 63 - u64::from(value.leading_zeros()); // >= 7
    let shift = exponent - 6;
    let mantissa = value >> shift; // in 64..128
    (EXACT + (shift - 1) * SUB_BUCKETS + (mantissa - SUB_BUCKETS)) as usize
}

/// The middle of a bucket's range.
fn value_at(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT {
        return index;
    }
    let shift = (index - EXACT) / SUB_BUCKETS + 1;
    let mantissa = (index - EXACT) % SUB_BUCKETS + SUB_BUCKETS;
    (mantissa << shift) + (1 << (shift - 1))
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.total += 1;
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at quantile `q` (0.0 to 1.0); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64 * q).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return value_at(i);
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_close() {
        let mut last = 0;
        for v in (0..2_000_000u64).step_by(7).chain([u64::MAX / 2, u64::MAX]) {
            let i = index(v);
            assert!(i < BUCKETS && i >= last, "monotonic at {v}");
            last = i;
            let back = value_at(i);
            assert!(back.abs_diff(v) <= v / 64 + 1, "{v} -> {back}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), 0);
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.len(), 100);
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        h.record(1_000_000);
        assert!(h.quantile(1.0).abs_diff(1_000_000) < 1_000_000 / 64);
    }
}
