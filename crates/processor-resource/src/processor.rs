//! The running `resource` processor: edits resource attributes in place and passes the
//! data on, through `consume` or through two-phase admission.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_attraction::{Actions, Change, Journal};
use stratus_core::factory::ConfigProblem;
use stratus_core::pdata::resource::Resource;
use stratus_core::{
    BoxConsumer, Component, ConsumeError, Consumer, Destination, Metadata, Payload, Prepared,
    Telemetry,
};

use crate::config::ResourceConfig;

/// A running `resource` processor.
pub struct ResourceProcessor {
    actions: Actions,
    next: BoxConsumer,
}

/// The changes made to a payload's resources, in order, by resource index: `None`
/// where a resource was created for a group that had none.
type Undo = Journal<(usize, Option<Change>)>;

/// Calls `f` with the index and resource of every resource group of a payload.
fn for_each_resource(payload: &mut Payload, mut f: impl FnMut(usize, &mut Option<Resource>)) {
    match payload {
        Payload::Traces(r) => r
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| f(i, &mut x.resource)),
        Payload::Metrics(r) => r
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| f(i, &mut x.resource)),
        Payload::Logs(r) => r
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| f(i, &mut x.resource)),
    }
}

/// The resource of resource group `i`.
fn resource_at(payload: &mut Payload, i: usize) -> Option<&mut Option<Resource>> {
    match payload {
        Payload::Traces(r) => r.get_mut(i).map(|x| &mut x.resource),
        Payload::Metrics(r) => r.get_mut(i).map(|x| &mut x.resource),
        Payload::Logs(r) => r.get_mut(i).map(|x| &mut x.resource),
    }
}

impl ResourceProcessor {
    /// The processor for `config`, handing data to `next`.
    pub fn new(
        config: &ResourceConfig,
        next: BoxConsumer,
    ) -> Result<ResourceProcessor, Vec<ConfigProblem>> {
        Ok(ResourceProcessor {
            actions: Actions::compile("attributes", &config.attributes)?,
            next,
        })
    }

    /// Applies the actions to every resource of `payload`. With `undo`, every change
    /// is recorded.
    fn process(&self, payload: &mut Payload, metadata: &Metadata, mut undo: Option<&mut Undo>) {
        for_each_resource(payload, |i, resource| match resource {
            Some(r) => match undo.as_deref_mut() {
                None => self.actions.apply(&mut r.attributes, metadata),
                Some(u) => self
                    .actions
                    .apply_recording(&mut r.attributes, metadata, &mut |c| u.record((i, Some(c)))),
            },
            None => {
                // No resource: act on an empty one, kept only if an action wrote to it.
                let mut attrs = Vec::new();
                self.actions.apply(&mut attrs, metadata);
                if !attrs.is_empty() {
                    if let Some(u) = undo.as_deref_mut() {
                        u.record((i, None));
                    }
                    *resource = Some(Resource {
                        attributes: attrs,
                        ..Default::default()
                    });
                }
            }
        });
    }
}

/// Reverts one recorded change in `payload` (the data this processor edited, handed
/// back unchanged by the consumer that refused it).
fn revert((i, change): (usize, Option<Change>), payload: &mut Payload) {
    let Some(resource) = resource_at(payload, i) else {
        return;
    };
    match (change, resource.as_mut()) {
        (None, _) => *resource = None,
        (Some(c), Some(r)) => c.revert(&mut r.attributes),
        (Some(_), None) => {}
    }
}

#[async_trait]
impl Consumer for ResourceProcessor {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        self.process(&mut data.payload, &data.metadata, None);
        self.next.consume(data).await
    }

    /// Two-phase admission passes through when the next consumer reserves.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    /// Edits the data and asks the next consumer for room. Data handed back (refused,
    /// or to be offered through `consume` instead) gets its resources back as they
    /// came, so a retry or another failover level sees the data as sent.
    async fn prepare(&self, data: Telemetry) -> Prepared {
        Journal::prepare(
            &*self.next,
            data,
            |data, undo| self.process(&mut data.payload, &data.metadata, Some(undo)),
            revert,
        )
        .await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

impl Component for ResourceProcessor {}
