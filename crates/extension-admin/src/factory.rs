//! The `admin` and `zpages` extension factories: one extension under two names.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    BuildContext, BuildExtension, ConfigProblem, Extension, Factory, Stability, exposure_warning,
};
use stratus_core::{ComponentError, Signal};

use crate::config::AdminConfig;
use crate::extension::AdminExtension;

fn build(ctx: BuildContext, config: AdminConfig) -> Result<Arc<dyn Extension>, ComponentError> {
    let auth = match &config.auth {
        Some(a) => Some(ctx.server_authenticator("auth::authenticator", &a.authenticator)?),
        None => None,
    };
    Ok(Arc::new(AdminExtension::new(
        ctx.id.to_string(),
        config,
        ctx.telemetry.clone(),
        auth,
    )))
}

fn warnings(config: &AdminConfig) -> Vec<ConfigProblem> {
    exposure_warning("endpoint", &config.endpoint, config.auth.is_some())
        .into_iter()
        .collect()
}

/// One factory type per name the server is registered under.
macro_rules! admin_factory {
    ($(#[$doc:meta])* $name:ident, $type:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Factory for $name {
            type Config = AdminConfig;
            const TYPE: &'static str = $type;
            const SIGNALS: &'static [(Signal, Stability)] = &[];

            fn exposure_warnings(&self, config: &AdminConfig) -> Vec<ConfigProblem> {
                warnings(config)
            }
        }

        #[async_trait]
        impl BuildExtension for $name {
            async fn create(
                &self,
                ctx: BuildContext,
                config: AdminConfig,
            ) -> Result<Arc<dyn Extension>, ComponentError> {
                build(ctx, config)
            }
        }
    };
}

admin_factory!(
    /// Builds `admin` extensions: the live state `stratus top` and the status page read.
    AdminExtensionFactory,
    "admin"
);

admin_factory!(
    /// Builds `zpages` extensions: upstream's name and default endpoint for the same
    /// server, so configs that list `zpages` get `/debug/servicez` and
    /// `/debug/pipelinez`, and the status page besides.
    ZPagesExtensionFactory,
    "zpages"
);
