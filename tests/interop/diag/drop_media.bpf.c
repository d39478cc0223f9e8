// A firewall for test_diag.py case (e), as a tc egress classifier on `lo` (direct action): drops
// every IPv4 UDP datagram from SRC_IP except those from SIP_PORT, so the callee's SIP gets through
// and its media does not. Built by the test: clang -O2 -target bpf -DSIP_PORT=.. -DSRC_LAST=..
// (the kernel here has cls_bpf but no tc action modules and no nftables/iptables tools).
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

// The leading fields of the kernel's struct __sk_buff (include/uapi/linux/bpf.h), up to data_end.
struct __sk_buff {
  u32 len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto, priority,
      ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid, data, data_end;
};

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

__attribute__((section("classifier"), used)) int drop_media(struct __sk_buff* skb) {
  u8* d = (u8*)(long)skb->data;
  u8* end = (u8*)(long)skb->data_end;
  if (d + 14 + 20 + 8 > end) return TC_ACT_OK;
  if (d[12] != 0x08 || d[13] != 0x00) return TC_ACT_OK;  // Ethernet type IPv4 (lo has an Ethernet header)
  u8* ip = d + 14;
  if ((ip[0] & 0x0f) != 5 || ip[9] != 17) return TC_ACT_OK;  // no options, UDP
  if (ip[12] != 127 || ip[13] != 0 || ip[14] != 0 || ip[15] != SRC_LAST) return TC_ACT_OK;
  u16 sport = (u16)(ip[20] << 8 | ip[21]);
  return sport == SIP_PORT ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
