//! Operations: what the operator sees of a running server.
//!
//! * [`counters`]: per-thread query counters (written by the drivers,
//!   one writer each), zone statistics ids;
//! * [`summaries`]: the flood defences' log summaries and the garbage
//!   counter;
//! * [`api`]: the operations as JSON values (status, zones, stats, the
//!   dashboard's live feed, reload);
//! * [`metrics`]: `/metrics` in the Prometheus text format;
//! * [`rest`]: the REST API under `/api/v1/` (zones, RRsets, whole-zone
//!   replacement, TSIG key names, the OpenAPI document); its writes go
//!   through the update thread;
//! * [`rest_zones`]: its zone creation, deletion and catalog membership,
//!   through the runtime zone registry (`provision`);
//! * [`rest_common`]: what those two share (the refusal `ApiError`, the
//!   bounds of a request, the name, type, RDATA and query-string parsers);
//!   it names neither, so `rest` -> `rest_zones` -> `rest_common` has no
//!   cycle, and the listener takes its query-string parser from it;
//! * [`http`]: the management listener (HTTP/HTTPS) serving the API, the
//!   metrics and the dashboard (`dashboard.html`).
//!
//! Nothing here runs on a UDP worker: reading a counter is a relaxed load
//! of a line its worker writes.

pub mod api;
pub mod counters;
pub mod http;
pub mod metrics;
pub mod rest;
pub mod rest_common;
pub mod rest_zones;
pub mod summaries;
