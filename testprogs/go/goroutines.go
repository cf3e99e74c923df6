// A static Go program for Villa's end-to-end tests: goroutines, channels,
// a mutex, timers, time.Sleep and a ticker, with a deterministic
// transcript. Built with CGO_ENABLED=0 by the test when Go is installed.
package main

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	counter := 0
	results := make(chan int, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			time.Sleep(time.Duration(n%4) * time.Millisecond)
			for j := 0; j < 1000; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			results <- n * n
		}(i)
	}
	wg.Wait()
	close(results)
	var squares []int
	for v := range results {
		squares = append(squares, v)
	}
	sort.Ints(squares)
	fmt.Println("counter:", counter)
	fmt.Println("squares:", squares)

	start := time.Now()
	timer := time.NewTimer(30 * time.Millisecond)
	<-timer.C
	if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
		fmt.Println("timer fired early:", elapsed)
		os.Exit(1)
	}
	fmt.Println("timer: fired")

	ticker := time.NewTicker(5 * time.Millisecond)
	ticks := 0
	for range ticker.C {
		ticks++
		if ticks == 5 {
			ticker.Stop()
			break
		}
	}
	fmt.Println("ticker: 5 ticks")

	done := make(chan string)
	go func() {
		select {
		case <-time.After(10 * time.Millisecond):
			done <- "timeout"
		}
	}()
	fmt.Println("select:", <-done)
	fmt.Fprintln(os.Stderr, "goroutines: done")
}
