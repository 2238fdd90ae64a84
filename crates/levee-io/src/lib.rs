//! # levee-io: sockets and threads
//!
//! The I/O drivers. They move bytes between sockets and the answering
//! layer and do nothing else: every decision about a query is made by the
//! handler they are given.
//!
//! * [`udp`]: per-core worker threads, one `SO_REUSEPORT` socket each,
//!   `recvmmsg`/`sendmmsg` batches, replies sent from the query's
//!   destination address (`IP_PKTINFO`/`IPV6_PKTINFO`) so a server bound to
//!   `0.0.0.0` or `::` answers from the right address.
//! * [`privs`]: dropping root after binding (user and group by name).
//! * [`local`]: the open-file limit, the instance lock file and the
//!   control socket created with its mode.
//! * [`batch`]: safe `sendmmsg`/`recvmmsg`/`poll` on connected UDP sockets,
//!   for clients such as the load generator.
//! * [`alloc_count`]: a per-thread counting allocator for allocation tests.
//! * [`tcp`]: RFC 7766 TCP on an event-loop thread of its own (`mio`),
//!   with a fixed connection table, idle/message/write timeouts, and caps
//!   that evict the stalest connection instead of refusing new ones.
//! * [`tls`]: DNS over TLS (RFC 7858) as a layer of the TCP loop
//!   ([`tcp::run_tls`]): the handshake phase, the handshake budget per
//!   source prefix, rustls's buffers bounded.
//! * [`quic`]: DNS over QUIC (RFC 9250) with quinn on a thread of its own,
//!   answering through the same [`tcp::TcpService`]: one query per stream,
//!   Retry under load, the handshake budget and connection caps per
//!   prefix, stream and window limits, the DoQ error codes.
//! * [`prio`]: a lower priority for background threads (transfers in).
//! * [`mem`]: returning freed heap memory to the system (after an
//!   abandoned transfer or a freed zone).
//! * [`xdp`]: the AF_XDP answering path (`serve --xdp IFACE`): UMEM and
//!   rings, one worker per (interface, queue) answering through the same
//!   [`udp::UdpHandler`], and the XDP program that feeds it ([`xdp::prog`],
//!   loaded with aya from a committed object).
//! * [`gate`]: the flood gate's BPF programs (`bpf/gate.c`: `levee_xdp` on
//!   an interface, `levee_sock` on the UDP sockets), loaded with aya, and
//!   the map API its controller in the daemon writes (docs/gate.md).
//! * [`frame`]: Ethernet/IPv4/IPv6/UDP headers of the AF_XDP path as pure,
//!   safe functions (parse a query, write a reply's headers and checksums).
//!
//! This is the only levee crate allowed `unsafe` code (the batched
//! syscalls and control messages, the AF_XDP rings and UMEM, the BPF
//! socket option and clock); each use
//! carries a SAFETY comment.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod alloc_count;
pub mod batch;
pub mod frame;
pub mod gate;
pub mod local;
pub mod mem;
pub mod prio;
pub mod privs;
pub mod quic;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod xdp;

/// Counts allocations in this crate's tests (`alloc_count`), so the frame
/// functions can be checked to allocate nothing.
#[cfg(test)]
#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;
