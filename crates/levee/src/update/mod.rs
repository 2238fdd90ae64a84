//! Dynamic update (RFC 2136), off the query path.
//!
//! The answering pipeline (`levee_answer`, `update.rs` there) checks an
//! UPDATE's TSIG, zone and `allow-update` grant and answers every refusal
//! itself; a granted update comes back from `Worker::answer` as
//! `Decision::Update`. The driver that received it (a UDP worker or the
//! TCP thread) hands it to the one update thread of the daemon through a
//! bounded queue (`Updates::submit`, `QUEUE` deep; a full queue is
//! answered SERVFAIL and counted), and goes back to answering queries.
//!
//! The update thread (`apply::start`, `apply.rs`) takes updates one at a time:
//! it evaluates the update against the zone as it is served
//! (`levee_update::evaluate`, sans-IO), and when the zone changed it
//! builds the new snapshot (the zone's records with the difference
//! applied, `levee_zone::journal::build_from`; a snapshot is never
//! changed once published), appends the difference to the zone's update
//! log and waits for `fdatasync` (`log.rs`), then publishes the new
//! snapshot (`zones::publish`), extends the zone's IXFR journal, sends
//! NOTIFY to the zone's secondaries, and only then replies. An update is
//! therefore acknowledged only once it is on disk; one that could not be
//! written is answered SERVFAIL and not applied.
//!
//! **Restart safety: the log is replayed over the zone file.** At start
//! (`apply::replay_all`) each dynamic zone's log is applied to the zone as its
//! file loaded, so every acknowledged change is served again, including
//! after `kill -9` in the middle of a burst. The zone file itself is not
//! rewritten; after 1,000 updates the zone is written to the log's base
//! (`log::base_file`) and the log emptied, and the base then stands for
//! the file (`log.rs`, "Compaction"). A reload does not read a dynamic zone's file again (its
//! served version, with its updates, is kept: `replication::primary::
//! after_reload`), as BIND refuses to reload a dynamic zone.
//!
//! Replies: over UDP the update thread sends the reply itself, from a
//! duplicate of the worker's socket (so from the address and port the
//! request came to on a socket bound to one address); over TCP the TCP
//! thread waits for the reply (at most `queue::TCP_WAIT`) and writes it on
//! the connection.
//!
//! **Edits** (the REST API's `PATCH`/`PUT`, `levee ctl rrset-*`,
//! `ops::rest`) take the same queue as `queue::Job::Edit` and the same
//! path through the update thread (`apply::edit`: evaluated by
//! `levee_update::edit`, then `apply::commit` as an update); their caller
//! waits for the outcome, sent once the change is durable. Zones with
//! `api = "write"` are dynamic like zones with `allow-update`
//! (`queue::grants`, with an empty RFC 2136 ACL).
//!
//! Modules: [`queue`] is what the drivers and the operator surface see
//! (the queue, its jobs and replies, the counters, the grants); [`apply`]
//! the update thread and the replay at start; [`log`] the update log's
//! format and file; [`signed`] what differs for a zone levee signs.

pub mod apply;
pub mod log;
pub mod queue;
pub mod signed;
