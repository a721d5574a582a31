// The process of the Podman test's container: a static binary (no image
// registry is reachable, so the container runs from a local root filesystem
// holding only this) that greets every TCP connection on port 80 with the
// address it came from.
package main

import (
	"fmt"
	"net"
)

func main() {
	ln, err := net.Listen("tcp", ":80")
	if err != nil {
		panic(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		fmt.Fprintf(c, "hello from the container, you are %s\n", c.RemoteAddr())
		c.Close()
	}
}
