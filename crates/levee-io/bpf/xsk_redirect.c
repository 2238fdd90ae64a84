// SPDX-License-Identifier: MIT OR Apache-2.0
//
// xsk_redirect: the minimal XDP program of levee's AF_XDP path (issue 23),
// until the flood gate (gate.c, program levee_xdp) replaces it.
//
// A UDP datagram to the configured port and to one of levee's addresses
// (`addrs`, when `match_addrs` is set: levee listens on named addresses,
// not on a wildcard), in an Ethernet II frame (no VLAN) carrying IPv4 (not
// a fragment) or IPv6 (UDP right after the fixed header), goes to the
// AF_XDP socket of its receive queue (`xsks`, keyed by rx_queue_index;
// XDP_PASS when no socket is registered for that queue). Everything else
// passes to the kernel untouched: TCP, ICMP, ARP/ND, SSH, IPv4 fragments,
// IPv6 extension headers, other UDP ports, and port 53 of an address levee
// does not listen on (another DNS server on the same interface keeps its
// queries).
//
// Rebuild with ./build.sh (Debian clang); the object is committed and
// embedded by levee-io (src/xdp/prog.rs).

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

// An address as the `addrs` map keys it: IPv6, or IPv4 mapped (::ffff:a.b.c.d).
struct addr {
	__u8 a[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct addr);
	__type(value, __u8);
} addrs SEC(".maps");

// The DNS port in host order; the loader sets it before loading.
volatile const __u16 dns_port = 53;
// 1: redirect only datagrams to an address in `addrs`; 0: any address.
volatile const __u8 match_addrs = 0;

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct addr dst;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return XDP_PASS;
		if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3FFF)))
			return XDP_PASS;
		udp = (void *)ip + ip->ihl * 4;
		__builtin_memset(&dst, 0, sizeof(dst));
		dst.a[10] = 0xff;
		dst.a[11] = 0xff;
		__builtin_memcpy(&dst.a[12], &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
		__builtin_memcpy(&dst, &ip6->daddr, 16);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(dns_port))
		return XDP_PASS;
	if (match_addrs && !bpf_map_lookup_elem(&addrs, &dst))
		return XDP_PASS;
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
