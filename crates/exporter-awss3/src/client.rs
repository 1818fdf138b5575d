//! The `awss3` exporter's [`Sender`]: a batch becomes one [`S3Object`] (encode: the
//! key's time is now, its unique part from `rand`), uploaded with `PutObject`
//! (send), with `Content-Type`, `Content-Encoding`, storage class and ACL set.
//!
//! **Errors** are classified by [`classify_sdk_error`]: throttling (`SlowDown`), 5xx
//! and network failures are retryable, validation and access errors (`NoSuchBucket`,
//! `AccessDenied`) permanent. The first authentication or access failure is logged
//! once at error level with the identity in use (`current_identity`: profile, role,
//! access key id prefix, never a secret) and what to check; later ones only at
//! debug level, as the helper already logs failed requests.
//!
//! A retried upload writes the same key again, so a retry after a lost answer
//! replaces the object instead of duplicating it.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectCannedAcl, StorageClass};
use stratus_aws_common::errors::classify_sdk_error;
use stratus_aws_common::session::{AuthReporter, AwsSessionConfig};
use stratus_core::factory::BuildContext;
use stratus_core::{ConsumeError, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::S3Settings;
use crate::object::S3Object;

/// The AWS operation this exporter calls.
pub const OPERATION: &str = "PutObject";

/// The `awss3` exporter's [`Sender`]. Its request is the object of one batch, or
/// `None` when the batch marshals to nothing (a `body` batch without records), which
/// uploads nothing.
pub struct S3Sender {
    id: String,
    settings: S3Settings,
    client: aws_sdk_s3::Client,
    sdk: SdkConfig,
    session: AwsSessionConfig,
    auth: AuthReporter,
}

impl S3Sender {
    /// The sender for `settings`, on the one client built from `sdk` (the session's
    /// `session::load`), with path-style addressing from `s3_force_path_style`.
    pub fn new(
        ctx: &BuildContext,
        settings: S3Settings,
        session: AwsSessionConfig,
        sdk: SdkConfig,
    ) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(settings.force_path_style)
            .build();
        S3Sender {
            id: ctx.id.to_string(),
            client: aws_sdk_s3::Client::from_conf(s3),
            settings,
            sdk,
            session,
            auth: AuthReporter::new(ctx.id.to_string(), "S3", "s3:PutObject on the bucket"),
        }
    }
}

#[async_trait]
impl Sender for S3Sender {
    type Request = Option<S3Object>;

    fn encode(&self, data: Telemetry) -> Result<Option<S3Object>, ConsumeError> {
        self.settings
            .object(&data.payload, SystemTime::now(), rand::random::<u128>())
            .map_err(|e| ConsumeError::permanent(format!("exporter {}: {e}", self.id)))
    }

    async fn send(&self, request: &Option<S3Object>) -> Result<(), ConsumeError> {
        let Some(object) = request else {
            return Ok(());
        };
        let mut put = self
            .client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(&object.key)
            .body(ByteStream::from(object.body.clone()))
            .content_type(object.content_type)
            .storage_class(StorageClass::from(object.storage_class));
        if let Some(encoding) = object.content_encoding {
            put = put.content_encoding(encoding);
        }
        if let Some(acl) = object.acl {
            put = put.acl(ObjectCannedAcl::from(acl));
        }
        match put.send().await {
            Ok(_) => {
                tracing::debug!(exporter = %self.id, key = %object.key, bytes = object.body.len(), "object uploaded");
                Ok(())
            }
            Err(e) => {
                let (error, reason) = classify_sdk_error(OPERATION, &e);
                if reason.is_auth() {
                    self.auth
                        .report(&self.session, &self.sdk, &error, reason)
                        .await;
                }
                Err(error)
            }
        }
    }
}
