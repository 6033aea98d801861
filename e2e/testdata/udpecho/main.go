// Command udpecho answers every UDP datagram on :5353 with "echo: " and the
// datagram. The e2e tests build it statically and mount it into a busybox
// container, whose busybox has no UDP server applet.
package main

import (
	"log"
	"net"
)

func main() {
	c, err := net.ListenPacket("udp4", ":5353")
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := c.WriteTo(append([]byte("echo: "), buf[:n]...), peer); err != nil {
			log.Print(err)
		}
	}
}
