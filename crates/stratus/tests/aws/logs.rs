//! CloudWatch Logs (`awscloudwatchlogs`) end to end.
