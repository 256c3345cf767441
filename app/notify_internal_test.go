package app

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// note is a notification carrying a 1 KiB message, as MessageQueued ones do.
func note(i int) Notification {
	data := make([]byte, 1024)
	copy(data, fmt.Sprint(i))
	return Notification{Type: MessageQueued, Message: Message{Recipient: fmt.Sprint(i), Data: data}}
}

// readAll reads ch until nothing arrives for a while and returns what came.
func readAll(t *testing.T, ch <-chan Notification) []Notification {
	t.Helper()
	var got []Notification
	for {
		select {
		case n, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, n)
		case <-time.After(200 * time.Millisecond):
			return got
		}
	}
}

// checkLagged checks that got is the published notifications in order with
// gaps, each gap replaced by a NotificationsDropped notice counting exactly
// it, and at most the queue's bound plus what the subscriber's goroutine
// had taken. While notifications are published the goroutine may take a
// batch or two (each starting with a notice of the drops so far), so there
// are one to three notices.
func checkLagged(t *testing.T, got []Notification, published, limit int) {
	t.Helper()
	next, notices := 0, 0
	for _, n := range got {
		if n.Type == NotificationsDropped {
			notices++
			next += int(n.Dropped)
			continue
		}
		if n.Message.Recipient != fmt.Sprint(next) {
			t.Fatalf("got notification %s, want %d", n.Message.Recipient, next)
		}
		next++
	}
	if next != published {
		t.Fatalf("delivered and dropped add up to %d, want %d", next, published)
	}
	if notices < 1 || notices > 3 {
		t.Fatalf("%d NotificationsDropped notices, want one to three", notices)
	}
	if delivered := len(got) - notices; delivered > limit+2*feedBatch {
		t.Fatalf("%d notifications kept for a reader that did not read, bound %d", delivered, limit+2*feedBatch)
	}
}

// TestSlowSubscriberBoundedMemory: a subscriber that never reads while
// 100,000 notifications are published keeps at most the queue's bound; when
// it reads, it gets the oldest few it was handed, a NotificationsDropped
// notice with the number dropped, then the newest ones.
func TestSlowSubscriberBoundedMemory(t *testing.T) {
	const published, limit = 100_000, 1024
	h := newHub(limit)
	ch, stop := h.subscribe()
	defer stop()
	before := heapInUse()
	for i := 0; i < published; i++ {
		h.publish(note(i))
	}
	grown := int64(heapInUse()) - int64(before)
	if grown > 8<<20 {
		t.Fatalf("the heap grew by %d MiB for a subscriber that does not read", grown>>20)
	}
	got := readAll(t, ch)
	checkLagged(t, got, published, limit)
	delivered := 0
	for _, n := range got {
		if n.Type != NotificationsDropped {
			delivered++
		}
	}
	if d := h.dropped.Load(); d == 0 || int(d)+delivered != published {
		t.Fatalf("dropped counter %d, delivered %d", d, delivered)
	}
}

// TestHeldNotificationsBounded: notifications kept during New for the first
// subscriber are bounded the same way.
func TestHeldNotificationsBounded(t *testing.T) {
	const published, limit = 100_000, 512
	h := newHub(limit)
	h.hold()
	before := heapInUse()
	for i := 0; i < published; i++ {
		h.publish(note(i))
	}
	if grown := int64(heapInUse()) - int64(before); grown > 8<<20 {
		t.Fatalf("the heap grew by %d MiB holding notifications", grown>>20)
	}
	h.release()
	ch, stop := h.subscribe()
	defer stop()
	got := readAll(t, ch)
	if len(got) == 0 || got[0].Type != NotificationsDropped || got[0].Dropped != published-limit {
		t.Fatalf("first held notification: %+v, want NotificationsDropped of %d", got[0], published-limit)
	}
	checkLagged(t, got, published, limit)
}
