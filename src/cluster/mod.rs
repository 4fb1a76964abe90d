//! The Kubernetes side: the client, the objects Store Weaver owns (namespaces
//! and secrets), the live view built from watches, and a store's detail.

pub mod data;
pub mod detail;
pub mod evidence;
pub mod health;
pub mod index;
pub mod namespace;
pub mod pods;
pub mod rollout;
pub mod room;
pub mod view;

use crate::config::Settings;
use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Marks every object that belongs to a store; the watches select on it.
pub const STORE_ID_LABEL: &str = "store-weaver.io/store-id";
pub const OWNER_LABEL: &str = "store-weaver.io/owner";
pub const OWNER_ANNOTATION: &str = "store-weaver.io/owner";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "store-weaver";
/// The one Secret per store that the chart references by name.
pub const CREDENTIALS_SECRET: &str = "store-credentials";

/// Builds a client from the configured kubeconfig (and context), or the usual
/// inference (in-cluster, then `~/.kube/config`). Requests get timeouts so a
/// gone API server gives an error, not a hang.
pub async fn client(settings: &Settings) -> Result<kube::Client> {
    client_with(settings, Some(std::time::Duration::from_secs(30))).await
}

/// The same cluster with no read timeout, for streams that may be quiet for
/// long (a followed log, a slow `wp` command): their callers bound them
/// themselves. Connecting still times out.
pub async fn streaming_client(settings: &Settings) -> Result<kube::Client> {
    client_with(settings, None).await
}

async fn client_with(
    settings: &Settings,
    read_timeout: Option<std::time::Duration>,
) -> Result<kube::Client> {
    let options = KubeConfigOptions {
        context: settings.kube_context.clone(),
        ..Default::default()
    };
    let mut config = match &settings.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .wrap_err_with(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .wrap_err_with(|| format!("kubeconfig {} is not usable", path.display()))?
        }
        None if settings.kube_context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .wrap_err("cannot load the kubeconfig context")?,
        None => kube::Config::infer()
            .await
            .wrap_err("no Kubernetes configuration found: set KUBECONFIG or --kubeconfig")?,
    };
    config.connect_timeout = Some(std::time::Duration::from_secs(5));
    config.read_timeout = read_timeout;
    build(config).wrap_err("cannot build the Kubernetes client")
}

/// TCP keepalive on every connection to the API server: the kernel drops a
/// connection whose peer vanished without a word (a silent partition) after
/// idle + interval × retries = 60 s, even one nothing is being read from
/// (an idle pooled connection, a quiet watch).
const KEEPALIVE_IDLE: std::time::Duration = std::time::Duration::from_secs(30);
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;

/// kube's own client stack (base URI, retries of 429/503, auth, extra
/// headers, connect/read/write timeouts, rustls) on a connector with TCP
/// keepalive, which `kube::Client::try_from` does not offer.
fn build(config: kube::Config) -> Result<kube::Client> {
    use hyper_util::client::legacy::connect::HttpConnector;
    use kube::client::ConfigExt;
    use kube::client::retry::RetryPolicy;
    use tower::ServiceBuilder;
    use tower::retry::RetryLayer;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_keepalive(Some(KEEPALIVE_IDLE));
    http.set_keepalive_interval(Some(KEEPALIVE_INTERVAL));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// Whether the request got no answer from the API server (it could not be
/// reached, the connection broke, or it timed out), as opposed to an answer
/// that refused it. Only an answer says something about what was asked.
pub fn is_transport(e: &kube::Error) -> bool {
    matches!(
        e,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_)
    )
}

/// The kubeconfig context name, for the console header.
pub fn context_name(settings: &Settings) -> String {
    if let Some(ctx) = &settings.kube_context {
        return ctx.clone();
    }
    let kc = match &settings.kubeconfig {
        Some(p) => Kubeconfig::read_from(p).ok(),
        None => Kubeconfig::read().ok(),
    };
    kc.and_then(|k| k.current_context)
        .unwrap_or_else(|| "in-cluster".to_string())
}

pub fn to_chrono(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

/// A label value made from free text (an email): [A-Za-z0-9._-], at most 63,
/// starting and ending with an alphanumeric.
pub fn label_value(raw: &str) -> String {
    let mut v: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    while v.starts_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.remove(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("ann@example.com"), "ann_example.com");
        assert_eq!(label_value("@@x@@"), "x");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }
}
