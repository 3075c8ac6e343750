//! HTTP handlers, one module per group of routes. Each handler carries its
//! `#[utoipa::path]`, so the OpenAPI document is generated from them.

pub mod events;
pub mod jobs;
pub mod objects;
pub mod post_job;
pub mod service;
pub mod site;
pub mod tx;
pub mod volunteers;
pub mod workers;
pub mod www;
