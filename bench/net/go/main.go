// Command weft-net-go holds the Go peers of the echo and http benchmarks,
// the servers that scripts/bench.py sets beside weft's examples/echo and
// examples/http_hello under one load generator (bench/net/loadgen.c):
//
//	weft-net-go echo [--listen HOST:PORT] [--workers N]
//	weft-net-go http [--listen HOST:PORT] [--workers N]
//
// echo is a goroutine per connection reading and writing back what comes
// (the Go twin of examples/echo.c, 16 KiB buffer); http is net/http's
// Server with one handler answering "hello" (Content-Type set, so nothing
// is sniffed), keep-alive as net/http does it. --workers is GOMAXPROCS
// (default: the CPU count); port 0 picks a free port, and the "listening
// on" line on stderr says which. The soft fd limit is raised to the hard
// one. SIGINT or SIGTERM closes the listener and every connection and
// exits with status 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: weft-net-go echo|http [--listen HOST:PORT] [--workers N]")
	os.Exit(2)
}

// conns is the set of open echo connections, closed on a signal.
var conns = struct {
	sync.Mutex
	m map[net.Conn]struct{}
}{m: map[net.Conn]struct{}{}}

func serveEcho(ln net.Listener) {
	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				time.Sleep(10 * time.Millisecond) // out of fds: back off
				continue
			}
			fmt.Fprintln(os.Stderr, "weft-net-go: accept:", err)
			os.Exit(1)
		}
		conns.Lock()
		conns.m[c] = struct{}{}
		conns.Unlock()
		wg.Add(1)
		go func(c net.Conn) { // net.TCPConn sets TCP_NODELAY by default
			defer wg.Done()
			buf := make([]byte, 16384)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break // io.EOF, a reset, or closed by the signal
				}
			}
			conns.Lock()
			delete(conns.m, c)
			conns.Unlock()
			c.Close()
		}(c)
	}
	conns.Lock()
	for c := range conns.m {
		c.Close()
	}
	conns.Unlock()
	wg.Wait()
}

func serveHTTP(ln net.Listener, stop <-chan struct{}) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	})}
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) // closes the listener and idle connections
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "weft-net-go: serve:", err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "echo" && os.Args[1] != "http") {
		usage()
	}
	mode, addr := os.Args[1], "127.0.0.1:7009"
	args := os.Args[2:]
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			usage()
		}
		switch args[i] {
		case "--listen":
			addr = args[i+1]
		case "--workers":
			w, err := strconv.Atoi(args[i+1])
			if err != nil || w < 1 || w > 1024 {
				usage()
			}
			runtime.GOMAXPROCS(w)
		default:
			usage()
		}
		i++
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "weft-net-go:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "weft-net-go %s: listening on %s\n", mode, ln.Addr())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "weft-net-go %s: %v, stopping\n", mode, s)
		if mode == "echo" {
			ln.Close() // the accept loop ends, then closes every connection
		}
		close(stop)
	}()
	if mode == "echo" {
		serveEcho(ln)
	} else {
		serveHTTP(ln, stop)
	}
	fmt.Fprintf(os.Stderr, "weft-net-go %s: stopped\n", mode)
}
