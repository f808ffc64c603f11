package proxy

import (
	"bytes"
	"sync"
)

// lockedBuffer is a bytes.Buffer for one writer and one reader; grew is signalled on
// every write.
type lockedBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{}
	once sync.Once
}

func (l *lockedBuffer) init() { l.once.Do(func() { l.grew = make(chan struct{}, 1) }) }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.init()
	l.mu.Lock()
	n, err := l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.grew <- struct{}{}:
	default:
	}
	return n, err
}

func (l *lockedBuffer) Len() int { l.init(); l.mu.Lock(); defer l.mu.Unlock(); return l.b.Len() }

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
