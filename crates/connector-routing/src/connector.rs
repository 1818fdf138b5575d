//! The running `routing` connector: plans a batch, splits it, hands each part to its
//! route's pipelines.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::telemetry::Counter;
use stratus_core::{
    Admission, BoxConsumer, Component, ConsumeError, Consumer, Destination, Prepared, Telemetry,
};

use crate::router::{Plan, Table, split};

/// A running `routing` connector for one signal.
pub struct Router {
    pub(crate) table: Table,
    /// One consumer per distinct set of pipelines (a fan-out when several).
    pub(crate) targets: Vec<BoxConsumer>,
    pub(crate) dropped: Counter,
    /// Whether every target can reserve.
    pub(crate) all_prepare: bool,
}

/// What routing made of a batch.
enum Routed {
    /// Nothing to hand over (every item dropped, or no items): `dropped` items.
    Nothing(u64),
    /// One target takes what is left of the batch.
    One(usize, Telemetry, u64),
    /// Several targets take a part each.
    Many(Vec<(usize, Telemetry)>, u64),
}

impl Router {
    /// Where each item of `data` goes.
    fn plan(&self, data: &Telemetry) -> Result<Plan, ConsumeError> {
        self.table
            .plan(&data.payload, &data.metadata)
            .map_err(|e| ConsumeError::permanent(format!("routing connector: {e}")))
    }

    /// Splits `data` by `plan`.
    fn route(&self, data: Telemetry, plan: &Plan) -> Routed {
        if let Some(target) = plan.uniform() {
            return match target {
                Some(t) => Routed::One(usize::from(t), data, 0),
                None => Routed::Nothing(data.item_count() as u64),
            };
        }
        let Telemetry { payload, metadata } = data;
        let payload = payload.into_payload();
        let s = split(payload, plan, self.targets.len());
        let mut parts: Vec<(usize, Telemetry)> = s
            .parts
            .into_iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(t, p)| (t, Telemetry::with_metadata(p, metadata.clone())))
            .collect();
        match parts.len() {
            0 => Routed::Nothing(s.dropped),
            1 => {
                let (t, part) = parts.remove(0);
                Routed::One(t, part, s.dropped)
            }
            _ => Routed::Many(parts, s.dropped),
        }
    }

    /// Hands every part to its target, all or nothing where the targets can reserve,
    /// with the rules of [`stratus_core::Fanout`]: targets that can reserve are asked
    /// first; a refusal releases what the others hold and refuses the batch; targets that
    /// cannot reserve get their part through `consume`, and a permanent refusal there
    /// does not keep the other parts from their targets.
    async fn deliver(&self, parts: Vec<(usize, Telemetry)>) -> Result<(), ConsumeError> {
        let mut held: Vec<Box<dyn Admission>> = Vec::with_capacity(parts.len());
        let mut direct = Vec::new();
        for (t, part) in parts {
            let target = &self.targets[t];
            if !target.can_prepare() {
                direct.push((t, part));
                continue;
            }
            match target.prepare(part).await {
                Prepared::Ready(a) => held.push(a),
                Prepared::Unsupported(part) => direct.push((t, part)),
                Prepared::Refused(e, _) => return Err(e),
            }
        }
        let mut result = Ok(());
        for (t, part) in direct {
            match self.targets[t].consume(part).await {
                Ok(()) => {}
                Err(e) if e.is_permanent() => keep_first(&mut result, e),
                Err(e) => {
                    drop(held);
                    return Err(e);
                }
            }
        }
        for a in held {
            if let Err(e) = a.commit().await {
                keep_first(&mut result, e);
            }
        }
        result
    }
}

/// Keeps the first error, a permanent one winning over a retryable one.
fn keep_first(result: &mut Result<(), ConsumeError>, e: ConsumeError) {
    match result {
        Ok(()) => *result = Err(e),
        Err(prev) if !prev.is_permanent() && e.is_permanent() => *result = Err(e),
        Err(_) => {}
    }
}

/// Admissions committed together; counts the dropped items once committed.
struct Committed {
    held: Vec<Box<dyn Admission>>,
    dropped: u64,
    counter: Counter,
}

#[async_trait]
impl Admission for Committed {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        let mut result = Ok(());
        for a in self.held {
            if let Err(e) = a.commit().await {
                keep_first(&mut result, e);
            }
        }
        self.counter.add(self.dropped);
        result
    }
}

#[async_trait]
impl Consumer for Router {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let plan = self.plan(&data)?;
        let (result, dropped) = match self.route(data, &plan) {
            Routed::Nothing(dropped) => (Ok(()), dropped),
            Routed::One(t, part, dropped) => (self.targets[t].consume(part).await, dropped),
            Routed::Many(parts, dropped) => (self.deliver(parts).await, dropped),
        };
        // Counted unless the sender will send the batch again (a retryable refusal).
        if result.as_ref().map_or_else(|e| e.is_permanent(), |_| true) {
            self.dropped.add(dropped);
        }
        result
    }

    /// Whether every route's pipelines can reserve.
    fn can_prepare(&self) -> bool {
        self.all_prepare
    }

    /// Two-phase admission across routes: each part is reserved in its route's
    /// pipelines; if one refuses, the others are released and the whole batch comes
    /// back (a copy is kept for that when the batch is split across routes).
    async fn prepare(&self, data: Telemetry) -> Prepared {
        if !self.all_prepare {
            return Prepared::Unsupported(data);
        }
        let plan = match self.plan(&data) {
            Ok(plan) => plan,
            Err(e) => return Prepared::Refused(e, data),
        };
        // A batch split across routes is handed back whole if one route refuses: keep a
        // copy, since the parts already reserved are gone with their admissions.
        let original = plan.uniform().is_none().then(|| data.clone());
        let routed = self.route(data, &plan);
        let committed = |held, dropped| {
            Prepared::Ready(Box::new(Committed {
                held,
                dropped,
                counter: self.dropped.clone(),
            }))
        };
        match routed {
            Routed::Nothing(dropped) => committed(Vec::new(), dropped),
            Routed::One(t, part, dropped) => match self.targets[t].prepare(part).await {
                Prepared::Ready(a) => committed(vec![a], dropped),
                other => {
                    // What comes back (or goes on through `consume`) no longer holds the
                    // unrouted items: they are dropped for good, count them now.
                    self.dropped.add(dropped);
                    other
                }
            },
            Routed::Many(parts, dropped) => {
                let mut held = Vec::with_capacity(parts.len());
                for (t, part) in parts {
                    match self.targets[t].prepare(part).await {
                        Prepared::Ready(a) => held.push(a),
                        Prepared::Refused(e, part) => {
                            drop(held);
                            return Prepared::Refused(e, original.unwrap_or(part));
                        }
                        Prepared::Unsupported(part) => {
                            // A target that said it reserves did not: refuse rather than
                            // hand over half a batch.
                            drop(held);
                            return Prepared::Refused(
                                ConsumeError::retryable(
                                    "routing connector: a route's pipelines stopped taking \
                                     data in two phases",
                                ),
                                original.unwrap_or(part),
                            );
                        }
                    }
                }
                committed(held, dropped)
            }
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.targets.iter().flat_map(|t| t.destinations()).collect()
    }
}

impl Component for Router {}
