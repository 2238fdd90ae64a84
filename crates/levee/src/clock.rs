//! Wall-clock time, in the forms the daemon's logs, files and protocol
//! timers use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock Unix seconds.
pub fn wall() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Wall-clock Unix seconds, with fractions.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}
