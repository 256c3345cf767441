package testkit

import (
	"sync"
	"testing"
)

// Parallel runs work(0), …, work(n-1) each on its own goroutine, waits for
// all of them, and then fails t with the first error any of them returned.
func Parallel(t testing.TB, n int, work func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := work(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
