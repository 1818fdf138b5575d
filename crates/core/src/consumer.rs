//! The consumer interface data moves through.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ConsumeError;
use crate::pdata::Telemetry;

/// Anything that accepts telemetry: a processor, an exporter, a fan-out.
///
/// Data moves by value. A consumer returns once it has taken responsibility for the
/// data (queued it, passed it on, or written it), or with an error that tells the
/// caller whether to retry.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Takes one batch.
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError>;
}

/// A shared, type-erased consumer.
pub type BoxConsumer = Arc<dyn Consumer>;

/// Hands each batch to several consumers: the last one takes the original, the
/// others a clone. Every consumer is tried; the first error is returned, permanent
/// errors winning over retryable ones so a sender does not retry data that some
/// consumer will never take.
pub struct Fanout {
    consumers: Vec<BoxConsumer>,
}

impl Fanout {
    /// A fan-out to `consumers`. With one consumer, use it directly instead.
    pub fn new(consumers: Vec<BoxConsumer>) -> Self {
        Fanout { consumers }
    }

    /// One consumer for `consumers`: the consumer itself when there is one, a fan-out otherwise.
    pub fn wrap(mut consumers: Vec<BoxConsumer>) -> BoxConsumer {
        if consumers.len() == 1
            && let Some(only) = consumers.pop()
        {
            return only;
        }
        Arc::new(Fanout::new(consumers))
    }
}

#[async_trait]
impl Consumer for Fanout {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let Some((last, rest)) = self.consumers.split_last() else {
            return Ok(());
        };
        let mut result: Result<(), ConsumeError> = Ok(());
        let mut record = |r: Result<(), ConsumeError>| match (&result, r) {
            (_, Ok(())) => {}
            (Ok(()), Err(e)) => result = Err(e),
            (Err(prev), Err(e)) if !prev.is_permanent() && e.is_permanent() => result = Err(e),
            (Err(_), Err(_)) => {}
        };
        for consumer in rest {
            record(consumer.consume(data.clone()).await);
        }
        record(last.consume(data).await);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::{Payload, Telemetry};
    use std::sync::Mutex;

    struct Recorder(Mutex<usize>, Option<ConsumeError>);

    #[async_trait]
    impl Consumer for Recorder {
        async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
            *self.0.lock().unwrap() += 1;
            self.1.clone().map_or(Ok(()), Err)
        }
    }

    #[tokio::test]
    async fn fanout_reaches_all_and_prefers_permanent_errors() {
        let a = Arc::new(Recorder(
            Mutex::new(0),
            Some(ConsumeError::retryable("down")),
        ));
        let b = Arc::new(Recorder(
            Mutex::new(0),
            Some(ConsumeError::permanent("bad")),
        ));
        let c = Arc::new(Recorder(Mutex::new(0), None));
        let fan = Fanout::new(vec![a.clone(), b.clone(), c.clone()]);
        let err = fan
            .consume(Telemetry::new(Payload::Traces(vec![])))
            .await
            .unwrap_err();
        assert!(err.is_permanent());
        for r in [&a, &b, &c] {
            assert_eq!(*r.0.lock().unwrap(), 1);
        }
    }
}
