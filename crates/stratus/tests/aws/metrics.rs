//! CloudWatch metrics as EMF (`awsemf`, `awscloudwatch`) end to end.
