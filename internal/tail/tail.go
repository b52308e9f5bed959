// Package tail keeps the last few KiB a child process writes: enough to
// say why it failed, in constant memory however long it runs.
package tail

import (
	"strings"
	"sync"
)

// Size is how much a Buffer keeps.
const Size = 4096

// Buffer is an io.Writer that keeps the last Size bytes written to it. A
// child's stdout and stderr may write to one Buffer at once.
type Buffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > Size {
		b.buf = b.buf[len(b.buf)-Size:]
	}
	return len(p), nil
}

// Lines returns the non-empty lines kept.
func (b *Buffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.FieldsFunc(string(b.buf), func(r rune) bool { return r == '\n' })
}
