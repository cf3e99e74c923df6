// fileserver: a static web server built from Go's standard library,
// for the end-to-end network test (Tests/VillaTests/NetworkTests.swift)
// and the HTTP benchmark (bench/net.sh). It serves the folder DIR
// (argv[2]) with net/http's FileServer on 0.0.0.0:PORT (argv[1]). A
// request for /quit ends it with status 0 after the answer is sent,
// so a test can stop the VM cleanly.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fileserver PORT DIR")
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fileserver:", err)
		os.Exit(1)
	}
	quit := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(os.Args[2])))
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "bye")
		close(quit)
	})
	fmt.Printf("serving %s on :%s\n", os.Args[2], os.Args[1])
	server := &http.Server{Handler: mux}
	go func() {
		err := server.Serve(listener)
		if err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "fileserver:", err)
			os.Exit(1)
		}
	}()
	<-quit
	// Shutdown stops listening and waits for the connections in flight,
	// the one that asked to quit among them, to finish their answers.
	if err := server.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "fileserver:", err)
		os.Exit(1)
	}
	fmt.Println("quit")
}
