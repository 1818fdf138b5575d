//! Errors that cross component boundaries.
//!
//! Data errors have exactly two classes. A [`ConsumeError::Permanent`] error means the
//! data can never be accepted (malformed, rejected by the destination): it is counted
//! and dropped, never retried. A [`ConsumeError::Retryable`] error means "not now"
//! (destination down, queue full, memory limit): the sender should try again, after
//! `throttle` when the refusing side said how long to wait.

use std::time::Duration;

/// The result of handing data to the next stage.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConsumeError {
    /// The data cannot be accepted, now or later.
    #[error("{message}")]
    Permanent {
        /// What went wrong, for logs and error responses.
        message: String,
    },
    /// The data cannot be accepted now; try again later.
    #[error("{message}")]
    Retryable {
        /// What went wrong, for logs and error responses.
        message: String,
        /// How long the refusing side asked the sender to wait, if it said.
        throttle: Option<Duration>,
    },
}

impl ConsumeError {
    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> Self {
        ConsumeError::Permanent {
            message: message.into(),
        }
    }

    /// A retryable error without a throttle delay.
    pub fn retryable(message: impl Into<String>) -> Self {
        ConsumeError::Retryable {
            message: message.into(),
            throttle: None,
        }
    }

    /// A retryable error that asks the sender to wait `delay` first.
    pub fn throttled(message: impl Into<String>, delay: Duration) -> Self {
        ConsumeError::Retryable {
            message: message.into(),
            throttle: Some(delay),
        }
    }

    /// Whether this error is permanent.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ConsumeError::Permanent { .. })
    }

    /// The throttle delay, if the refusing side gave one.
    pub fn throttle(&self) -> Option<Duration> {
        match self {
            ConsumeError::Retryable { throttle, .. } => *throttle,
            ConsumeError::Permanent { .. } => None,
        }
    }

    /// The message alone.
    pub fn message(&self) -> &str {
        match self {
            ConsumeError::Permanent { message } | ConsumeError::Retryable { message, .. } => {
                message
            }
        }
    }
}

/// A component failed to build, start or shut down.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ComponentError {
    message: String,
}

impl ComponentError {
    /// An error with a message naming what failed and why.
    pub fn new(message: impl Into<String>) -> Self {
        ComponentError {
            message: message.into(),
        }
    }
}

impl From<std::io::Error> for ComponentError {
    fn from(e: std::io::Error) -> Self {
        ComponentError::new(e.to_string())
    }
}
