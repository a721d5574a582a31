#!/usr/bin/env python3
# SCTP packets by hand, for a kernel without SCTP sockets (socket(AF_INET,
# SOCK_STREAM, IPPROTO_SCTP) fails with EPROTONOSUPPORT) but with SCTP
# conntrack and NAT: raw IPPROTO_SCTP sockets send and see them anyway.
#
#   sctp-probe.py send DST DPORT SPORT TAG TIMEOUT
#       sends an INIT chunk (initiate tag TAG) from SPORT and waits for an
#       ICMP error about it; prints {"icmp": {"type", "code"}} or {"icmp": null}
#   sctp-probe.py recv TIMEOUT
#       prints "ready", then the first SCTP INIT that arrives as one JSON line
#       {src, dst, sport, dport, vtag, tag, crcOk}, or {"timeout": true}
# IPv4 and IPv6 (DST decides; recv listens on both).
import json, os, select, socket, struct, sys, time

IPPROTO_SCTP = 132


def crc32c(data):
    # CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as SCTP's checksum (RFC 9260 appendix A).
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def init_packet(sport, dport, tag):
    # INIT: type 1, flags 0, length 20; initiate tag, a_rwnd, outbound streams, inbound streams, initial TSN.
    chunk = struct.pack('!BBHIIHHI', 1, 0, 20, tag, 65535, 1, 1, tag)
    header = struct.pack('!HHII', sport, dport, 0, 0)  # verification tag 0 in an INIT
    packet = header + chunk
    # The checksum goes in as the kernel writes it (little-endian CRC value).
    return packet[:8] + struct.pack('<I', crc32c(packet)) + packet[12:]


def send(dst, dport, sport, tag, timeout):
    family = socket.AF_INET6 if ':' in dst else socket.AF_INET
    icmp_proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    icmp = socket.socket(family, socket.SOCK_RAW, icmp_proto)
    s = socket.socket(family, socket.SOCK_RAW, IPPROTO_SCTP)
    s.sendto(init_packet(sport, dport, tag), (dst, 0))
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([icmp], [], [], max(0, deadline - time.time()))
        if not r:
            break
        data = icmp.recv(65535)
        if family == socket.AF_INET:
            ihl = (data[0] & 15) * 4
            typ, code = data[ihl], data[ihl + 1]
            quoted = data[ihl + 8:]
            if typ != 3 or len(quoted) < 28:
                continue
            qihl = (quoted[0] & 15) * 4
            qsport, qdport = struct.unpack('!HH', quoted[qihl:qihl + 4])
        else:  # ICMPv6 raw sockets get no IPv6 header
            typ, code = data[0], data[1]
            quoted = data[8:]
            if typ != 1 or len(quoted) < 44 or quoted[6] != IPPROTO_SCTP:
                continue
            qsport, qdport = struct.unpack('!HH', quoted[40:44])
        if quoted[9 if family == socket.AF_INET else 6] == IPPROTO_SCTP and qsport == sport:
            print(json.dumps({'icmp': {'type': typ, 'code': code}}))
            return
    print(json.dumps({'icmp': None}))


def recv(timeout):
    v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_SCTP)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    print('ready', flush=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([v4, v6], [], [], max(0, deadline - time.time()))
        if not r:
            break
        if v4 in r:
            data, addr = v4.recvfrom(65535)
            ihl = (data[0] & 15) * 4
            src, dst, sctp = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20]), data[ihl:]
        else:
            sctp, anc, _, addr = v6.recvmsg(65535, 256)
            src = addr[0]
            dst = next((socket.inet_ntop(socket.AF_INET6, d[:16]) for lvl, typ, d in anc if typ == socket.IPV6_PKTINFO), '')
        if len(sctp) < 32 or sctp[12] != 1:
            continue
        sport, dport, vtag = struct.unpack('!HHI', sctp[:8])
        (crc,) = struct.unpack('<I', sctp[8:12])
        tag = struct.unpack('!I', sctp[16:20])[0]
        ok = crc32c(sctp[:8] + b'\0\0\0\0' + sctp[12:]) == crc
        print(json.dumps({'src': src, 'dst': dst, 'sport': sport, 'dport': dport, 'vtag': vtag, 'tag': tag, 'crcOk': ok}))
        return
    print(json.dumps({'timeout': True}))


if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        recv(float(sys.argv[2]))
