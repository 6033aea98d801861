// Command dnsbench measures a DNS server from inside a container: it sends
// -n A queries for -name to the first nameserver of /etc/resolv.conf (or
// -server) from -c workers, each on its own UDP socket, and prints the
// queries per second and the p50 and p99 latency as one JSON line. The e2e
// benchmarks build it statically and mount it into a busybox container,
// whose nslookup starts a process per query and is far too slow for this.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// result is what dnsbench prints; the benchmark decodes it.
type result struct {
	Queries int     `json:"queries"`
	Errors  int64   `json:"errors"`
	Seconds float64 `json:"seconds"`
	QPS     float64 `json:"qps"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
}

func main() {
	name := flag.String("name", "web", "the name to query (made fully qualified)")
	n := flag.Int("n", 10000, "queries in all")
	conc := flag.Int("c", 4, "concurrent workers")
	server := flag.String("server", "", "host:port (default: the first nameserver of /etc/resolv.conf, port 53)")
	flag.Parse()
	if *server == "" {
		ns, err := nameserver("/etc/resolv.conf")
		if err != nil {
			log.Fatal(err)
		}
		*server = net.JoinHostPort(ns, "53")
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(*name), dns.TypeA)

	// One query first: a wrong name or an unreachable server fails here,
	// not as n timeouts.
	if err := exchange(*server, q); err != nil {
		log.Fatalf("first query for %s to %s: %v", *name, *server, err)
	}

	lat := make([]time.Duration, *n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			conn, err := c.Dial(*server)
			if err != nil {
				log.Fatal(err)
			}
			defer conn.Close()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				m := q.Copy()
				m.Id = dns.Id()
				r, rtt, err := c.ExchangeWithConn(m, conn)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
					errs.Add(1)
				}
				lat[i] = rtt
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out, err := json.Marshal(result{
		Queries: *n, Errors: errs.Load(), Seconds: elapsed.Seconds(),
		QPS:   float64(*n) / elapsed.Seconds(),
		P50ms: ms(lat[len(lat)/2]), P99ms: ms(lat[len(lat)*99/100]),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
}

// exchange sends one query and checks that it has an answer.
func exchange(server string, q *dns.Msg) error {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, server)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return fmt.Errorf("no answer (rcode %s)", dns.RcodeToString[r.Rcode])
	}
	return nil
}

// nameserver returns the first nameserver of a resolv.conf.
func nameserver(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "nameserver" {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no nameserver", path)
}
