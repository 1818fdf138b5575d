//! The consumer interface data moves through.
//!
//! Data moves by value through [`Consumer::consume`]. Consumers that buffer (the
//! exporters' sending queues, the batch processor) can also take data in two phases,
//! [`Consumer::prepare`] then [`Admission::commit`], so that a fan-out admits a batch
//! into every consumer or into none: a refusal then never duplicates data into the
//! consumers that would have taken it, and the refused data comes back whole to the
//! caller (which can retry it without having kept a copy).

use std::sync::Arc;

use async_trait::async_trait;

use crate::delivery::Destination;
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

    /// Whether [`Consumer::prepare`] reserves room (rather than answering
    /// [`Prepared::Unsupported`]). Fixed for the consumer's life. Default `false`.
    fn can_prepare(&self) -> bool {
        false
    }

    /// The first phase of an all-or-nothing hand-over: holds room for `data` without
    /// letting any of it go further.
    ///
    /// - [`Prepared::Ready`]: the room is held. [`Admission::commit`] hands the data
    ///   over; dropping the admission gives the room back and the data is gone from
    ///   this consumer as if never offered.
    /// - [`Prepared::Refused`]: no room (or another refusal); nothing was taken, and
    ///   the data comes back.
    /// - [`Prepared::Unsupported`]: this consumer cannot reserve; the caller uses
    ///   [`Consumer::consume`]. The default.
    async fn prepare(&self, data: Telemetry) -> Prepared {
        Prepared::Unsupported(data)
    }

    /// The destinations this consumer's data ends up at (the exporters behind it),
    /// with their health: how the failover connector sees that a level's destination
    /// is down before the exporters' queues fill. Default: none known.
    fn destinations(&self) -> Vec<Arc<Destination>> {
        Vec::new()
    }

    /// What this consumer removes or masks, for those who look at the data before
    /// it: a tap upstream of a redaction processor shows its samples through it.
    /// Default: nothing.
    fn redactor(&self) -> Option<crate::tap::Redact> {
        None
    }
}

/// The answer to [`Consumer::prepare`].
pub enum Prepared {
    /// Room is held until the admission is committed or dropped.
    Ready(Box<dyn Admission>),
    /// Refused; nothing was taken. The data is handed back.
    Refused(ConsumeError, Telemetry),
    /// The consumer cannot reserve; call [`Consumer::consume`] with the data.
    Unsupported(Telemetry),
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prepared::Ready(_) => f.write_str("Ready"),
            Prepared::Refused(e, _) => write!(f, "Refused({e})"),
            Prepared::Unsupported(_) => f.write_str("Unsupported"),
        }
    }
}

/// Room held by [`Consumer::prepare`].
#[async_trait]
pub trait Admission: Send {
    /// Hands the data over. An error is possible only where the consumer waits for
    /// the outcome (an exporter with `wait_for_result`): the room was taken, and the
    /// error is the export's.
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError>;
}

/// Several admissions committed together, in order; the first error is returned.
struct Admissions(Vec<Box<dyn Admission>>);

#[async_trait]
impl Admission for Admissions {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        let mut result = Ok(());
        for admission in self.0 {
            if let Err(e) = admission.commit().await {
                keep_first(&mut result, e);
            }
        }
        result
    }
}

/// Data refused by [`offer`], handed back when the consumer did not take any of it.
#[derive(Debug)]
pub struct Refusal {
    /// Why.
    pub error: ConsumeError,
    /// The data, when nothing of it was taken; `None` when the consumer could not
    /// reserve and its `consume` failed (it may have taken part of it).
    pub data: Option<Telemetry>,
}

/// Hands `data` to `consumer` in two phases where it can reserve, so a refusal gives
/// the data back unharmed; through `consume` otherwise.
pub async fn offer(consumer: &dyn Consumer, data: Telemetry) -> Result<(), Refusal> {
    match consumer.prepare(data).await {
        Prepared::Ready(admission) => admission
            .commit()
            .await
            .map_err(|error| Refusal { error, data: None }),
        Prepared::Refused(error, data) => Err(Refusal {
            error,
            data: Some(data),
        }),
        Prepared::Unsupported(data) => consumer
            .consume(data)
            .await
            .map_err(|error| Refusal { error, data: None }),
    }
}

/// A shared, type-erased consumer.
pub type BoxConsumer = Arc<dyn Consumer>;

/// Records `e` unless an error is already kept; a permanent error replaces a
/// retryable one, so a sender does not retry data that some consumer will never take.
fn keep_first(result: &mut Result<(), ConsumeError>, e: ConsumeError) {
    match result {
        Ok(()) => *result = Err(e),
        Err(prev) if !prev.is_permanent() && e.is_permanent() => *result = Err(e),
        Err(_) => {}
    }
}

/// Hands each batch to several consumers, all or nothing where they can reserve.
///
/// 1. Every consumer that can reserve ([`Consumer::can_prepare`]: the exporters'
///    sending queues) is asked for room. If one refuses, the room held in the others
///    is given back and the batch is refused as a whole: no consumer got it, so the
///    sender's retry duplicates nothing.
/// 2. Consumers that cannot reserve (a pipeline with processors, a connector) get the
///    batch through `consume`, one after the other. If one refuses retryably, the
///    held room is given back and the batch refused; consumers of this kind that took
///    it before the refusal do get it again when the sender retries. A fan-out with
///    at most one such consumer is therefore still all or nothing. A permanent
///    refusal (this consumer will never take the data) does not keep it from the
///    others: it is returned once they all had it.
/// 3. The held room is committed.
///
/// The last consumer takes the original, the others a clone. The first error is
/// returned, permanent errors winning over retryable ones.
pub struct Fanout {
    consumers: Vec<BoxConsumer>,
    /// Whether every consumer can reserve.
    all_prepare: bool,
}

impl Fanout {
    /// A fan-out to `consumers`. With one consumer, use it directly instead.
    pub fn new(consumers: Vec<BoxConsumer>) -> Self {
        let all_prepare = consumers.iter().all(|c| c.can_prepare());
        Fanout {
            consumers,
            all_prepare,
        }
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

    /// Phase 1: room in every consumer that can reserve. On a refusal, the room held
    /// so far is released (dropped) and the refused data returned.
    #[allow(clippy::type_complexity)]
    async fn reserve_all(
        &self,
        data: Telemetry,
    ) -> Result<(Vec<Box<dyn Admission>>, Vec<(usize, Telemetry)>), (ConsumeError, Telemetry)> {
        let n = self.consumers.len();
        let mut held = Vec::with_capacity(n);
        let mut direct = Vec::new();
        let mut data = Some(data);
        for (i, consumer) in self.consumers.iter().enumerate() {
            let Some(batch) = (if i + 1 < n { data.clone() } else { data.take() }) else {
                break;
            };
            if !consumer.can_prepare() {
                direct.push((i, batch));
                continue;
            }
            match consumer.prepare(batch).await {
                Prepared::Ready(a) => held.push(a),
                Prepared::Unsupported(batch) => direct.push((i, batch)),
                Prepared::Refused(e, batch) => return Err((e, data.unwrap_or(batch))),
            }
        }
        Ok((held, direct))
    }
}

#[async_trait]
impl Consumer for Fanout {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let (held, direct) = self.reserve_all(data).await.map_err(|(e, _)| e)?;
        let mut result = Ok(());
        for (i, batch) in direct {
            match self.consumers[i].consume(batch).await {
                Ok(()) => {}
                // This consumer never takes the data; the others still get it.
                Err(e) if e.is_permanent() => keep_first(&mut result, e),
                Err(e) => {
                    // Release the room held in the others: they do not get the batch,
                    // so the sender's retry duplicates nothing there.
                    drop(held);
                    return Err(e);
                }
            }
        }
        for admission in held {
            if let Err(e) = admission.commit().await {
                keep_first(&mut result, e);
            }
        }
        result
    }

    fn can_prepare(&self) -> bool {
        self.all_prepare
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        if !self.all_prepare {
            return Prepared::Unsupported(data);
        }
        match self.reserve_all(data).await {
            Ok((held, _)) => Prepared::Ready(Box::new(Admissions(held))),
            Err((e, data)) => Prepared::Refused(e, data),
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.consumers
            .iter()
            .flat_map(|c| c.destinations())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::{Payload, Telemetry};
    use std::sync::Mutex;

    /// Takes batches through `consume` only, or refuses them.
    struct Direct(Mutex<usize>, Option<ConsumeError>);

    #[async_trait]
    impl Consumer for Direct {
        async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
            *self.0.lock().unwrap() += 1;
            self.1.clone().map_or(Ok(()), Err)
        }
    }

    /// A consumer with room for `room` batches, held at prepare and taken at commit.
    struct Queue {
        room: Mutex<usize>,
        taken: Mutex<usize>,
    }

    impl Queue {
        fn new(room: usize) -> Arc<Queue> {
            Arc::new(Queue {
                room: Mutex::new(room),
                taken: Mutex::new(0),
            })
        }
        fn taken(&self) -> usize {
            *self.taken.lock().unwrap()
        }
        fn room(&self) -> usize {
            *self.room.lock().unwrap()
        }
    }

    struct Held(Arc<Queue>, bool);

    impl Drop for Held {
        fn drop(&mut self) {
            if !self.1 {
                *self.0.room.lock().unwrap() += 1;
            }
        }
    }

    #[async_trait]
    impl Admission for Held {
        async fn commit(mut self: Box<Self>) -> Result<(), ConsumeError> {
            self.1 = true;
            *self.0.taken.lock().unwrap() += 1;
            Ok(())
        }
    }

    struct QueueConsumer(Arc<Queue>);

    #[async_trait]
    impl Consumer for QueueConsumer {
        async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
            match self.prepare(data).await {
                Prepared::Ready(a) => a.commit().await,
                Prepared::Refused(e, _) => Err(e),
                Prepared::Unsupported(_) => unreachable!(),
            }
        }
        fn can_prepare(&self) -> bool {
            true
        }
        async fn prepare(&self, data: Telemetry) -> Prepared {
            let mut room = self.0.room.lock().unwrap();
            if *room == 0 {
                return Prepared::Refused(ConsumeError::retryable("full"), data);
            }
            *room -= 1;
            Prepared::Ready(Box::new(Held(self.0.clone(), false)))
        }
    }

    fn spans() -> Telemetry {
        Telemetry::new(Payload::Traces(vec![Default::default()]))
    }

    #[tokio::test]
    async fn a_full_queue_refuses_the_batch_for_every_queue_of_the_fanout() {
        let (a, b) = (Queue::new(10), Queue::new(1));
        let fan = Fanout::new(vec![
            Arc::new(QueueConsumer(a.clone())),
            Arc::new(QueueConsumer(b.clone())),
        ]);
        assert!(fan.can_prepare());
        fan.consume(spans()).await.unwrap();
        assert_eq!((a.taken(), b.taken()), (1, 1));
        // B is full: A must not take the batch the sender will send again.
        let err = fan.consume(spans()).await.unwrap_err();
        assert!(!err.is_permanent());
        assert_eq!((a.taken(), b.taken()), (1, 1), "no duplicate in A");
        assert_eq!(a.room(), 9, "the room held in A was given back");
        // Two-phase through the fan-out: refused data comes back whole.
        match fan.prepare(spans()).await {
            Prepared::Refused(_, data) => assert_eq!(data.item_count(), 0),
            other => panic!("{other:?}"),
        }
        assert_eq!(a.room(), 9);
    }

    #[tokio::test]
    async fn a_direct_consumer_refusing_releases_the_queues() {
        let a = Queue::new(10);
        let d = Arc::new(Direct(Mutex::new(0), Some(ConsumeError::retryable("down"))));
        let fan = Fanout::new(vec![Arc::new(QueueConsumer(a.clone())), d.clone()]);
        assert!(!fan.can_prepare());
        assert!(matches!(
            fan.prepare(spans()).await,
            Prepared::Unsupported(_)
        ));
        assert!(fan.consume(spans()).await.is_err());
        assert_eq!(
            a.taken(),
            0,
            "the queue did not get a batch that was refused"
        );
        assert_eq!(a.room(), 10);
        assert_eq!(*d.0.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn permanent_refusals_do_not_keep_data_from_the_others() {
        let a = Queue::new(10);
        let bad = Arc::new(Direct(Mutex::new(0), Some(ConsumeError::permanent("bad"))));
        let ok = Arc::new(Direct(Mutex::new(0), None));
        let fan = Fanout::new(vec![
            bad.clone(),
            ok.clone(),
            Arc::new(QueueConsumer(a.clone())),
        ]);
        let err = fan.consume(spans()).await.unwrap_err();
        assert!(err.is_permanent());
        assert_eq!(*ok.0.lock().unwrap(), 1);
        assert_eq!(a.taken(), 1);
    }
}
