//! [`ConfigError`]: what every step reports, from reading the file to
//! applying the command line. It names the place and the key, so that a
//! bad configuration is refused at start with the line to fix.

use std::fmt;

/// A configuration error, naming the key (or flag) that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: `FILE` or `FILE:LINE:COL`, or `command line`.
    pub place: String,
    /// The key, e.g. `server.listen[1]`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.place, self.message)
        } else {
            write!(f, "{}: {}: {}", self.place, self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}
