//! The `routing` connector factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_ALPHA, BuildConnector, BuildContext, Exporter, Factory, Stability,
    same_signal_routes,
};
use stratus_core::{BoxConsumer, ComponentError, Fanout, Signal};

use crate::config::{Route, RoutingConfig, route_condition};
use crate::connector::Router;
use crate::router::{CompiledRoute, Table, Target, applies, level};

/// Builds `routing` connectors.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoutingConnectorFactory;

impl Factory for RoutingConnectorFactory {
    type Config = RoutingConfig;
    const TYPE: &'static str = "routing";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_ALPHA;

    /// Every pipeline of the table and of `default_pipelines`, so `stratus validate`
    /// checks that each is defined and lists this connector as a receiver.
    fn pipeline_references(&self, config: &RoutingConfig) -> Vec<(String, String)> {
        let routes = config.table.iter().enumerate().flat_map(|(i, Route(r))| {
            r.pipelines
                .iter()
                .enumerate()
                .map(move |(j, id)| (format!("table[{i}]::pipelines[{j}]"), id.clone()))
        });
        let defaults = config
            .default_pipelines
            .iter()
            .enumerate()
            .map(|(j, id)| (format!("default_pipelines[{j}]"), id.clone()));
        routes.chain(defaults).collect()
    }
}

/// The targets being built: one per distinct set of pipelines.
struct Targets<'p> {
    pipelines: &'p [(String, BoxConsumer)],
    to: Signal,
    keys: Vec<Vec<String>>,
    consumers: Vec<BoxConsumer>,
}

impl Targets<'_> {
    /// The target of `ids` (where `what` names the route in errors).
    fn of(&mut self, ids: &[String], what: &str) -> Result<u16, ComponentError> {
        let mut key: Vec<String> = ids.to_vec();
        key.sort();
        key.dedup();
        if let Some(i) = self.keys.iter().position(|k| *k == key) {
            return u16::try_from(i).map_err(|_| ComponentError::new("too many routes"));
        }
        let mut consumers = Vec::with_capacity(key.len());
        for id in &key {
            let signal = id.split('/').next().unwrap_or_default();
            if signal != self.to.as_str() {
                return Err(ComponentError::new(format!(
                    "{what} lists `{id}`, but this routing connector hands on {to}: a routing \
                     connector routes one signal, so use one per signal (e.g. `routing/{to}`)",
                    to = self.to
                )));
            }
            let Some((_, c)) = self.pipelines.iter().find(|(p, _)| p == id) else {
                return Err(ComponentError::new(format!(
                    "{what} lists `{id}`, which does not list this connector in its receivers"
                )));
            };
            consumers.push(c.clone());
        }
        self.keys.push(key);
        self.consumers.push(Fanout::wrap(consumers));
        u16::try_from(self.consumers.len() - 1).map_err(|_| ComponentError::new("too many routes"))
    }
}

#[async_trait]
impl BuildConnector for RoutingConnectorFactory {
    const ROUTES: &'static [(Signal, Signal, Stability)] = &same_signal_routes(Stability::Alpha);

    async fn create(
        &self,
        ctx: BuildContext,
        config: RoutingConfig,
        from: Signal,
        to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let id = ctx.id.to_string();
        if from != to {
            return Err(ComponentError::new(format!(
                "routing cannot connect {from} to {to}: both sides must carry the same signal"
            )));
        }
        let mut targets = Targets {
            pipelines: &pipelines,
            to,
            keys: Vec::new(),
            consumers: Vec::new(),
        };
        let mut routes = Vec::with_capacity(config.table.len());
        for (i, Route(r)) in config.table.iter().enumerate() {
            if !applies(r.context, to) {
                tracing::info!(
                    connector = %id,
                    route = i,
                    context = %r.context,
                    signal = %to,
                    "a {} route never matches {to}: skipped for this signal",
                    r.context
                );
                continue;
            }
            let condition = route_condition(r).map_err(|(key, message)| {
                ComponentError::new(format!("connector `{id}`: table[{i}]::{key}: {message}"))
            })?;
            let target = targets.of(&r.pipelines, &format!("connector `{id}`: table[{i}]"))?;
            routes.push(CompiledRoute {
                context: r.context,
                condition,
                target,
            });
        }
        let default: Target = if config.default_pipelines.is_empty() {
            tracing::info!(
                connector = %id,
                signal = %to,
                "no default_pipelines: items no route matches are dropped and counted"
            );
            None
        } else {
            Some(targets.of(
                &config.default_pipelines,
                &format!("connector `{id}`: default_pipelines"),
            )?)
        };
        let level = level(to, &routes);
        let all_prepare = targets.consumers.iter().all(|c| c.can_prepare());
        let dropped = ctx.telemetry.counter(
            &format!("stratus_connector_routing_dropped_{}", to.item_name()),
            "Items the routing connector dropped because no route matched them and no \
             default_pipelines are set.",
            &[("connector", &id)],
        );
        Ok(Arc::new(Router {
            table: Table {
                routes,
                default,
                mode: config.error_mode,
                level,
            },
            targets: targets.consumers,
            dropped,
            all_prepare,
        }))
    }
}
