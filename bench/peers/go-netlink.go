// Route churn and container attach with github.com/vishvananda/netlink (the
// library Docker, CNI plugins and most Go tools use): the Go reference for
// bench/workloads route-churn.js and attach.js. Started inside the bench's
// namespace with `ip netns exec`; it times its own work and prints one JSON
// line, so process start-up is not counted (as for nlkit).
//
//	go-netlink churn DEV N RUNS
//	  N /32 routes added, then deleted, one call after another (the library
//	  sends one request and waits for its ack), RUNS times
//	go-netlink attach BRIDGE GATEWAY SANDBOX...
//	  per sandbox (a namespace file): a veth pair with its peer created in the
//	  sandbox, the host end enslaved and up; then on a socket opened in the
//	  sandbox: lo up, an address, eth0 up, a default route. Prints the time of
//	  each attach and the CPU time of all of them (cpuMs, all threads); the
//	  host ends are deleted afterwards (untimed).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-netlink: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// cpuMs: the process's CPU time so far (all threads, user and system), as
// process.cpuUsage() gives nlkit's in bench/attach-cpu.js.
func cpuMs() float64 {
	var ru unix.Rusage
	must(unix.Getrusage(unix.RUSAGE_SELF, &ru), "getrusage")
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

func churn(dev string, n, runs int) []float64 {
	link, err := netlink.LinkByName(dev)
	must(err, "link "+dev)
	routes := make([]netlink.Route, n)
	for i := range routes {
		dst := &net.IPNet{IP: net.IPv4(10, byte(64+(i>>16)), byte(i>>8), byte(i)), Mask: net.CIDRMask(32, 32)}
		routes[i] = netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	must(err, "handle")
	defer h.Delete()
	out := []float64{}
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		for i := range routes {
			must(h.RouteAdd(&routes[i]), "route add")
		}
		for i := range routes {
			must(h.RouteDel(&routes[i]), "route del")
		}
		out = append(out, ms(time.Since(t0)))
	}
	return out
}

func attach(bridge string, gateway net.IP, sandbox string, i int) string {
	br, err := netlink.LinkByName(bridge)
	must(err, "bridge")
	ns, err := netns.GetFromPath(sandbox)
	must(err, "open "+sandbox)
	defer ns.Close()
	hostIf := "gv" + strconv.Itoa(i)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostIf, MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	must(netlink.LinkAdd(veth), "veth")
	must(netlink.LinkSetUp(veth), "host end up")
	// A socket in the sandbox (the library enters it on a locked OS thread and comes back).
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	must(err, "handle in sandbox")
	defer h.Delete()
	lo, err := h.LinkByName("lo")
	must(err, "lo")
	must(h.LinkSetUp(lo), "lo up")
	eth0, err := h.LinkByName("eth0")
	must(err, "eth0")
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 78, byte(200+i>>8), byte(1+i)), Mask: net.CIDRMask(16, 32)}}
	must(h.AddrAdd(eth0, addr), "address")
	must(h.LinkSetUp(eth0), "eth0 up")
	must(h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gateway}), "default route")
	return hostIf
}

func main() {
	runtime.LockOSThread() // stays in the namespace it was started in
	if len(os.Args) == 5 && os.Args[1] == "churn" {
		n, _ := strconv.Atoi(os.Args[3])
		runs, _ := strconv.Atoi(os.Args[4])
		json.NewEncoder(os.Stdout).Encode(map[string][]float64{"ms": churn(os.Args[2], n, runs)})
		return
	}
	if len(os.Args) >= 5 && os.Args[1] == "attach" {
		gateway := net.ParseIP(os.Args[3])
		out := []float64{}
		made := []string{}
		cpu0 := cpuMs()
		for i, sandbox := range os.Args[4:] {
			t0 := time.Now()
			made = append(made, attach(os.Args[2], gateway, sandbox, i))
			out = append(out, ms(time.Since(t0)))
		}
		cpu := cpuMs() - cpu0
		for _, name := range made {
			if l, err := netlink.LinkByName(name); err == nil {
				must(netlink.LinkDel(l), "delete "+name)
			}
		}
		json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"ms": out, "cpuMs": cpu})
		return
	}
	fmt.Fprintln(os.Stderr, "usage: go-netlink churn DEV N RUNS | attach BRIDGE GATEWAY SANDBOX...")
	os.Exit(2)
}
