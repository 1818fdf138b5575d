#!/usr/bin/env bash
# Creates the product brief's AKS cluster and deploys the stratus gateway on it, with
# workload identity instead of stored Azure credentials:
#   1. the brief's resource group and cluster (section 4.1), plus the OIDC issuer and
#      workload identity;
#   2. a Log Analytics workspace, its tables / data collection endpoint / rule
#      (deploy/azure/loganalytics.json) and a workspace-based Application Insights;
#   3. a user-assigned managed identity, federated with the Kubernetes service account
#      system:serviceaccount:observability:stratus, allowed to publish to the rule;
#   4. the Secret stratus-azure from the `az` outputs (never written to a manifest) and
#      the manifests of deploy/aks (through deploy/kubernetes/overlays/aks-gateway),
#      with the identity's client id on the service account.
#
# Usage: deploy/aks/create-cluster.sh        (needs az logged in, kubectl)
# Names can be changed through the environment: RESOURCE_GROUP, LOCATION, CLUSTER,
# IDENTITY, WORKSPACE, APP_INSIGHTS.
set -euo pipefail

RESOURCE_GROUP=${RESOURCE_GROUP:-otel-rg}
LOCATION=${LOCATION:-eastus}
CLUSTER=${CLUSTER:-otel-cluster}
IDENTITY=${IDENTITY:-stratus-gateway}
WORKSPACE=${WORKSPACE:-otel-workspace}
APP_INSIGHTS=${APP_INSIGHTS:-otel-appinsights}
NAMESPACE=observability
SERVICE_ACCOUNT=stratus

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(umask 077 && mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The cluster (the brief's commands, plus OIDC issuer and workload identity).
az group create --name "$RESOURCE_GROUP" --location "$LOCATION"
az aks create \
  --resource-group "$RESOURCE_GROUP" \
  --name "$CLUSTER" \
  --node-count 3 \
  --node-vm-size Standard_D4s_v3 \
  --enable-managed-identity \
  --enable-addons monitoring \
  --enable-oidc-issuer \
  --enable-workload-identity \
  --network-policy azure \
  --generate-ssh-keys
az aks get-credentials --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" --overwrite-existing
issuer=$(az aks show --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" \
  --query oidcIssuerProfile.issuerUrl --output tsv)

# 2. Where the data goes.
az monitor log-analytics workspace create \
  --resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE" --location "$LOCATION"
workspace_resource=$(az monitor log-analytics workspace show \
  --resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE" --query id --output tsv)
workspace_id=$(az monitor log-analytics workspace show \
  --resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE" --query customerId --output tsv)
az deployment group create --name stratus-loganalytics \
  --resource-group "$RESOURCE_GROUP" \
  --template-file "$repo/deploy/azure/loganalytics.json" \
  --parameters workspaceName="$WORKSPACE"
ingestion_endpoint=$(az deployment group show --name stratus-loganalytics \
  --resource-group "$RESOURCE_GROUP" --query properties.outputs.endpoint.value --output tsv)
dcr_immutable_id=$(az deployment group show --name stratus-loganalytics \
  --resource-group "$RESOURCE_GROUP" --query properties.outputs.dcrImmutableId.value --output tsv)
dcr_resource="$(az group show --name "$RESOURCE_GROUP" --query id --output tsv)/providers/Microsoft.Insights/dataCollectionRules/stratus-dcr"

az extension add --name application-insights --upgrade --only-show-errors
az monitor app-insights component create \
  --app "$APP_INSIGHTS" --location "$LOCATION" --resource-group "$RESOURCE_GROUP" \
  --workspace "$workspace_resource"

# 3. The identity stratus runs as, trusted for the service account's tokens only.
az identity create --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" --location "$LOCATION"
client_id=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" \
  --query clientId --output tsv)
principal_id=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" \
  --query principalId --output tsv)
az identity federated-credential create \
  --name stratus-gateway \
  --identity-name "$IDENTITY" \
  --resource-group "$RESOURCE_GROUP" \
  --issuer "$issuer" \
  --subject "system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}" \
  --audiences api://AzureADTokenExchange
az role assignment create \
  --assignee-object-id "$principal_id" --assignee-principal-type ServicePrincipal \
  --role "Monitoring Metrics Publisher" --scope "$dcr_resource"

# 4. The Secret, from az outputs: each value goes through a file only this user can
# read (not the command line, where other processes could see it), then the manifests.
kubectl apply -k "$repo/deploy/kubernetes/base"
az monitor app-insights component show --app "$APP_INSIGHTS" --resource-group "$RESOURCE_GROUP" \
  --query instrumentationKey --output tsv >"$work/instrumentation-key"
az monitor app-insights component show --app "$APP_INSIGHTS" --resource-group "$RESOURCE_GROUP" \
  --query connectionString --output tsv >"$work/connection-string"
az monitor log-analytics workspace get-shared-keys \
  --resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE" \
  --query primarySharedKey --output tsv >"$work/workspace-key"
printf '%s\n' "$workspace_id" >"$work/workspace-id"
printf '%s\n' "$ingestion_endpoint" >"$work/logs-ingestion-endpoint"
printf '%s\n' "$dcr_immutable_id" >"$work/logs-ingestion-dcr-id"
for f in "$work"/*; do
  # az prints a trailing newline; the Secret's values must not carry it.
  value=$(cat "$f")
  printf '%s' "$value" >"$f"
done
kubectl create secret generic stratus-azure --namespace "$NAMESPACE" \
  --from-file=instrumentation-key="$work/instrumentation-key" \
  --from-file=connection-string="$work/connection-string" \
  --from-file=workspace-id="$work/workspace-id" \
  --from-file=workspace-key="$work/workspace-key" \
  --from-file=logs-ingestion-endpoint="$work/logs-ingestion-endpoint" \
  --from-file=logs-ingestion-dcr-id="$work/logs-ingestion-dcr-id" \
  --dry-run=client --output yaml | kubectl apply -f -

# The overlay, with this identity's client id on the service account: a throwaway
# kustomization next to the secrets' directory, on top of the repository's overlay.
mkdir "$work/overlay"
overlay=$(realpath --relative-to="$work/overlay" "$repo/deploy/kubernetes/overlays/aks-gateway")
cat >"$work/overlay/kustomization.yaml" <<KUSTOMIZATION
bases:
- $overlay
patchesStrategicMerge:
- serviceaccount.yaml
KUSTOMIZATION
cat >"$work/overlay/serviceaccount.yaml" <<SERVICEACCOUNT
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $SERVICE_ACCOUNT
  namespace: $NAMESPACE
  annotations:
    azure.workload.identity/client-id: $client_id
SERVICEACCOUNT
kubectl apply -k "$work/overlay"
kubectl --namespace "$NAMESPACE" rollout status deployment/stratus-gateway --timeout=5m
echo "stratus gateway: stratus-gateway.${NAMESPACE}.svc.cluster.local:4317 (OTLP/gRPC), :4318 (OTLP/HTTP)"
