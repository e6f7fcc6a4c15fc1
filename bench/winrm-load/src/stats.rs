//! Latency samples and their summary. Samples are microseconds in a vector capped at
//! [`MAX_SAMPLES`], enough for 10 minutes at 10,000 cycles per second.

/// The most samples one worker keeps; later ones are counted but not stored.
pub const MAX_SAMPLES: usize = 6_000_000;

#[derive(Default)]
pub struct Samples {
    micros: Vec<u32>,
    pub dropped: u64,
}

impl Samples {
    pub fn record(&mut self, micros: u64) {
        if self.micros.len() < MAX_SAMPLES {
            self.micros.push(micros.min(u32::MAX as u64) as u32);
        } else {
            self.dropped += 1;
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        self.dropped += other.dropped;
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// p50, p99, p99.9, max and mean in milliseconds (nearest-rank percentiles).
    pub fn summary(mut self) -> serde_json::Value {
        self.micros.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        let rank = |q: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let i = ((q * self.micros.len() as f64).ceil() as usize).clamp(1, self.micros.len());
            ms(self.micros[i - 1])
        };
        let mean = if self.micros.is_empty() {
            0.0
        } else {
            self.micros.iter().map(|&u| f64::from(u)).sum::<f64>()
                / self.micros.len() as f64
                / 1000.0
        };
        serde_json::json!({
            "p50": rank(0.50),
            "p99": rank(0.99),
            "p99_9": rank(0.999),
            "max": self.micros.last().map_or(0.0, |&u| ms(u)),
            "mean": mean,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_over_one_to_thousand() {
        let mut s = Samples::default();
        for us in (1..=1000).rev() {
            s.record(us * 1000);
        }
        let v = s.summary();
        assert_eq!(v["p50"], 500.0);
        assert_eq!(v["p99"], 990.0);
        assert_eq!(v["p99_9"], 999.0);
        assert_eq!(v["max"], 1000.0);
        assert_eq!(v["mean"], 500.5);
    }

    #[test]
    fn empty_summary_is_zero_not_a_panic() {
        assert_eq!(Samples::default().summary()["p99"], 0.0);
    }
}
