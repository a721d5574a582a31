// Route churn and route dump with libmnl: the C reference for bench/workloads
// route-churn.js and dump-routes.js. Run inside the bench namespace (the
// workload starts it with `ip netns exec`); it times its own work and prints
// one JSON line, so process start-up is not counted (as for nlkit):
// {"ms": [wall time of each run], "cpu": [CPU time of each run], ...}.
//
//   mnl-routes churn DEV N RUNS   N /32 routes added (all sent, then the acks
//                                 read), then deleted the same way, RUNS times
//   mnl-routes dump RUNS          the main table dumped and each route's
//                                 attributes parsed, RUNS times
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Sends stay below this so the acks of one send always fit the receive buffer.
#define CHUNK (64 * 1024)

static double clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct mnl_socket *open_socket(void) {
  struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
  if (nl == NULL) die("mnl_socket_open");
  int one = 1, rcvbuf = 4 << 20;
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_bind");
  return nl;
}

static size_t put_route(char *buf, int type, int flags, uint32_t seq, uint32_t dst, unsigned ifindex) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = seq;
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 32;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_DST, dst);
  mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
  return nlh->nlmsg_len;
}

// Reads acks until `want` have arrived; any error ack fails the run.
static void read_acks(struct mnl_socket *nl, char *rbuf, size_t rsize, unsigned *acked, unsigned want) {
  while (*acked < want) {
    int n = (int)mnl_socket_recvfrom(nl, rbuf, rsize);
    if (n < 0) die("recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
      if (e->error != 0) {
        errno = -e->error;
        die("route request");
      }
      (*acked)++;
    }
  }
}

// All N requests of one kind go out in 64 KiB sendmsg()s; acks are read as
// after each send so the receive buffer never overflows.
static void churn_one(struct mnl_socket *nl, int type, int flags, unsigned ifindex, unsigned n, char *sbuf, char *rbuf,
                      size_t rsize) {
  unsigned acked = 0, sent = 0;
  size_t len = 0;
  for (unsigned i = 0; i < n; i++) {
    uint32_t dst = htonl((10u << 24) | ((64u + (i >> 16)) << 16) | (((i >> 8) & 255) << 8) | (i & 255));
    len += put_route(sbuf + len, type, flags, i + 1, dst, ifindex);
    sent++;
    if (len + 256 > CHUNK || i + 1 == n) {
      if (mnl_socket_sendto(nl, sbuf, len) < 0) die("sendto");
      len = 0;
      read_acks(nl, rbuf, rsize, &acked, sent);
    }
  }
}

static int route_cb(const struct nlattr *attr, void *data) {
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, RTA_MAX) > 0) tb[type] = attr;
  return MNL_CB_OK;
}

// Parses a route the way a user of the dump would: family, prefix, table, dst, oif.
static int data_cb(const struct nlmsghdr *nlh, void *data) {
  const struct nlattr *tb[RTA_MAX + 1] = {0};
  struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
  mnl_attr_parse(nlh, sizeof *rtm, route_cb, tb);
  if (tb[RTA_DST] != NULL && tb[RTA_OIF] != NULL && rtm->rtm_family == AF_INET) (*(unsigned *)data)++;
  return MNL_CB_OK;
}

static unsigned dump(struct mnl_socket *nl, char *rbuf, size_t rsize) {
  char req[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = 1;
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die("sendto");
  unsigned count = 0, portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, rbuf, rsize);
    if (n < 0) die("recv");
    int r = mnl_cb_run(rbuf, n, 1, portid, data_cb, &count);
    if (r == MNL_CB_STOP) break;
    if (r < 0) die("dump");
  }
  return count;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mnl-routes churn DEV N RUNS | dump RUNS\n");
    return 2;
  }
  size_t rsize = 1 << 20;  // a dump datagram is at most 32 KiB; acks of one chunk fit too
  char *rbuf = malloc(rsize), *sbuf = malloc(CHUNK + 4096);
  struct mnl_socket *nl = open_socket();
  printf("{\"ms\":[");
  if (strcmp(argv[1], "churn") == 0 && argc == 5) {
    unsigned ifindex = if_nametoindex(argv[2]);
    if (ifindex == 0) die(argv[2]);
    unsigned n = atoi(argv[3]), runs = atoi(argv[4]);
    double cpu[runs];
    for (unsigned r = 0; r < runs; r++) {
      double t0 = now_ms(), c0 = cpu_ms();
      churn_one(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, n, sbuf, rbuf, rsize);
      churn_one(nl, RTM_DELROUTE, 0, ifindex, n, sbuf, rbuf, rsize);
      cpu[r] = cpu_ms() - c0;
      printf("%s%.4f", r ? "," : "", now_ms() - t0);
    }
    printf("],\"cpu\":[");
    for (unsigned r = 0; r < runs; r++) printf("%s%.4f", r ? "," : "", cpu[r]);
  } else if (strcmp(argv[1], "dump") == 0) {
    unsigned runs = atoi(argv[2]), count = 0;
    for (unsigned r = 0; r < runs; r++) {
      double t0 = now_ms();
      count = dump(nl, rbuf, rsize);
      printf("%s%.4f", r ? "," : "", now_ms() - t0);
    }
    printf("],\"routes\":%u}\n", count);
    mnl_socket_close(nl);
    return 0;
  } else {
    fprintf(stderr, "mnl-routes: bad arguments\n");
    return 2;
  }
  printf("]}\n");
  mnl_socket_close(nl);
  return 0;
}
