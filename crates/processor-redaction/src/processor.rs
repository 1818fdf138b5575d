//! The running `redaction` processor: redacts each batch in place and passes it on.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::{
    BoxConsumer, Component, ConsumeError, Consumer, Destination, Prepared, Telemetry,
};

use crate::redact::Redactor;

/// A running `redaction` processor.
///
/// It holds nothing between calls: `consume` and two-phase `prepare` both redact the
/// batch and hand it to the next consumer the same way, and `destinations` are the
/// next consumer's, so an all-or-nothing fan-out and failover see through it.
pub struct RedactionProcessor {
    redactor: Redactor,
    next: BoxConsumer,
}

impl RedactionProcessor {
    /// A processor applying `redactor` before `next`.
    pub fn new(redactor: Redactor, next: BoxConsumer) -> Self {
        RedactionProcessor { redactor, next }
    }

    /// The rules it applies.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

#[async_trait]
impl Consumer for RedactionProcessor {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        self.redactor.redact(&mut data.payload);
        self.next.consume(data).await
    }

    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    /// Redacts, then reserves downstream. Data handed back by a refusal is the
    /// redacted batch: nothing removed or masked comes back. Offered to a redaction
    /// processor again, it is redacted again, as upstream does with data that passes
    /// two of them (summary counts add up; with a `hash_function`, values of keys
    /// matching `blocked_key_patterns` are hashed again).
    async fn prepare(&self, mut data: Telemetry) -> Prepared {
        self.redactor.redact(&mut data.payload);
        self.next.prepare(data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }

    /// A tap upstream shows its samples redacted by these same rules.
    fn redactor(&self) -> Option<stratus_core::tap::Redact> {
        let redactor = self.redactor.clone();
        Some(Arc::new(
            move |payload: &mut stratus_core::pdata::Payload| redactor.redact(payload),
        ))
    }
}

impl Component for RedactionProcessor {}
