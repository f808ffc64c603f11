package agent

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCopyBufferGrowsOnAFullRead(t *testing.T) {
	var pools copyPools
	b := pools.buffer()
	if got := len(b.bytes()); got != smallCopyBufferSize {
		t.Fatalf("a new buffer: got %d bytes, want %d", got, smallCopyBufferSize)
	}
	b.filled(smallCopyBufferSize - 1)
	if got := len(b.bytes()); got != smallCopyBufferSize {
		t.Fatalf("after a short read: got %d bytes, want %d", got, smallCopyBufferSize)
	}
	b.filled(smallCopyBufferSize)
	if got := len(b.bytes()); got != copyBufferSize {
		t.Fatalf("after a full read: got %d bytes, want %d", got, copyBufferSize)
	}
	b.filled(copyBufferSize)
	if got := len(b.bytes()); got != copyBufferSize {
		t.Fatalf("after a full large read: got %d bytes, want %d", got, copyBufferSize)
	}
	b.release()
	if got := len(pools.buffer().bytes()); got != smallCopyBufferSize {
		t.Errorf("the next loop's buffer: got %d bytes, want %d (every loop starts small)", got, smallCopyBufferSize)
	}
}

// TestCopyBuffersConcurrentSessionsAndForwards moves distinct data through sessions and
// forwards at once, with short sessions starting and ending among them, so that pooled
// buffers pass from loop to loop while others still copy: every byte must come back as
// sent.
func TestCopyBuffersConcurrentSessionsAndForwards(t *testing.T) {
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	echo := startEchoServer(t)
	const n = 6
	errs := make(chan error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- catRoundTrip(client, randomBytes(t, 1<<20+i*4099)) })
		wg.Go(func() {
			c, err := client.Dial("tcp", echo)
			if err != nil {
				errs <- fmt.Errorf("forward %d: %w", i, err)
				return
			}
			defer c.Close()
			data := randomBytes(t, 1<<20+i*4093)
			got, err := echoRoundTrip(c.(halfCloser), data)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("got %d bytes back, want the %d sent", len(got), len(data))
			}
			if err != nil {
				err = fmt.Errorf("forward %d: %w", i, err)
			}
			errs <- err
		})
		wg.Go(func() {
			for range 4 {
				if err := catRoundTrip(client, []byte("short")); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// catRoundTrip sends data through `cat` in a new session and checks what comes back.
func catRoundTrip(client *ssh.Client, data []byte) error {
	s, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("new session: %w", err)
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdin, s.Stdout = bytes.NewReader(data), &out
	if err := s.Run("cat"); err != nil {
		return fmt.Errorf("cat of %d bytes: %w", len(data), err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		return fmt.Errorf("cat of %d bytes: got %d bytes back, not the same", len(data), out.Len())
	}
	return nil
}
