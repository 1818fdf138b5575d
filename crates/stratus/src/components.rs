//! The one place that knows every component of this build. Each factory sits behind
//! a cargo feature, so a slim build is `--no-default-features --features ...`.

use stratus_core::factory::Factories;

/// Every factory compiled into this binary.
pub fn factories() -> Factories {
    let f = Factories::new();
    #[cfg(feature = "receiver-otlp")]
    let f = f.receiver(stratus_receiver_otlp::OtlpReceiverFactory);
    #[cfg(feature = "processor-batch")]
    let f = f.processor(stratus_processor_batch::BatchProcessorFactory);
    #[cfg(feature = "processor-memory-limiter")]
    let f = f.processor(stratus_processor_memory_limiter::MemoryLimiterProcessorFactory);
    #[cfg(feature = "processor-resourcedetection")]
    let f =
        f.processor(stratus_processor_resourcedetection::ResourceDetectionProcessorFactory::new());
    #[cfg(feature = "processor-attributes")]
    let f = f.processor(stratus_processor_attributes::AttributesProcessorFactory);
    #[cfg(feature = "processor-resource")]
    let f = f.processor(stratus_processor_resource::ResourceProcessorFactory);
    #[cfg(feature = "processor-redaction")]
    let f = f.processor(stratus_processor_redaction::RedactionProcessorFactory);
    #[cfg(feature = "processor-tail-sampling")]
    let f = f.processor(stratus_processor_tail_sampling::TailSamplingProcessorFactory);
    #[cfg(feature = "processor-filter")]
    let f = f.processor(stratus_processor_filter::FilterProcessorFactory);
    #[cfg(feature = "processor-probabilistic-sampler")]
    let f =
        f.processor(stratus_processor_probabilistic_sampler::ProbabilisticSamplerProcessorFactory);
    #[cfg(feature = "exporter-otlp")]
    let f = f
        .exporter(stratus_exporter_otlp::OtlpExporterFactory)
        .exporter(stratus_exporter_otlp::OtlpHttpExporterFactory);
    #[cfg(feature = "exporter-loadbalancing")]
    let f = f.exporter(stratus_exporter_loadbalancing::LoadBalancingExporterFactory::default());
    #[cfg(feature = "exporter-debug")]
    let f = f.exporter(stratus_exporter_debug::DebugExporterFactory);
    #[cfg(feature = "exporter-file")]
    let f = f.exporter(stratus_exporter_file::FileExporterFactory);
    #[cfg(feature = "exporter-nop")]
    let f = f.exporter(stratus_exporter_nop::NopExporterFactory);
    #[cfg(feature = "exporter-awsxray")]
    let f = f.exporter(stratus_exporter_awsxray::AwsXrayExporterFactory);
    #[cfg(feature = "exporter-awss3")]
    let f = f.exporter(stratus_exporter_awss3::AwsS3ExporterFactory);
    // `awscloudwatch` is the product brief's name for `awsemf`: the same exporter.
    #[cfg(feature = "exporter-awsemf")]
    let f = f
        .exporter(stratus_exporter_awsemf::AwsEmfExporterFactory)
        .exporter(stratus_exporter_awsemf::AwsCloudWatchExporterFactory);
    #[cfg(feature = "exporter-awscloudwatchlogs")]
    let f = f.exporter(stratus_exporter_awscloudwatchlogs::AwsCloudWatchLogsExporterFactory);
    #[cfg(feature = "exporter-azureloganalytics")]
    let f = f.exporter(stratus_exporter_azureloganalytics::AzureLogAnalyticsExporterFactory);
    #[cfg(feature = "exporter-azuremonitor")]
    let f = f.exporter(stratus_exporter_azuremonitor::factory::AzureMonitorExporterFactory);
    #[cfg(feature = "extension-health-check")]
    let f = f.extension(stratus_extension_health_check::HealthCheckExtensionFactory);
    #[cfg(feature = "extension-admin")]
    let f = f
        .extension(stratus_extension_admin::AdminExtensionFactory)
        .extension(stratus_extension_admin::ZPagesExtensionFactory);
    #[cfg(feature = "extension-file-storage")]
    let f = f.extension(stratus_extension_file_storage::FileStorageExtensionFactory);
    #[cfg(feature = "extension-bearertokenauth")]
    let f = f.extension(stratus_extension_bearertokenauth::BearerTokenAuthExtensionFactory);
    #[cfg(feature = "extension-basicauth")]
    let f = f.extension(stratus_extension_basicauth::BasicAuthExtensionFactory);
    #[cfg(feature = "extension-oidc")]
    let f = f.extension(stratus_extension_oidc::OidcExtensionFactory);
    #[cfg(feature = "extension-oauth2client")]
    let f = f.extension(stratus_extension_oauth2client::OAuth2ClientExtensionFactory);
    #[cfg(feature = "connector-forward")]
    let f = f.connector(stratus_connector_forward::ForwardConnectorFactory);
    #[cfg(feature = "connector-failover")]
    let f = f.connector(stratus_connector_failover::FailoverConnectorFactory);
    #[cfg(feature = "connector-routing")]
    let f = f.connector(stratus_connector_routing::RoutingConnectorFactory);
    f
}
