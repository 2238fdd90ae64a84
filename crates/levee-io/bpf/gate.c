// SPDX-License-Identifier: MIT OR Apache-2.0
//
// levee's flood gate (issue 23): two BPF programs sharing one admission
// function, compiled by build.sh into gate.o (committed, embedded by
// levee_io::gate). The design and the map layout are docs/gate.md; the
// pure-Rust model every line here mirrors is levee_limit::gate::model.
//
//   levee_xdp   XDP on an interface: Ethernet, IPv4/IPv6, UDP.
//   levee_sock  socket filter (SO_ATTACH_BPF) on levee's UDP sockets.
//
// The name walk and the suffix pass take their first steps inline (a name
// of up to three labels never leaves the program) and go on in bpf_loop
// callbacks, one label a call, so the verifier checks those bodies once.
// XDP reads the message in place in the packet; the socket filter copies
// it to a per-CPU scratch buffer first (bpf_skb_load_bytes).

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_LABELS 32
#define MSG_MAX 288      // octets of the DNS message the socket filter copies: header + a 255-octet name
#define MSG_MASK 511     // index mask for reading the message
#define MAX_PROBES 16
#define KEEP 0xffffffff // a socket filter's "keep it all" (skb->len could be 0 in a test run)

#define FLAG_ON 1        // config.flags: the gate judges (else everything passes)
#define FLAG_ADDRS 2     // config.flags: the addrs map is in use (else any address)

#define TAG_LABEL 0x4c4142454c000004ULL
#define TAG_EXACT 0x4558414354000001ULL
#define TAG_SUBTREE 0x5355425452454502ULL
#define TAG_ROOT 0x524f4f5400000003ULL
#define NANO 1000000000ULL

enum reason {
	PASS_OTHER = 0,
	GARBAGE_SHORT = 1,
	GARBAGE_RESPONSE = 2,
	GARBAGE_QUESTION = 3,
	DROP_NX_BUDGET = 4,
	DROP_PREFIX_BUDGET = 5,
	DROP_UNKNOWN_BUDGET = 6,
	DROP_DEEP = 7,
	ADMIT_KNOWN = 8,
	ADMIT_UNKNOWN = 9,
	NX_PAID = 10,
	REDIRECT_XSK = 11,
	PASS_NO_XSK = 12,
	REASONS = 16,
};

struct budget {
	__u32 rate;  // tokens per second, per CPU
	__u32 burst; // tokens, per CPU
};

struct gate_config {
	__u16 port; // host order
	__u16 flags;
	__u32 _pad;
	__u64 seed;
	struct budget prefix;
	struct budget unknown;
	struct budget deep;
	__u64 apex_bits; // bit (h >> 58) set for the hash h of each zone in `zones`
	__u64 gen;       // bumped by the loader after every change of `zones` (never 0)
	__u64 root;      // mix(seed ^ TAG_ROOT): the root's hash
	__u64 label0[64]; // mix(seed ^ TAG_LABEL ^ len): a label's hash before its octets
};

struct gate_zone {
	__u32 armed;
	__u32 word_off; // first word of the filter in `bloom`
	__u8 log2_bits;
	__u8 k;
	__u16 _pad;
	__u32 nx_rate; // per CPU
	__u32 nx_burst;
	__u32 zone_id;
};

struct bucket {
	__u64 tokens_nano; // tokens * 10^9
	__u64 last_ns;
};

struct addr {
	__u8 a[16];
};

struct scratch {
	__u8 msg[MSG_MASK + 1 + 8]; // socket filter: the message (+ 8: a word read at any masked index)
	__u64 lh[MAX_LABELS];       // label hashes, left to right
	// The zone last found (this CPU): valid while config.gen is zc_gen.
	__u64 zc_key;
	__u64 zc_gen;
	struct gate_zone zc;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gate_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct addr);
	__type(value, __u8);
} addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct gate_zone);
} zones SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct bucket);
} zone_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 21);
	__type(key, __u32);
	__type(value, __u64);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct addr);
	__type(value, __u64);
} known SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct addr);
	__type(value, struct bucket);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bucket);
} globals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REASONS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &reason);
	if (c)
		*c += 1;
}

static __always_inline __u64 mix(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

// ASCII A-Z to a-z in each octet (levee_limit::gate::lower8).
static __always_inline __u64 lower8(__u64 x)
{
	__u64 heptets = x & 0x7f7f7f7f7f7f7f7fULL;
	__u64 ge_a = heptets + 0x3f3f3f3f3f3f3f3fULL;
	__u64 gt_z = heptets + 0x2525252525252525ULL;
	__u64 upper = ge_a & ~gt_z & ~x & 0x8080808080808080ULL;
	return x | (upper >> 2);
}

// Token bucket: refill by the elapsed time (at most 2^32 ns counted), cap
// at the burst, pay one token. Exact integer arithmetic: no division.
static __always_inline int pay(struct bucket *b, __u32 rate, __u32 burst, __u64 now)
{
	__u64 cap = (__u64)burst * NANO;
	__u64 el = now > b->last_ns ? now - b->last_ns : 0;
	if (el > 0xffffffffULL)
		el = 0xffffffffULL;
	__u64 add = el * rate;
	if (add > cap)
		add = cap;
	__u64 t = b->tokens_nano;
	if (t > cap)
		t = cap;
	t += add;
	if (t > cap)
		t = cap;
	b->last_ns = now;
	if (t >= NANO) {
		b->tokens_nano = t - NANO;
		return 1;
	}
	b->tokens_nano = t;
	return 0;
}

// Whether all k probes of (h, tag) are set in the zone's filter.
static __always_inline int probe(const struct gate_zone *z, __u64 h, __u64 tag)
{
	__u64 x = mix(h ^ tag);
	__u32 h1 = (__u32)x, h2 = (__u32)(x >> 32) | 1;
	__u32 mask = (__u32)((1ULL << (z->log2_bits & 63)) - 1);
	for (__u32 j = 0; j < MAX_PROBES; j++) {
		if (j >= z->k)
			break;
		__u32 bit = (h1 + j * h2) & mask;
		__u32 w = z->word_off + (bit >> 6);
		__u64 *word = bpf_map_lookup_elem(&bloom, &w);
		if (!word || !(*word & (1ULL << (bit & 63))))
			return 0;
	}
	return 1;
}

// ---- the name walk: one label per step --------------------------------

enum { WALK_ON = 0, WALK_DONE = 1, WALK_BAD = 2 };

// The first WALK_FAST steps of the walk (a label each, the root label
// counting as one) and of the suffix pass run inline; a longer name goes
// on in bpf_loop callbacks, a step per call (a call costs about 4 ns, as
// much as hashing a short label; inline steps are verified once each).
#define WALK_FAST 4
#define SFX_FAST 4

struct walk {
	const __u8 *pkt;       // XDP: the DNS message in the packet, read in place
	const void *pkt_end;   // XDP: ctx->data_end
	struct scratch *s;     // the label hashes (socket filter: and the message)
	const __u64 *label0;   // config.label0
	__u32 len;   // octets of the message (its real length)
	__u32 lim;   // min(len, 12 + 255): where a name must have ended
	__u32 p;     // offset of the next length octet
	__u32 n;     // labels so far
	__u32 state;
	__u32 end;   // offset after the root label
};

// Octet `off` of the message: in the packet (XDP) or in the scratch copy
// (socket filter). Callers have checked off < len; the packet bound is
// for the verifier.
static __always_inline int rd8(const struct walk *w, __u32 off, __u32 *v, const int pkt)
{
	if (pkt) {
		const __u8 *q = w->pkt + (off & MSG_MASK);
		if ((const void *)(q + 1) > w->pkt_end)
			return -1;
		*v = *q;
	} else {
		*v = w->s->msg[off & MSG_MASK];
	}
	return 0;
}

// The eight octets of the message from `off` as a little-endian word, in
// one unaligned load (the verifier allows it where the JIT's CPU does:
// x86-64 and arm64). Callers have checked off + 8 <= len.
static __always_inline int rd64(const struct walk *w, __u32 off, __u64 *v, const int pkt)
{
	if (pkt) {
		const __u8 *q = w->pkt + (off & MSG_MASK);
		if ((const void *)(q + 8) > w->pkt_end)
			return -1;
		*v = *(const __u64 *)__builtin_assume_aligned(q, 8);
	} else {
		*v = *(const __u64 *)__builtin_assume_aligned(&w->s->msg[off & MSG_MASK], 8);
	}
	return 0;
}

// One label (or the root label). A name is read as the parser reads it:
// no pointer, labels of at most 63 octets inside the message, at most 255
// octets with the root label (so at most 127 labels). Returns 0 while the
// walk goes on.
static __always_inline int walk_step(struct walk *w, const int pkt)
{
	__u32 p = w->p, c;
	if (p >= w->lim || rd8(w, p, &c, pkt))
		goto bad;
	if (c == 0) {
		w->state = WALK_DONE;
		w->end = p + 1;
		return 1;
	}
	__u32 stop = p + 1 + c; // offset after the label
	if (c > 63 || stop > w->lim)
		goto bad;
	// levee_limit::gate::label_hash: the length, then eight octets per
	// mix, the last word padded with zeros.
	__u64 h = w->label0[c & 63], x;
	__u32 at = p + 1, left = c;
	for (int k = 0; k < 7; k++) {
		if (left <= 8)
			break;
		if (rd64(w, at, &x, pkt))
			goto bad;
		h = mix(h ^ lower8(x));
		at += 8;
		left -= 8;
	}
	// The last 1 to 8 octets: the word that ends with the label (it
	// starts inside the message: stop >= 14), shifted right so that the
	// octets before them go and zeros come in after them.
	if (rd64(w, stop - 8, &x, pkt))
		goto bad;
	x >>= 64 - 8 * left;
	h = mix(h ^ lower8(x));
	if (w->n < MAX_LABELS)
		w->s->lh[w->n & (MAX_LABELS - 1)] = h;
	w->n += 1;
	w->p = stop;
	return 0;
bad:
	w->state = WALK_BAD;
	return 1;
}

static long walk_cb_pkt(__u64 i, void *arg)
{
	return walk_step(arg, 1);
}

static long walk_cb_msg(__u64 i, void *arg)
{
	return walk_step(arg, 0);
}

// The walk: WALK_FAST steps inline, the rest (if any) in bpf_loop. The
// name has at most 127 labels and the root label: 128 steps in all.
static __always_inline void walk(struct walk *w, const int pkt)
{
	for (int i = 0; i < WALK_FAST; i++)
		if (walk_step(w, pkt))
			return;
	// w stays in registers: the callbacks get a copy.
	struct walk rest = *w;
	bpf_loop(128, pkt ? walk_cb_pkt : walk_cb_msg, &rest, 0);
	*w = rest;
}

// ---- the suffix pass: from the root to the name, one label per step ----

struct sfx {
	struct scratch *s; // s->zc: the closest enclosing zone so far, once found
	__u64 h;
	__u64 apex_bits;
	__u64 gen;
	__u32 n;
	__u32 found;
	__u32 apex;   // the zone's apex is hashes[apex]
	__u32 exists; // the name exists by the zone's filter
};

// Whether h is the apex hash of a zone, which is then in s->zc: this
// CPU's copy of the last zone found, kept while `zones` does not change
// (config.gen), else copied from `zones`.
static __always_inline int find_zone(struct sfx *x, __u64 h)
{
	struct scratch *s = x->s;
	if (s->zc_key == h && s->zc_gen == x->gen)
		return 1;
	struct gate_zone *z = bpf_map_lookup_elem(&zones, &h);
	if (!z)
		return 0;
	s->zc = *z;
	s->zc_key = h;
	s->zc_gen = x->gen;
	return 1;
}

// Step j: the suffix with n - j labels (j = 0: the root, whose hash
// x->h holds on entry).
static __always_inline void sfx_step(struct sfx *x, __u32 j)
{
	__u32 i = x->n - j;
	if (j > 0)
		x->h = mix(x->h ^ x->s->lh[i & (MAX_LABELS - 1)]);
	__u64 h = x->h;
	// Most suffixes are no zone's apex: a bit of the config says so
	// without a lookup.
	if ((x->apex_bits & (1ULL << (h >> 58))) && find_zone(x, h)) {
		x->found = 1;
		x->apex = i;
		x->exists = 0;
	}
	if (x->found && x->s->zc.armed && !x->exists) {
		if (i == 0)
			x->exists = probe(&x->s->zc, h, TAG_EXACT);
		else if (i < x->apex)
			x->exists = probe(&x->s->zc, h, TAG_SUBTREE);
	}
}

static long sfx_cb(__u64 j, void *arg)
{
	struct sfx *x = arg;
	j += SFX_FAST;
	if (j > x->n)
		return 1;
	sfx_step(x, (__u32)j);
	return 0;
}

// The suffix pass over n + 1 suffixes: SFX_FAST steps inline, the rest in
// bpf_loop.
static __always_inline void suffixes(struct sfx *x)
{
	for (__u32 j = 0; j < SFX_FAST; j++) {
		if (j > x->n)
			return;
		sfx_step(x, j);
	}
	if (x->n < SFX_FAST)
		return;
	struct sfx rest = *x;
	bpf_loop(x->n + 1 - SFX_FAST, sfx_cb, &rest, 0);
	*x = rest;
}

// ---- admission (docs/gate.md steps 2-5) ---------------------------------

enum { DROP = 0, ADMIT = 1 };

static __always_inline void prefix_of(const struct addr *src, struct addr *p)
{
	*p = *src;
	int v4 = 1;
	for (int i = 0; i < 10; i++)
		if (src->a[i])
			v4 = 0;
	if (src->a[10] != 0xff || src->a[11] != 0xff)
		v4 = 0;
	if (v4) {
		p->a[15] = 0; // /24
	} else {
		for (int i = 7; i < 16; i++)
			p->a[i] = 0; // /56
	}
}

static __always_inline int is_v4(const struct addr *a)
{
	for (int i = 0; i < 10; i++)
		if (a->a[i])
			return 0;
	return a->a[10] == 0xff && a->a[11] == 0xff;
}

// Steps 2-5 on the message w describes (w->len its real length): in the
// packet (XDP, pkt = 1) or copied to w->s->msg (socket filter).
static __always_inline int admit(const struct gate_config *cfg, struct walk *w, const struct addr *src,
				 const int pkt)
{
	__u32 len = w->len;
	__u32 flags, qd_hi, qd_lo;
	if (len < 12) {
		count(GARBAGE_SHORT);
		return DROP;
	}
	if (rd8(w, 2, &flags, pkt) || rd8(w, 4, &qd_hi, pkt) || rd8(w, 5, &qd_lo, pkt))
		return ADMIT; // not reached: the message holds 12 octets (a bound for the verifier)
	if (flags & 0x80) {
		count(GARBAGE_RESPONSE);
		return DROP;
	}
	__u64 now = bpf_ktime_get_coarse_ns(); // CLOCK_MONOTONIC at tick resolution: ~15 ns cheaper
	if (((qd_hi << 8) | qd_lo) == 1) {
		w->label0 = cfg->label0;
		w->lim = len < 12 + 255 ? len : 12 + 255;
		w->p = 12;
		walk(w, pkt);
		// A whole question: a name the parser reads, then TYPE and CLASS.
		if (w->state == WALK_DONE && w->end + 4 <= len) {
			if (w->n > MAX_LABELS) {
				__u32 k = 1;
				struct bucket *b = bpf_map_lookup_elem(&globals, &k);
				if (!b || !pay(b, cfg->deep.rate, cfg->deep.burst, now)) {
					count(DROP_DEEP);
					return DROP;
				}
			} else {
				struct sfx x = {
					.s = w->s, .h = cfg->root, .apex_bits = cfg->apex_bits, .gen = cfg->gen, .n = w->n,
				};
				suffixes(&x);
				const struct gate_zone *z = &w->s->zc;
				if (x.found && z->armed && !x.exists) {
					__u32 id = z->zone_id;
					struct bucket *b = bpf_map_lookup_elem(&zone_buckets, &id);
					if (!b || !pay(b, z->nx_rate, z->nx_burst, now)) {
						count(DROP_NX_BUDGET);
						return DROP;
					}
					count(NX_PAID);
				}
			}
		}
	}
	// Step 5: sources.
	struct addr k;
	k = *src;
	if (!is_v4(src)) {
		for (int i = 8; i < 16; i++)
			k.a[i] = 0; // /64
	}
	__u64 *exp = bpf_map_lookup_elem(&known, &k);
	__u64 until = exp ? *exp : 0;
	int is_known = now < until;
	// Trusted prefixes (no expiry) always pass. Other known sources pay
	// their prefix's bucket, as unknown ones do, but not the global one:
	// a source becomes known by positive answers, which a spoofed flood
	// of an existing name earns too.
	if (until == ~0ULL) {
		count(ADMIT_KNOWN);
		return ADMIT;
	}
	struct addr p;
	prefix_of(src, &p);
	struct bucket *pb = bpf_map_lookup_elem(&prefixes, &p);
	if (pb) {
		if (!pay(pb, cfg->prefix.rate, cfg->prefix.burst, now)) {
			count(DROP_PREFIX_BUDGET);
			return DROP;
		}
	} else {
		struct bucket nb = { .tokens_nano = (__u64)cfg->prefix.burst * NANO, .last_ns = now };
		int ok = pay(&nb, cfg->prefix.rate, cfg->prefix.burst, now);
		bpf_map_update_elem(&prefixes, &p, &nb, BPF_ANY);
		if (!ok) {
			count(DROP_PREFIX_BUDGET);
			return DROP;
		}
	}
	if (is_known) {
		count(ADMIT_KNOWN);
		return ADMIT;
	}
	__u32 g = 0;
	struct bucket *ub = bpf_map_lookup_elem(&globals, &g);
	if (!ub || !pay(ub, cfg->unknown.rate, cfg->unknown.burst, now)) {
		count(DROP_UNKNOWN_BUDGET);
		return DROP;
	}
	count(ADMIT_UNKNOWN);
	return ADMIT;
}

static __always_inline void v4_mapped(struct addr *a, __u32 be)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	__builtin_memcpy(&a->a[12], &be, 4);
}

static __always_inline const struct gate_config *config_on(void)
{
	__u32 zero = 0;
	const struct gate_config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !(cfg->flags & FLAG_ON))
		return 0;
	return cfg;
}

static __always_inline struct scratch *scratch_buf(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

SEC("xdp")
int levee_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct gate_config *cfg = config_on();
	struct scratch *s = scratch_buf();
	if (!cfg || !s)
		goto other;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		goto other;
	struct addr src, dst;
	struct udphdr *udp;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5 || ip->protocol != IPPROTO_UDP)
			goto other;
		if (ip->frag_off & bpf_htons(0x3fff))
			goto other; // a fragment: the stack reassembles it
		udp = (void *)ip + ip->ihl * 4;
		v4_mapped(&src, ip->saddr);
		v4_mapped(&dst, ip->daddr);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP)
			goto other;
		udp = (void *)(ip6 + 1);
		__builtin_memcpy(&src, &ip6->saddr, 16);
		__builtin_memcpy(&dst, &ip6->daddr, 16);
	} else {
		goto other;
	}
	if ((void *)(udp + 1) > end || bpf_ntohs(udp->dest) != cfg->port)
		goto other;
	if ((cfg->flags & FLAG_ADDRS) && !bpf_map_lookup_elem(&addrs, &dst))
		goto other;
	__u32 ulen = bpf_ntohs(udp->len);
	// A length the packet does not hold: the stack drops it, not us.
	if (ulen < 8 || (void *)udp + ulen > end)
		goto other;
	struct walk w = { .pkt = (const __u8 *)(udp + 1), .pkt_end = end, .s = s, .len = ulen - 8 };
	if (admit(cfg, &w, &src, 1) == DROP)
		return XDP_DROP;
	long r = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	count(r == XDP_REDIRECT ? REDIRECT_XSK : PASS_NO_XSK);
	return r;
other:
	count(PASS_OTHER);
	return XDP_PASS;
}

// A UDP socket filter sees the datagram with skb->data at the UDP header
// (in BPF_PROG_TEST_RUN: at the IP header); the network header is set in
// both. The UDP header is read relative to it, and the payload from the
// end: the skb ends where the UDP length says.
SEC("socket")
int levee_sock(struct __sk_buff *skb)
{
	const struct gate_config *cfg = config_on();
	struct scratch *s = scratch_buf();
	if (!cfg || !s)
		goto other;
	__u8 vb;
	if (bpf_skb_load_bytes_relative(skb, 0, &vb, 1, BPF_HDR_START_NET) < 0)
		goto other;
	struct addr src;
	__u32 l4;
	if ((vb >> 4) == 4) {
		struct iphdr ip;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0)
			goto other;
		if (ip.ihl < 5 || ip.protocol != IPPROTO_UDP)
			goto other;
		l4 = ip.ihl * 4;
		v4_mapped(&src, ip.saddr);
	} else if ((vb >> 4) == 6) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET) < 0)
			goto other;
		if (ip6.nexthdr != IPPROTO_UDP)
			goto other;
		l4 = sizeof(ip6);
		__builtin_memcpy(&src, &ip6.saddr, 16);
	} else {
		goto other;
	}
	struct udphdr udp;
	if (bpf_skb_load_bytes_relative(skb, l4, &udp, sizeof(udp), BPF_HDR_START_NET) < 0)
		goto other;
	__u32 ulen = bpf_ntohs(udp.len);
	if (ulen < 8 || ulen > skb->len)
		goto other;
	__u32 at = skb->len - ulen; // where the UDP header is, from skb->data
	if (at != 0 && at != l4)
		goto other;
	__u32 len = ulen - 8;
	__u32 n = len < MSG_MAX ? len : MSG_MAX;
	if (n > 0 && bpf_skb_load_bytes(skb, at + 8, s->msg, n) < 0)
		goto other;
	struct walk w = { .s = s, .len = len };
	if (admit(cfg, &w, &src, 0) == DROP)
		return 0;
	return KEEP;
other:
	count(PASS_OTHER);
	return KEEP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
