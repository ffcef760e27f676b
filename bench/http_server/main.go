// A compiled HTTP server for bench/http_ceiling.py, so the server is not the limit when the
// Python client's cost per request is measured (the Python stub, dev/stub, costs about as much
// CPU per request as the client and shares the same 2 cores).
//
// It answers every POST to /segmentio/*-processing with 200 {"status":"ok"} after -latency-ms,
// 401 when the secret-key header is missing, and speaks HTTP/1.1 and (with -h2c) HTTP/2 over
// cleartext with prior knowledge. Standard library only; built by bench/http_ceiling.py with
// `go build` when Go is installed.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	latencyMs := flag.Float64("latency-ms", 0, "delay before each answer")
	h2c := flag.Bool("h2c", false, "also accept HTTP/2 over cleartext (prior knowledge)")
	flag.Parse()
	latency := time.Duration(*latencyMs * float64(time.Millisecond))
	body := []byte(`{"status":"ok"}`)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("secret-key") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if latency > 0 {
			time.Sleep(latency)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(*h2c)
	server := &http.Server{Handler: handler, Protocols: &protocols}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	if err := server.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
