//! Store Weaver: provisions online stores on Kubernetes, each running one
//! of its engines (`engines`: the shop software, its chart and the rest).
//! The console (`tui`), the HTTP API (`serve`) and the command line
//! (`commands`) are faces over one engine (`engine`) and one live cluster
//! view (`cluster::view`).

pub mod account;
pub mod backup;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod completions;
pub mod config;
pub mod db;
pub mod doctor;
pub mod engine;
pub mod engines;
pub mod helm;
pub mod incident;
pub mod leftovers;
pub mod logging;
pub mod metrics;
pub mod runtime;
pub mod serve;
pub mod store;
pub mod text;
pub mod tui;
