// Command smtp-sink is the SMTP server of the test scripts: it listens on loopback,
// writes its address to -addr-file and stores each message in -dir.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/keyward/keyward/internal/smtpsink"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	dir := flag.String("dir", "", "directory for the messages (required)")
	addrFile := flag.String("addr-file", "", "file to write the listening address to")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "smtp-sink: -dir is required")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtp-sink:", err)
		os.Exit(1)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "smtp-sink:", err)
			os.Exit(1)
		}
	}
	if err := smtpsink.Serve(ln, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "smtp-sink:", err)
		os.Exit(1)
	}
}
