// A minimal CNI runtime for the conformance tests, as cnitool is: libcni (the
// library containerd, CRI-O and Podman call) runs a conflist's plugins for
// ADD, CHECK and DEL, with its result cache so CHECK and DEL get prevResult.
//
//	driver add|check|del|validate CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]
//
// CNI_PATH (plugin directories) and CNI_CACHE_DIR come from the environment.
// ADD prints the result as JSON; a failure prints the error and exits 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) < 6 {
		fail(fmt.Errorf("usage: driver add|check|del|validate CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]"))
	}
	cmd, conflist, containerID, netns, ifname := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	list, err := libcni.ConfListFromFile(conflist)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: netns, IfName: ifname}
	if len(os.Args) > 6 {
		if err := json.Unmarshal([]byte(os.Args[6]), &rt.CapabilityArgs); err != nil {
			fail(err)
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.Background()
	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(result)
		fmt.Println(string(out))
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	case "validate":
		var caps []string
		caps, err = cni.ValidateNetworkList(ctx, list)
		if err == nil {
			out, _ := json.Marshal(caps)
			fmt.Println(string(out))
		}
	default:
		err = fmt.Errorf("unknown command %s", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
